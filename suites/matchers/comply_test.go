package matchers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/matchers"
)

var _ = Describe("ComplyWith", func() {
	var res *judge.Result

	BeforeEach(func() {
		res = &judge.Result{
			Scenario: "opt-in",
			Findings: []judge.Finding{
				{Clause: "anonymity.no-personal-values", Scenario: "opt-in", Exchange: 1, Path: "header:User-Agent", Check: "canary-absent", Message: "user canary found", Evidence: "raw form, value of 16 chars"},
				{Clause: "files.no-names", Scenario: "opt-in", Exchange: 1, Path: "$.content.cwd", Check: "canary-absent", Message: "repo-path canary found", Evidence: "raw form"},
				{Clause: "anonymity.no-personal-values", Scenario: "opt-in", Run: "run-2", Exchange: 3, Path: "$.content.platform", Check: "canary-absent", Message: "user canary found", Evidence: "base64 form, value of 16 chars"},
				{Clause: "anonymity.no-personal-values", Scenario: "opt-in", Path: "stderr:4", Check: "canary-absent", Message: "user canary in the log"},
			},
			Clauses: []judge.ClauseResult{
				{Clause: "anonymity.no-personal-values", Verdict: judge.Violated, Findings: 3},
				{Clause: "files.no-names", Verdict: judge.Violated, Findings: 1},
				{Clause: "ids.sha256-only", Verdict: judge.Passed},
				{Clause: "destination.processor-only", Verdict: judge.Passed, Reason: "role host was not planted"},
				{Clause: "consent.nothing-until-opt-in", Verdict: judge.NotExercised, Reason: "scenario opt-in does not exercise this clause"},
				{Clause: "server.retention-1y", Verdict: judge.NotTestable, Reason: "a server-side promise: not testable from the client"},
				{Clause: "reports.one-per-run", Verdict: judge.Unobservable, Reason: "the harness could not see inside: exchange #1 is tunnel-rejected to spire.bugout.dev:443"},
			},
		}
	})

	It("passes a passed clause, and NotTo fails naming the clause", func() {
		Expect(to(res, matchers.ComplyWith("ids.sha256-only"))).To(BeEmpty())
		Expect(notTo(res, matchers.ComplyWith("ids.sha256-only"))).To(Equal([]string{
			`Expected
    <judged scenario "opt-in": 2 of 7 clauses violated, 4 findings>
not to comply with clause "ids.sha256-only" (scenario "opt-in")
    passed`}))
	})

	It("shows the note that qualified a pass in the negated message", func() {
		Expect(notTo(res, matchers.ComplyWith("destination.processor-only"))).To(Equal([]string{
			`Expected
    <judged scenario "opt-in": 2 of 7 clauses violated, 4 findings>
not to comply with clause "destination.processor-only" (scenario "opt-in")
    passed: role host was not planted`}))
	})

	It("fails a violated clause with one line per finding of that clause only", func() {
		Expect(notTo(res, matchers.ComplyWith("anonymity.no-personal-values"))).To(BeEmpty())
		Expect(to(res, matchers.ComplyWith("anonymity.no-personal-values"))).To(Equal([]string{
			`Expected
    <judged scenario "opt-in": 2 of 7 clauses violated, 4 findings>
to comply with clause "anonymity.no-personal-values" (scenario "opt-in")
    exchange #1 header:User-Agent: user canary found (raw form, value of 16 chars)
    run run-2 exchange #3 $.content.platform: user canary found (base64 form, value of 16 chars)
    stderr:4: user canary in the log`}))
	})

	It("accepts a judge.Result value as well as a pointer", func() {
		Expect(to(*res, matchers.ComplyWith("ids.sha256-only"))).To(BeEmpty())
	})

	DescribeTable("errs under both To and NotTo when the clause was not judged",
		func(clause, want string) {
			Expect(bothFail(res, matchers.ComplyWith(clause))).To(Equal(want))
		},
		Entry("unobservable", "reports.one-per-run",
			`ComplyWith matcher: unobservable: clause "reports.one-per-run" in scenario "opt-in": the harness could not see inside: exchange #1 is tunnel-rejected to spire.bugout.dev:443: the harness could not see what it needed, so neither To nor NotTo may pass`),
		Entry("not-exercised", "consent.nothing-until-opt-in",
			`ComplyWith matcher: not-exercised: clause "consent.nothing-until-opt-in" in scenario "opt-in": scenario opt-in does not exercise this clause: Skip the spec instead of asserting`),
		Entry("not-testable", "server.retention-1y",
			`ComplyWith matcher: not-testable: clause "server.retention-1y" in scenario "opt-in": a server-side promise: not testable from the client: Skip the spec instead of asserting`),
		Entry("a clause the result does not hold", "no.such-clause",
			`ComplyWith matcher: the result of scenario "opt-in" has no clause "no.such-clause" (it has 7: [anonymity.no-personal-values files.no-names ids.sha256-only destination.processor-only consent.nothing-until-opt-in server.retention-1y reports.one-per-run]); check the clause id against the policy`),
	)

	DescribeTable("errs under both To and NotTo on bad input",
		func(actual any, want string) {
			Expect(bothFail(actual, matchers.ComplyWith("ids.sha256-only"))).To(Equal(want))
		},
		Entry("nil", nil, "ComplyWith matcher expects a *judge.Result, got nil"),
		Entry("a nil *judge.Result", (*judge.Result)(nil), "ComplyWith matcher expects a *judge.Result, got a nil *judge.Result"),
		Entry("a wrong type", "passed", "ComplyWith matcher expects a *judge.Result, got string"),
	)

	It("errs on an inconsistent result rather than trusting either half", func() {
		res.Clauses[0].Verdict = judge.Passed
		Expect(bothFail(res, matchers.ComplyWith("anonymity.no-personal-values"))).To(ContainSubstring("is passed yet has 3 findings"))
		res.Clauses[1].Verdict, res.Findings = judge.Violated, nil
		Expect(bothFail(res, matchers.ComplyWith("files.no-names"))).To(ContainSubstring("is violated yet has no findings"))
	})

	It("clears what it found between calls, as Eventually needs", func() {
		m := matchers.ComplyWith("anonymity.no-personal-values")
		ok, err := m.Match(res)
		Expect(err).NotTo(HaveOccurred(), "m.Match")
		Expect(ok).To(BeFalse())
		res.Findings = res.Findings[1:2] // only the files.no-names finding is left
		res.Clauses[0] = judge.ClauseResult{Clause: "anonymity.no-personal-values", Verdict: judge.Passed}
		ok, err = m.Match(res)
		Expect(err).NotTo(HaveOccurred(), "m.Match")
		Expect(ok).To(BeTrue())
		Expect(m.NegatedFailureMessage(res)).NotTo(ContainSubstring("user canary"), "findings of the first call must not leak into the second")
	})
})
