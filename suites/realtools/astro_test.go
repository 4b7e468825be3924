package realtools_test

import (
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// Astro 5.18.2 (@astrojs/telemetry 3.3.0). Each verdict was written from the
// captured POST /api/v1/record bodies ({context, meta, events}) and
// ~/.config/astro/config.json read beside https://astro.build/telemetry/.
var _ = describeTool(realTool{
	Name:   "astro",
	Policy: "policies/astro.yaml",
	Dir:    "astro",
	Bin:    "astro",
	Tool:   npmTool("astro"),
	// astro build takes 3.5-4 s on an idle machine; the bound leaves room
	// for a loaded 2-core CI machine (see docs/real-tools.md).
	Want: []want{
		{Scenario: "default", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "context, meta and the session event hold only the listed kinds of data (config is open: its keys are judged by files.not-collected)"},
		{Scenario: "default", Clause: "ids.not-traceable", Verdict: judge.Violated,
			Why:      "anonymousProjectId is sha256 of the project's absolute path, unsalted: a dictionary of paths reverses it",
			Evidence: []string{"$.context.anonymousProjectId", "workdir canary is sent (sha256)"}},
		{Scenario: "default", Clause: "anonymity.no-personal-info", Verdict: judge.Passed,
			Why: "neither the user name nor the home folder appears"},
		{Scenario: "default", Clause: "env.not-collected", Verdict: judge.Passed,
			Why: "no planted variable value appears"},
		{Scenario: "default", Clause: "files.not-collected", Verdict: judge.Violated,
			Why:      "the unsalted path hash, and the user's own vite config key sent as a key of config.vite",
			Evidence: []string{"workdir canary is sent (sha256)", "config-key canary is sent (raw)"}},
		{Scenario: "default", Clause: "git.no-remote-info", Verdict: judge.Passed,
			Why: "not a repository: the git URL in package.json's dependency is not sent"},
		{Scenario: "default", Clause: "destination.astro-only", Verdict: judge.Passed,
			Why: "one POST to telemetry.astro.build/api/v1/record"},

		{Scenario: "config-sweep", Clause: "files.not-collected", Verdict: judge.Violated,
			Why:      "the member the sweep added under vite, a name the user chose, is sent as a key of config.vite (found by the sweep, not planted by hand); and the unsalted path hash",
			Evidence: []string{"config-sweep:astro.config.json:$.vite{} canary is sent (raw)", "workdir canary is sent (sha256)"}},

		{Scenario: "git-repo", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "the same fields as outside git, isGit true"},
		{Scenario: "git-repo", Clause: "ids.not-traceable", Verdict: judge.Violated,
			Why:      "anonymousProjectId is sha256 of the first commit's id, unsalted: anyone with the repository recomputes it",
			Evidence: []string{"$.context.anonymousProjectId", "commit-id canary is sent (sha256)"}},
		{Scenario: "git-repo", Clause: "anonymity.no-personal-info", Verdict: judge.Passed,
			Why: "neither the user name nor the home folder appears"},
		{Scenario: "git-repo", Clause: "env.not-collected", Verdict: judge.Passed,
			Why: "no planted variable value appears"},
		{Scenario: "git-repo", Clause: "files.not-collected", Verdict: judge.Violated,
			Why:      "the user's vite config key is sent as is",
			Evidence: []string{"config-key canary is sent (raw)"}},
		{Scenario: "git-repo", Clause: "git.no-remote-info", Verdict: judge.Violated,
			Why:      "the repository's history is sent as sha256(first commit id); remote URL and author are not",
			Evidence: []string{"commit-id canary is sent (sha256)"}},
		{Scenario: "git-repo", Clause: "destination.astro-only", Verdict: judge.Passed,
			Why: "one POST to the record endpoint"},

		{Scenario: "failing-run", Clause: "errors.sanitized-only", Verdict: judge.Violated,
			Why:      "ASTRO_CLI_ERROR's anonymousMessageHint is the first 20 word characters of the thrown message, which start with the canary",
			Evidence: []string{"$.events[0].payload.anonymousMessageHint", "error-message canary is sent (raw)"}},
		{Scenario: "failing-run", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "the session and error events hold only listed fields"},
		{Scenario: "failing-run", Clause: "files.not-collected", Verdict: judge.Violated,
			Why:      "both requests carry sha256 of the project path as anonymousProjectId",
			Evidence: []string{"workdir canary is sent (sha256)"}},
		{Scenario: "failing-run", Clause: "destination.astro-only", Verdict: judge.Passed,
			Why: "two POSTs, both to the record endpoint"},

		{Scenario: "env-opt-out", Clause: "consent.env-opt-out", Verdict: judge.Passed,
			Why: "with ASTRO_TELEMETRY_DISABLED=1 nothing reached the namespace's listeners"},
		{Scenario: "command-opt-out", Clause: "consent.command-opt-out", Verdict: judge.Passed,
			Why: "after astro telemetry disable the build sends nothing"},
		{Scenario: "debug", Clause: "consent.debug-sends-nothing", Verdict: judge.Passed,
			Why: "with DEBUG=astro:telemetry the events go to stderr only"},

		{Scenario: "env-sweep", Clause: "env.not-collected", Verdict: judge.Passed,
			Why: "a planted value in each of the ~150 variables astro, vite and their dependencies read (process.env) and the families: none appears in the event"},
		{Scenario: "env-sweep", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "the same documented event as the default run (on a plain host: no CI detector is swept)"},
		{Scenario: "env-sweep", Clause: "destination.astro-only", Verdict: judge.Passed,
			Why: "the one request goes to telemetry.astro.build"},

		{Scenario: "default", Clause: "egress.no-other-channel", Verdict: judge.Passed,
			Why: "the endpoint requests reached the transparent listener directly (allowed); no other packet left the sealed namespace"},
		{Scenario: "git-repo", Clause: "egress.no-other-channel", Verdict: judge.Passed,
			Why: "the endpoint requests reached the transparent listener directly (allowed); no other packet left the sealed namespace"},
	},
})
