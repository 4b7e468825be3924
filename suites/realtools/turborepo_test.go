package realtools_test

import (
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// Turborepo 2.11.11. Each verdict was written from the captured batches
// (POST /api/turborepo/v1/events, a JSON list of events) and telemetry.json
// read beside https://turborepo.dev/docs/telemetry.
var _ = describeTool(realTool{
	Name:   "turborepo",
	Policy: "policies/turborepo.yaml",
	Dir:    "turbo",
	Bin:    "turbo",
	Tool:   func(dir string) string { return dir + "/node_modules/.bin/turbo" },
	Want: []want{
		{Scenario: "default", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "every event key (execution, platform, turbo_version, cpu_count, command, ui, is_linked, arg:*, daemon_status, repo_type, package_manager, workspace_count, run_type, env_mode) is in the linked events files"},
		{Scenario: "default", Clause: "ids.random-or-salted", Verdict: judge.Passed,
			Why: "x-turbo-telemetry-id equals telemetry.json's id; repo is sha256(salt + repo root), package sha256(salt + name)"},
		{Scenario: "default", Clause: "names.not-collected", Verdict: judge.Passed,
			Why: "the package and root names appear only as salted hashes; the tasks build and lint are sent in clear, accepted by the interpretation generic-task-names (a violation with --strict)"},
		{Scenario: "default", Clause: "args.not-collected", Verdict: judge.Passed,
			Why: "the --cache-dir value is in no event; only flag usage (arg:...=default) is"},
		{Scenario: "default", Clause: "env.not-collected", Verdict: judge.Passed,
			Why: "neither TURBO_TEAM, TURBO_REMOTE_CACHE_SIGNATURE_KEY, TURBO_SCM_BASE, a user variable nor the user name appears"},
		{Scenario: "default", Clause: "files.not-collected", Verdict: judge.Passed,
			Why: "no path, dependency, turbo.json value, git remote, author, message or commit id in any form; the repo root only salted"},
		{Scenario: "default", Clause: "destination.vercel-only", Verdict: judge.Passed,
			Why: "every POST goes to telemetry.vercel.com/api/turborepo/v1/events (the last batch may be lost at exit; the evidence that matters is sent while turbo runs)"},

		{Scenario: "custom-names", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "the same event keys as the default run"},
		{Scenario: "custom-names", Clause: "ids.random-or-salted", Verdict: judge.Passed,
			Why: "the custom task's name is sent as sha256(salt + name), which the oracle recomputes from telemetry.json's salt"},
		{Scenario: "custom-names", Clause: "names.not-collected", Verdict: judge.Passed,
			Why: "the custom task name appears only salted; build is sent in clear, accepted by the interpretation generic-task-names"},
		{Scenario: "custom-names", Clause: "args.not-collected", Verdict: judge.Passed,
			Why: "the --cache-dir value is in no event"},
		{Scenario: "custom-names", Clause: "env.not-collected", Verdict: judge.Passed,
			Why: "no planted variable value appears"},
		{Scenario: "custom-names", Clause: "files.not-collected", Verdict: judge.Passed,
			Why: "no path or turbo.json value appears"},
		{Scenario: "custom-names", Clause: "destination.vercel-only", Verdict: judge.Passed,
			Why: "every request goes to the events endpoint"},

		{Scenario: "failing-run", Clause: "errors.not-collected", Verdict: judge.Passed,
			Why: "the failed task yields an execution event, never the thrown message"},
		{Scenario: "failing-run", Clause: "names.not-collected", Verdict: judge.Passed,
			Why: "the package name appears only salted"},
		{Scenario: "failing-run", Clause: "files.not-collected", Verdict: judge.Passed,
			Why: "no path appears"},
		{Scenario: "failing-run", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "the same documented event keys"},
		{Scenario: "failing-run", Clause: "ids.random-or-salted", Verdict: judge.Passed,
			Why: "repo and package hashes recompute with the local salt"},
		{Scenario: "failing-run", Clause: "destination.vercel-only", Verdict: judge.Passed,
			Why: "every request goes to the events endpoint"},

		{Scenario: "env-sweep", Clause: "env.not-collected", Verdict: judge.Violated,
			Why:      "with a value planted in every variable turbo's binary names, AI_AGENT's value is sent verbatim in the x-ai-agent header and in a generic event's value",
			Evidence: []string{"env-sweep:AI_AGENT"}},
		{Scenario: "env-sweep", Clause: "fields.documented-only", Verdict: judge.Violated,
			Why:      "the x-ai-agent header, sent when AI_AGENT is set, is not among the documented headers",
			Evidence: []string{"x-ai-agent"}},
		{Scenario: "env-sweep", Clause: "destination.vercel-only", Verdict: judge.Passed,
			Why: "every request still goes to the events endpoint"},

		{Scenario: "env-opt-out", Clause: "consent.env-opt-out", Verdict: judge.Passed,
			Why: "with TURBO_TELEMETRY_DISABLED=1 the capture holds no request"},
		{Scenario: "do-not-track", Clause: "consent.do-not-track", Verdict: judge.Passed,
			Why: "with DO_NOT_TRACK=1 the capture holds no request"},
		{Scenario: "command-opt-out", Clause: "consent.command-opt-out", Verdict: judge.Passed,
			Why: "after turbo telemetry disable (telemetry.json enabled: false) the run sends nothing"},
	},
})
