package realtools_test

import (
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// Storybook 10.6.0 (@storybook/html-vite 10.6.0, vite 7.3.8). The policy was
// drafted by `telemetry-harness init` and finished by hand from
// https://storybook.js.org/docs/configure/telemetry; each verdict was
// written from the captured POST /event-log bodies (a boot event, then the
// build or error event) read beside that page.
var _ = describeTool(realTool{
	Name:   "storybook",
	Policy: "policies/storybook.yaml",
	Dir:    "storybook",
	Bin:    "storybook",
	Tool:   npmTool("storybook"),
	// The project id is sha256 of a salt and the normalised git remote URL:
	// only the differential runs see it move with the planted organisation.
	Differential: true,
	Want: []want{
		{Scenario: "default", Clause: "fields.documented-only", Verdict: judge.Violated,
			Why:      "every event carries a random eventId and sessionId, and the build event hasRouterPackage, hasModuleFederation and packageJsonType: none is on the page's list or in its example output",
			Evidence: []string{`undocumented field "eventId"`, `undocumented field "sessionId"`, `undocumented field "hasModuleFederation"`}},
		{Scenario: "default", Clause: "ids.untraceable", Verdict: judge.Violated,
			Why:      "metadata.storybookPackages lists every dependency whose name holds \"storybook\": the private @scope/storybook-preset names the organisation",
			Evidence: []string{"private-scope canary is sent (raw)"}},
		{Scenario: "default", Clause: "anonymity.no-personal-info", Verdict: judge.Passed,
			Why: "neither the user name nor the home folder appears"},
		{Scenario: "default", Clause: "env.not-collected", Verdict: judge.Passed,
			Why: "no planted variable, main.js value, flag value or git dependency name appears"},
		{Scenario: "default", Clause: "destination.storybook-only", Verdict: judge.Passed,
			Why: "two POSTs (boot, build) to storybook.js.org/event-log"},

		{Scenario: "git-repo", Clause: "fields.documented-only", Verdict: judge.Violated,
			Why: "the undocumented random ids; and context.anonymousId repeats with identical inputs but changes with the planted git organisation: " +
				"it is sha256(\"storybook-telemetry-salt\" + the remote URL without its credentials), not a hash generated at installation",
			Evidence: []string{"$.context.anonymousId: differential", "git-org", `undocumented field "sessionId"`}},
		{Scenario: "git-repo", Clause: "ids.untraceable", Verdict: judge.Violated,
			Why:      "the private scope in storybookPackages; the remote's token, author and the commit message are not sent",
			Evidence: []string{"private-scope canary is sent (raw)"}},
		{Scenario: "git-repo", Clause: "anonymity.no-personal-info", Verdict: judge.Passed,
			Why: "neither the user name nor the home folder appears"},
		{Scenario: "git-repo", Clause: "env.not-collected", Verdict: judge.Passed,
			Why: "no planted variable or configuration value appears"},
		{Scenario: "git-repo", Clause: "destination.storybook-only", Verdict: judge.Passed,
			Why: "two POSTs to the event log"},

		{Scenario: "failing-run", Clause: "errors.no-crash-report-by-default", Verdict: judge.Violated,
			Why: "crash reports were never enabled, yet the error event carries the whole error (message, stack, the missing module): " +
				"without a terminal or under CI the crash-report prompt is skipped and its answer taken as yes",
			Evidence: []string{"$.payload.error.message", "error-message canary is sent (raw)"}},
		{Scenario: "failing-run", Clause: "fields.documented-only", Verdict: judge.Violated,
			Why:      "the error event's code, name, blocking, error, errorHash and isErrorInstance are not on the list (crash reports are off)",
			Evidence: []string{`undocumented field "errorHash"`, `undocumented field "error"`}},
		{Scenario: "failing-run", Clause: "anonymity.no-personal-info", Verdict: judge.Passed,
			Why: "the error's paths are cut to $SNIP below the project and the home folder"},
		{Scenario: "failing-run", Clause: "destination.storybook-only", Verdict: judge.Passed,
			Why: "boot and error events, both to the event log"},

		{Scenario: "env-sweep", Clause: "env.not-collected", Verdict: judge.Violated,
			Why:      "AI_AGENT's value is sent as context.agent's name, STORYBOOK_INVOKED_BY's as payload.runner",
			Evidence: []string{"env-sweep:AI_AGENT canary is sent (raw)", "env-sweep:STORYBOOK_INVOKED_BY canary is sent (raw)"}},
		{Scenario: "env-sweep", Clause: "destination.storybook-only", Verdict: judge.Passed,
			Why: "every request of every sweep run goes to the event log"},

		{Scenario: "env-opt-out", Clause: "consent.env-opt-out", Verdict: judge.Passed,
			Why: "with STORYBOOK_DISABLE_TELEMETRY=1 nothing reached the namespace's listeners, not even the boot event"},
		{Scenario: "flag-opt-out", Clause: "consent.flag-opt-out", Verdict: judge.Passed,
			Why: "with --disable-telemetry nothing is sent (10.6 queues the boot event until the flag is read, then drops it)"},
		{Scenario: "config-opt-out", Clause: "consent.config-opt-out", Verdict: judge.Passed,
			Why: "with core.disableTelemetry nothing is sent, stricter than the page's boot-event exception"},

		{Scenario: "default", Clause: "egress.no-other-channel", Verdict: judge.Passed,
			Why: "the endpoint requests reached the transparent listener directly (allowed); no other packet left the sealed namespace"},
		{Scenario: "git-repo", Clause: "egress.no-other-channel", Verdict: judge.Passed,
			Why: "the endpoint requests reached the transparent listener directly (allowed); no other packet left the sealed namespace"},
	},
})
