package scenario_test

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// Differential runs of the reference: one RunAll, then checks of the extra
// run folders and what they planted.
var _ = Describe("differential runs", Ordered, func() {
	var (
		out     string
		p       *policy.Policy
		results map[string]*scenario.Result
		moved   [][]string // the candidate folders Moved was asked about
	)

	BeforeAll(func(ctx SpecContext) {
		root := repoRoot()
		out = GinkgoT().TempDir()
		p = loadPolicy(root)
		opts := scenario.Options{
			Policy: p, Root: root, Out: out, Timeout: 60 * time.Second, Log: GinkgoWriter,
			Tool:         scenario.ResolveTool([]string{"python3", "fixtures/reference/pants.py"}, root),
			Differential: true,
			// Pretend the replaced-value runs moved one position, so that
			// the runner bisects over the roles and names one.
			Moved: func(sc *policy.Scenario, base, same, candidate []string, held map[string]scenario.Held) ([]string, error) {
				moved = append(moved, candidate)
				for _, d := range candidate {
					h, ok := held[d]
					Expect(ok).To(BeTrue(), "the runner holds what it planted in %s", d)
					for _, c := range h.Canaries {
						// "moves" whenever the user name differs from the first run's.
						if c.Role == "user" && c.Value != valueOfHeld(held[base[0]], "user") {
							return []string{"\x00pos"}, nil
						}
					}
				}
				return nil, nil
			},
		}
		list, err := scenario.RunAll(ctx, opts, []string{"opt-in", "opt-out"})
		Expect(err).NotTo(HaveOccurred(), "run the scenarios")
		results = map[string]*scenario.Result{}
		for _, r := range list {
			Expect(r.Err).NotTo(HaveOccurred(), "scenario %s", r.Scenario)
			results[r.Scenario] = r
		}
	}, NodeTimeout(4*time.Minute))

	It("reruns a scenario that sent, once with the same planted values and working path, once with every value replaced", func() {
		r := results["opt-in"]
		base := r.Runs[0]
		same, replaced := scenario.DifferentialDirs(&p.Scenarios[indexOf(p, "opt-in")], out)
		Expect(r.Differential).To(HaveLen(2 + len(moved) - 1))
		Expect(r.Differential[0].Dir).To(Equal(same[0]))
		Expect(r.Differential[1].Dir).To(Equal(replaced[0]))
		Expect(r.Differential[0].Canaries).To(Equal(base.Canaries), "identical inputs")
		Expect(r.Differential[0].Workdir).To(Equal(base.Workdir), "the same working path")
		for _, role := range []string{"user", "repo-id"} {
			Expect(valueOf(r.Differential[1], role)).NotTo(Equal(valueOf(base, role)), "role %s replaced", role)
		}
		for _, d := range []string{same[0], replaced[0]} {
			exs, err := capture.Load(d)
			Expect(err).NotTo(HaveOccurred(), "load the capture of %s", d)
			Expect(exs).To(HaveLen(1), "%s sent its report", d)
			cs, err := canary.ReadFile(filepath.Join(d, capture.CanariesName))
			Expect(err).NotTo(HaveOccurred(), "read what %s planted", d)
			Expect(cs).NotTo(BeEmpty())
		}
	})

	It("names the role that moves a position by bisecting over the roles, and writes the attribution", func() {
		b, err := os.ReadFile(filepath.Join(out, "opt-in", capture.DifferentialDir, scenario.AttributionName))
		Expect(err).NotTo(HaveOccurred(), "read the attribution")
		Expect(string(b)).To(MatchJSON(`{"\u0000pos": ["user"]}`))
		Expect(len(moved)).To(BeNumerically(">", 1), "bisection runs were asked about")
	})

	It("makes no differential runs of a scenario that sent nothing, and says why", func() {
		r := results["opt-out"]
		Expect(r.Differential).To(BeEmpty())
		Expect(r.DifferentialNote).To(Equal("the scenario sent nothing"))
		_, err := os.Stat(filepath.Join(out, "opt-out", capture.DifferentialDir))
		Expect(os.IsNotExist(err)).To(BeTrue(), "no differential folder")
	})
})

func valueOfHeld(h scenario.Held, role string) string {
	for _, c := range h.Canaries {
		if c.Role == role {
			return c.Value
		}
	}
	return ""
}

func indexOf(p *policy.Policy, name string) int {
	for i := range p.Scenarios {
		if p.Scenarios[i].Name == name {
			return i
		}
	}
	Fail("no scenario " + name)
	return -1
}
