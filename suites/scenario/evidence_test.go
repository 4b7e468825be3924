package scenario_test

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// A tool that has read the harness's source looks for the evidence of its
// own run and of the runs before it: here it lists every file under the
// output folder while it runs.
var _ = Describe("evidence out of the tool's reach", func() {
	DescribeTable("writes no canaries.json and no integrity chain while any tool of the invocation runs, then both, verified", func(ctx SpecContext, seal string) {
		root := repoRoot()
		out := GinkgoT().TempDir()
		lister := writeScript(GinkgoT().TempDir(), "lister", `find "$OUT_FOLDER" -type f | sort`)
		opts := scenario.Options{
			Policy: loadPolicy(root), Tool: []string{lister}, Root: root, Out: out,
			Timeout: 30 * time.Second, PassEnv: []string{"OUT_FOLDER"}, Seal: seal,
		}
		GinkgoT().Setenv("OUT_FOLDER", out)
		list, err := scenario.RunAll(ctx, opts, []string{"repeated-runs", "opt-in"})
		Expect(err).NotTo(HaveOccurred(), "scenario.RunAll")
		runs, sealed := 0, 0
		for _, res := range list {
			Expect(res.Err).NotTo(HaveOccurred(), res.Scenario)
			for _, rr := range res.Runs {
				runs++
				seen, err := os.ReadFile(filepath.Join(rr.Dir, "stdout"))
				Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
				e, err := capture.ReadEgress(rr.Dir)
				Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
				if e.Sealed {
					// A sealed run covers the output folder: the tool
					// sees it empty.
					Expect(e.OutputHidden).To(HaveValue(BeTrue()), e.HideReason)
					Expect(string(seen)).To(BeEmpty(), "%s/%s: a sealed tool sees nothing of the output", res.Scenario, rr.Name)
					sealed++
				} else {
					Expect(string(seen)).To(ContainSubstring(filepath.Join(rr.Dir, capture.JSONLName)), "the tool could list the folders")
				}
				Expect(string(seen)).NotTo(ContainSubstring(scenario.CanariesName), "%s/%s: no run's planted values while a tool runs", res.Scenario, rr.Name)
				Expect(string(seen)).NotTo(ContainSubstring(capture.IntegrityName), "%s/%s: no run's key while a tool runs", res.Scenario, rr.Name)

				Expect(readCanaries(rr.Dir)).To(Equal(rr.Canaries))
				Expect(capture.Verify(rr.Dir)).To(Succeed())
				Expect(capture.Verify(filepath.Join(rr.Dir, capture.HARName))).To(Succeed())
				fi, err := os.Stat(rr.Dir)
				Expect(err).NotTo(HaveOccurred(), "os.Stat")
				Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o700)))
			}
		}
		Expect(runs).To(Equal(4))
		GinkgoWriter.Printf("%d of %d runs sealed\n", sealed, runs)
		if seal == session.SealOff {
			Expect(sealed).To(BeZero())
		}
	},
		Entry("sealed where it can be (the tool sees an empty output folder)", session.SealAuto, SpecTimeout(2*time.Minute)),
		Entry("not sealed (the tool sees the captures, never the planted values or keys)", session.SealOff, SpecTimeout(2*time.Minute)),
	)

	It("refuses a capture the tool rewrote while it ran: a harness error naming file and line (mutant edit-capture, not sealed)", func(ctx SpecContext) {
		root := repoRoot()
		python, err := scenario.Python(ctx)
		Expect(err).NotTo(HaveOccurred(), "scenario.Python")
		out := GinkgoT().TempDir()
		opts := scenario.Options{
			Policy: loadPolicy(root), Root: root, Out: out, Timeout: 30 * time.Second, Seal: session.SealOff,
			Tool: scenario.ResolveTool([]string{python, "fixtures/reference/pants.py", "--ref-mutant=edit-capture"}, root),
		}
		list, err := scenario.RunAll(ctx, opts, []string{"opt-in"})
		Expect(err).NotTo(HaveOccurred(), "scenario.RunAll")
		Expect(list[0].Err).To(MatchError(capture.ErrIntegrity))
		Expect(list[0].Err.Error()).To(MatchRegexp(`opt-in/capture\.jsonl line \d+: capture does not match its integrity chain`))
	}, SpecTimeout(time.Minute))
})
