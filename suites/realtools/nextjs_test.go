package realtools_test

import (
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// Next.js 16.4.6 (next build --webpack). Each verdict was written from the
// captured POST /api/v1/record bodies ({context, meta, events}) and
// the state file (~/.config/nextjs-nodejs/config.json on the plain
// machine every scenario pins unless it asks for a container) read beside
// https://nextjs.org/telemetry. Builds
// take 10-40 s here, so there is no per-scenario bound (the issue asks for
// one for Turborepo and Astro only).
var _ = describeTool(realTool{
	Name:   "nextjs",
	Policy: "policies/nextjs.yaml",
	Dir:    "next",
	Bin:    "next",
	Tool:   npmTool("next"),
	Want: []want{
		{Scenario: "default", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "context (anonymousId, projectId, sessionId) and meta hold only the listed kinds of data"},
		{Scenario: "default", Clause: "ids.salted", Verdict: judge.Passed,
			Why: "anonymousId equals config.json's; projectId is sha256(salt + REPOSITORY_URL) with config.json's salt"},
		{Scenario: "default", Clause: "anonymity.no-personal-info", Verdict: judge.Passed,
			Why: "neither the user name nor the home folder appears"},
		{Scenario: "default", Clause: "env.not-collected", Verdict: judge.Passed,
			Why: "REPOSITORY_URL appears only salted-hashed; no other planted variable appears"},
		{Scenario: "default", Clause: "files.not-collected", Verdict: judge.Violated,
			Why:      "NEXT_PACKAGE_DETECTED sends every package.json dependency name and specifier: the git URL with its password, the file: path",
			Evidence: []string{"fields.packageName: the dep-name canary is sent (raw)", "fields.packageVersion: the git-token canary is sent (raw)", "fields.packageVersion: the file-dep canary is sent (raw)"}},
		{Scenario: "default", Clause: "destination.nextjs-only", Verdict: judge.Passed,
			Why: "every POST goes to telemetry.nextjs.org/api/v1/record"},

		{Scenario: "config-sweep", Clause: "files.not-collected", Verdict: judge.Passed,
			Why: "none of the planted env values, env name or image host of next.config.json appears in any form (the build reports only which features are used)"},
		{Scenario: "config-sweep", Clause: "destination.nextjs-only", Verdict: judge.Passed,
			Why: "every POST goes to telemetry.nextjs.org/api/v1/record"},

		{Scenario: "git-repo", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "the same envelope as outside git"},
		{Scenario: "git-repo", Clause: "ids.salted", Verdict: judge.Passed,
			Why: "projectId is sha256(salt + the git remote URL), the salt never sent"},
		{Scenario: "git-repo", Clause: "anonymity.no-personal-info", Verdict: judge.Passed,
			Why: "neither the user name nor the home folder appears"},
		{Scenario: "git-repo", Clause: "env.not-collected", Verdict: judge.Passed,
			Why: "no planted variable value appears"},
		{Scenario: "git-repo", Clause: "files.not-collected", Verdict: judge.Violated,
			Why:      "the dependency git URL with its password is sent again; the remote URL, author and message are not",
			Evidence: []string{"the git-token canary is sent (raw)", "the dep-name canary is sent (raw)"}},
		{Scenario: "git-repo", Clause: "destination.nextjs-only", Verdict: judge.Passed,
			Why: "every POST goes to the record endpoint"},

		{Scenario: "failing-run", Clause: "errors.not-collected", Verdict: judge.Passed,
			Why: "the failed build sends events without the thrown message"},
		{Scenario: "failing-run", Clause: "files.not-collected", Verdict: judge.Passed,
			Why: "no path appears; projectId is sha256(salt + working folder)"},
		{Scenario: "failing-run", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "the envelope holds only listed fields"},
		{Scenario: "failing-run", Clause: "destination.nextjs-only", Verdict: judge.Passed,
			Why: "every POST goes to the record endpoint"},

		{Scenario: "env-opt-out", Clause: "consent.env-opt-out", Verdict: judge.Passed,
			Why: "with NEXT_TELEMETRY_DISABLED=1 the capture and the DNS log hold nothing"},
		{Scenario: "dotenv-opt-out", Clause: "consent.dotenv-opt-out", Verdict: judge.Passed,
			Why: "with NEXT_TELEMETRY_DISABLED=1 in .env the capture and the DNS log hold nothing"},
		// next keeps its settings where isCI || isDocker() says
		// (dist/telemetry/storage.js); the scenarios pin that host fact,
		// so these two verdicts hold on a laptop and in a container alike.
		{Scenario: "command-opt-out", Clause: "consent.command-opt-out", Verdict: judge.Passed,
			Why: "on a plain machine `next telemetry disable` saves enabled: false to ~/.config/nextjs-nodejs/config.json, which next build reads: the capture and the DNS log hold nothing"},
		{Scenario: "command-opt-out-container", Clause: "consent.command-opt-out", Verdict: judge.Violated,
			Why:      "with /.dockerenv `next telemetry disable` saves to <project>/cache/config.json while next build reads .next/cache/config.json (a fresh id and salt, no enabled flag), so the build sends 8 POSTs with isDocker true",
			Evidence: []string{"a request was sent: POST to telemetry.nextjs.org"}},
		{Scenario: "debug", Clause: "consent.debug-sends-nothing", Verdict: judge.Passed,
			Why: "with NEXT_TELEMETRY_DEBUG=1 the events go to stderr only"},

		{Scenario: "env-sweep", Clause: "env.not-collected", Verdict: judge.Violated,
			Why:      "with a value planted in each of ~220 variables next's code reads and the families, AI_AGENT's value is sent verbatim as $.meta.agentName of every event",
			Evidence: []string{"env-sweep:AI_AGENT", "$.meta.agentName"}},
		{Scenario: "env-sweep", Clause: "fields.documented-only", Verdict: judge.Passed,
			Why: "the events keep their documented fields; the advisory request to registry.npmjs.org is declared other traffic"},
		{Scenario: "env-sweep", Clause: "destination.nextjs-only", Verdict: judge.Passed,
			Why: "telemetry goes to telemetry.nextjs.org; the npm advisory check is attributed (other_traffic npm-advisories)"},

		{Scenario: "default", Clause: "egress.no-other-channel", Verdict: judge.Passed,
			Why: "the endpoint requests reached the transparent listener directly (allowed); no other packet left the sealed namespace"},
		{Scenario: "git-repo", Clause: "egress.no-other-channel", Verdict: judge.Passed,
			Why: "the endpoint requests reached the transparent listener directly (allowed); no other packet left the sealed namespace"},
	},
})
