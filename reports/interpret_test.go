package reports_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/reports"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

var _ = Describe("a verdict that rests on an interpretation", func() {
	var p *policy.Policy
	BeforeEach(func() {
		var err error
		p, err = policy.Load("../policies/turborepo.yaml")
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
	})
	judged := func(interpretations map[string]int) []reports.ScenarioOutcome {
		var crs []judge.ClauseResult
		sc, err := p.Scenario("default")
		Expect(err).NotTo(HaveOccurred(), "p.Scenario")
		for _, id := range sc.Clauses {
			cr := judge.ClauseResult{Clause: id, Verdict: judge.Passed}
			if id == "names.not-collected" {
				cr.Interpretations = interpretations
			}
			crs = append(crs, cr)
		}
		return []reports.ScenarioOutcome{{Scenario: "default", Judged: &judge.Result{Scenario: "default", Findings: []judge.Finding{}, Clauses: crs}}}
	}

	It("counts the interpretations in the verdict line and shows each in report.md and report.html", func() {
		r := reports.Build(p, judged(map[string]int{"generic-task-names": 4}))
		Expect(r.VerdictLine()).To(Equal("incomplete (1 interpretation)"), "the other scenarios did not run")
		Expect(r.Interpretations).To(HaveLen(1))
		in := r.Interpretations[0]
		Expect(in.ID).To(Equal("generic-task-names"))
		Expect(in.Used).To(Equal(4))
		Expect(in.Quote).To(ContainSubstring("task names"))

		dir := GinkgoT().TempDir()
		Expect(reports.WriteAll(dir, r)).To(Succeed())
		md, err := os.ReadFile(filepath.Join(dir, "report.md"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(md)).To(ContainSubstring("**generic-task-names** (names.not-collected): 4 value(s) of `task` accepted"))
		html, err := os.ReadFile(filepath.Join(dir, "report.html"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(html)).To(ContainSubstring(`<div id="interpretations">`))
	})

	It("names none when no value needed one", func() {
		r := reports.Build(p, judged(nil))
		Expect(r.Interpretations).To(BeEmpty())
		Expect(r.VerdictLine()).To(Equal(string(r.Verdict)))
	})
})
