package scenario_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

var _ = Describe("ResolveTool", func() {
	var cwd string

	BeforeEach(func() {
		cwd = GinkgoT().TempDir()
		Expect(os.MkdirAll(filepath.Join(cwd, "fixtures", "reference"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(cwd, "fixtures", "reference", "pants.py"), nil, 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(cwd, "tool.sh"), nil, 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(cwd, "python3"), nil, 0o755)).To(Succeed())
	})

	It("makes existing relative paths absolute against the start folder", func() {
		Expect(scenario.ResolveTool([]string{"python3", "fixtures/reference/pants.py", "--ref-profile=documented"}, cwd)).
			To(Equal([]string{"python3", filepath.Join(cwd, "fixtures/reference/pants.py"), "--ref-profile=documented"}))
	})

	It("treats a first word with a slash as a path and one without as a PATH lookup", func() {
		Expect(scenario.ResolveTool([]string{"./tool.sh"}, cwd)).To(Equal([]string{filepath.Join(cwd, "tool.sh")}))
		Expect(scenario.ResolveTool([]string{"python3"}, cwd)).To(Equal([]string{"python3"}))
	})

	It("keeps absolute paths, flags and words that name nothing", func() {
		words := []string{"/usr/bin/python3", "-S", "missing/pants.py", "tool.sh"}
		Expect(scenario.ResolveTool(words, cwd)).To(Equal([]string{"/usr/bin/python3", "-S", "missing/pants.py", filepath.Join(cwd, "tool.sh")}))
	})
})
