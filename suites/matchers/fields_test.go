package matchers_test

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/matchers"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

var _ = Describe("HaveOnlyDocumentedFields", func() {
	const scenario = "opt-in-custom-goals"
	var p *policy.Policy

	BeforeEach(func() {
		var err error
		p, err = policy.Load(filepath.Join(root, "policy.yaml"))
		Expect(err).NotTo(HaveOccurred(), "loading policy.yaml")
	})

	load := func(name string) judge.Run {
		GinkgoHelper()
		run, err := judge.LoadRun(filepath.Join(root, "fixtures/captures", name))
		Expect(err).NotTo(HaveOccurred(), "loading fixtures/captures/%s", name)
		return run
	}

	It("passes a compliant capture, and NotTo fails", func() {
		run := load("compliant")
		Expect(to(run, matchers.HaveOnlyDocumentedFields(p, scenario))).To(BeEmpty())
		Expect(notTo(run, matchers.HaveOnlyDocumentedFields(p, scenario))).To(Equal([]string{`Expected
    <1 run of scenario "opt-in-custom-goals": 1 exchange>
not to have only documented fields: clause "fields.documented-only" (policy.yaml, scenario "opt-in-custom-goals")
    passed`}))
	})

	It("fails an undocumented field with its path, values redacted", func() {
		runs := []judge.Run{load("undocumented-field")}
		Expect(notTo(runs, matchers.HaveOnlyDocumentedFields(p, scenario))).To(BeEmpty())
		Expect(to(runs, matchers.HaveOnlyDocumentedFields(p, scenario))).To(Equal([]string{`Expected
    <1 run of scenario "opt-in-custom-goals": 1 exchange>
to have only documented fields: clause "fields.documented-only" (policy.yaml, scenario "opt-in-custom-goals")
    exchange #1 $.content.active_standard_backends: undocumented field "active_standard_backends" (list of 1, values redacted)`}))
	})

	It("reports only its own clause: a canary in a documented field is another clause's business", func() {
		run := load("user-raw")
		Expect(to(&run, matchers.HaveOnlyDocumentedFields(p, scenario))).To(BeEmpty())
	})

	It("errs when the scenario does not exercise the clause", func() {
		Expect(bothFail(load("compliant"), matchers.HaveOnlyDocumentedFields(p, "unset"))).To(Equal(
			`HaveOnlyDocumentedFields matcher: not-exercised: clause "fields.documented-only" in scenario "unset": scenario unset does not exercise this clause: Skip the spec instead of asserting`))
	})

	DescribeTable("errs under both To and NotTo on bad input",
		func(actual any, usePolicy bool, scenario, want string) {
			pol := p
			if !usePolicy {
				pol = nil
			}
			Expect(bothFail(actual, matchers.HaveOnlyDocumentedFields(pol, scenario))).To(Equal(want))
		},
		Entry("nil", nil, true, scenario, "HaveOnlyDocumentedFields matcher expects a []judge.Run or judge.Run, got nil"),
		Entry("a wrong type", "capture.jsonl", true, scenario, "HaveOnlyDocumentedFields matcher expects a []judge.Run or judge.Run, got string"),
		Entry("a nil *judge.Run", (*judge.Run)(nil), true, scenario, "HaveOnlyDocumentedFields matcher expects runs, got a nil *judge.Run"),
		Entry("no runs", []judge.Run{}, true, scenario, "HaveOnlyDocumentedFields matcher: judge scenario opt-in-custom-goals: no run to judge"),
		Entry("no policy", judge.Run{}, false, scenario, "HaveOnlyDocumentedFields matcher: no policy: pass the loaded *policy.Policy"),
	)

	It("errs on a scenario the policy does not have", func() {
		Expect(bothFail(load("compliant"), matchers.HaveOnlyDocumentedFields(p, "no-such-scenario"))).To(HavePrefix(
			`HaveOnlyDocumentedFields matcher: judge: scenario "no-such-scenario" not found in policy`))
	})

	It("errs on a nil exchange in a run", func() {
		run := load("compliant")
		run.Exchanges = append(run.Exchanges, nil)
		Expect(bothFail(run, matchers.HaveOnlyDocumentedFields(p, scenario))).To(Equal(
			"HaveOnlyDocumentedFields matcher: exchange at index 1 is nil: the capture is malformed (in run 1)"))
	})
})
