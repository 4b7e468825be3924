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

var _ = Describe("sink answers", func() {
	It("answers the endpoint as each run of the scenario says", func(ctx SpecContext) {
		root := repoRoot()
		// curl through the run's proxy only: without a proxy it stops
		// rather than reach a real host.
		tool := writeScript(GinkgoT().TempDir(), "tool.sh", `[ -n "$HTTPS_PROXY" ] || exit 9
curl -sS --max-time 5 --proxy "$HTTPS_PROXY" --noproxy '' -o /dev/null -w 'status=%{http_code}\n' -X POST --data '{}' https://spire.bugout.dev/humbug/reports
exit 0
`)
		opts := scenario.Options{Policy: loadPolicy(root), Tool: []string{"/bin/sh", tool}, Root: root, Out: GinkgoT().TempDir(), Timeout: 20 * time.Second}
		sc, err := opts.Policy.Scenario("endpoint-error")
		Expect(err).NotTo(HaveOccurred(), "opts.Policy.Scenario")
		r, err := scenario.Run(ctx, opts, sc)
		Expect(err).NotTo(HaveOccurred(), "scenario.Run")
		Expect(r.Runs).To(HaveLen(2))

		failed, refused := r.Runs[0], r.Runs[1]
		Expect(failed.Name).To(Equal("status-500"))
		out, err := os.ReadFile(filepath.Join(failed.Dir, "stdout"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(out)).To(Equal("status=500\n"))
		exs, err := capture.Load(failed.Dir)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].Response).NotTo(BeNil())
		Expect(exs[0].Response.Status).To(Equal(500))

		Expect(refused.Name).To(Equal("refused"))
		out, err = os.ReadFile(filepath.Join(refused.Dir, "stdout"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(out)).To(Equal("status=000\n"), "the tunnel is refused, so no HTTP answer")
	})
})
