package scenario_test

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// A tool that has read the harness's source looks for the evidence of its
// own run and of the runs before it: here it lists every file under the
// output folder while it runs.
var _ = Describe("evidence out of the tool's reach", func() {
	It("writes no canaries.json and no integrity chain while any tool of the invocation runs, then both, verified", func(ctx SpecContext) {
		root := repoRoot()
		out := GinkgoT().TempDir()
		lister := writeScript(GinkgoT().TempDir(), "lister", `find "$OUT_FOLDER" -type f | sort`)
		opts := scenario.Options{
			Policy: loadPolicy(root), Tool: []string{lister}, Root: root, Out: out,
			Timeout: 30 * time.Second, PassEnv: []string{"OUT_FOLDER"},
		}
		GinkgoT().Setenv("OUT_FOLDER", out)
		list, err := scenario.RunAll(ctx, opts, []string{"repeated-runs", "opt-in"})
		Expect(err).NotTo(HaveOccurred())
		runs := 0
		for _, res := range list {
			Expect(res.Err).NotTo(HaveOccurred(), res.Scenario)
			for _, rr := range res.Runs {
				runs++
				seen, err := os.ReadFile(filepath.Join(rr.Dir, "stdout"))
				Expect(err).NotTo(HaveOccurred())
				Expect(string(seen)).To(ContainSubstring(filepath.Join(rr.Dir, capture.JSONLName)), "the tool could list the folders")
				Expect(string(seen)).NotTo(ContainSubstring(scenario.CanariesName), "%s/%s: no run's planted values while a tool runs", res.Scenario, rr.Name)
				Expect(string(seen)).NotTo(ContainSubstring(capture.IntegrityName), "%s/%s: no run's key while a tool runs", res.Scenario, rr.Name)

				Expect(readCanaries(rr.Dir)).To(Equal(rr.Canaries))
				Expect(capture.Verify(rr.Dir)).To(Succeed())
				Expect(capture.Verify(filepath.Join(rr.Dir, capture.HARName))).To(Succeed())
				fi, err := os.Stat(rr.Dir)
				Expect(err).NotTo(HaveOccurred())
				Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o700)))
			}
		}
		Expect(runs).To(Equal(4))
	}, SpecTimeout(2*time.Minute))
})
