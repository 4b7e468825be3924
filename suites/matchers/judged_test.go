package matchers_test

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/matchers"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

var _ = Describe("ComplyWith on a judged fixture capture", func() {
	It("fails the clause the fixture breaks and passes the others", func() {
		p, err := policy.Load(filepath.Join(root, "policy.yaml"))
		Expect(err).NotTo(HaveOccurred(), "loading policy.yaml")
		run, err := judge.LoadRun(filepath.Join(root, "fixtures/captures/user-raw"))
		Expect(err).NotTo(HaveOccurred(), "loading fixtures/captures/user-raw")
		res, err := judge.Judge(judge.Input{Policy: p, Scenario: "opt-in-custom-goals", Runs: []judge.RunData{run}})
		Expect(err).NotTo(HaveOccurred(), "judging user-raw")

		Expect(to(res, matchers.ComplyWith("anonymity.no-personal-values"))).To(Equal([]string{`Expected
    <judged scenario "opt-in-custom-goals": 1 of 25 clauses violated, 1 finding>
to comply with clause "anonymity.no-personal-values" (scenario "opt-in-custom-goals")
    exchange #1 header:User-Agent: the user canary is sent (raw) (role user, form raw, value of 16 chars)`}))
		passed := 0
		for _, c := range res.Clauses {
			if c.Verdict == judge.Passed {
				passed++
				Expect(res).To(matchers.ComplyWith(c.Clause))
			}
		}
		Expect(passed).To(BeNumerically(">", 5), "most clauses of the scenario pass on this capture")
	})
})
