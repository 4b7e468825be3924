package scenario_test

import (
	"os"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

var _ = Describe("keeping a run", func() {
	It("keeps the repo copy and HOME and gives a shell line that reruns the tool the same way", func(ctx SpecContext) {
		root := repoRoot()
		tool := writeScript(GinkgoT().TempDir(), "tool.sh", `echo "pwd=$(pwd) user=$USER logname=$LOGNAME home=$HOME token=$PROJECT_DEPLOY_TOKEN tz=$TZ args=$*"
grep -c DEPLOY_STAGE pants.toml
`)
		opts := scenario.Options{
			Policy: loadPolicy(root), Tool: []string{"/bin/sh", tool}, Root: root, Out: GinkgoT().TempDir(), Keep: true,
		}
		sc, err := opts.Policy.Scenario("unset")
		Expect(err).NotTo(HaveOccurred(), "opts.Policy.Scenario")
		r, err := scenario.Run(ctx, opts, sc)
		Expect(err).NotTo(HaveOccurred(), "scenario.Run")
		rr := r.Runs[0]
		DeferCleanup(os.RemoveAll, filepath.Dir(filepath.Dir(rr.Workdir)))

		Expect(rr.Workdir).To(BeADirectory())
		Expect(rr.Home).To(BeADirectory())
		toml, err := os.ReadFile(filepath.Join(rr.Workdir, "pants.toml"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(toml)).To(ContainSubstring(`extra_env_vars = ["DEPLOY_STAGE=` + valueOf(rr, "config-value") + `"]`))
		Expect(string(toml)).To(HavePrefix("# Scenario repo"), "the repo's own pants.toml is kept, the scenario's part appended")

		recorded, err := os.ReadFile(filepath.Join(rr.Dir, "stdout"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(recorded)).To(ContainSubstring("user=" + valueOf(rr, "user") + " logname=" + valueOf(rr, "user")))
		Expect(string(recorded)).To(ContainSubstring("token=" + valueOf(rr, "env-value")))

		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", rr.Rerun())
		cmd.Dir = GinkgoT().TempDir()
		again, err := cmd.Output()
		Expect(err).NotTo(HaveOccurred(), "rerun line: %s", rr.Rerun())
		Expect(string(again)).To(Equal(string(recorded)))
	})
})
