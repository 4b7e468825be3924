package realtools_test

import (
	"os"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// npm-tool must keep every run's state in the run: Storybook kept its
// session id and last events, Astro its data store, in dot-folders of the
// node_modules that one symbolic link once shared between all runs.
var _ = Describe("fixtures/npm/bin/npm-tool", func() {
	It("gives the project a node_modules of its own, linking the packages but no state", func() {
		cache, project := GinkgoT().TempDir(), GinkgoT().TempDir()
		nm := filepath.Join(cache, "node_modules")
		for _, d := range []string{".bin", "somepkg", "@scope/pkg", ".cache/tool"} {
			Expect(os.MkdirAll(filepath.Join(nm, d), 0o755)).To(Succeed(), "making %s", d)
		}
		Expect(os.WriteFile(filepath.Join(nm, ".cache/tool/session"), []byte("an earlier run's session"), 0o644)).To(Succeed(), "writing the earlier state")
		// The fake tool keeps state where find-cache-dir puts it.
		script := "#!/bin/sh\nmkdir -p node_modules/.cache/tool && echo this-run > node_modules/.cache/tool/session && echo ran \"$@\"\n"
		Expect(os.WriteFile(filepath.Join(nm, ".bin", "faketool"), []byte(script), 0o755)).To(Succeed(), "writing the fake tool")

		tool, err := filepath.Abs(filepath.Join(repoRoot, "fixtures/npm/bin/npm-tool"))
		Expect(err).NotTo(HaveOccurred(), "filepath.Abs")
		cmd := exec.Command(tool, cache, "faketool", "build")
		cmd.Dir = project
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "npm-tool: %s", out)
		Expect(string(out)).To(Equal("ran build\n"))

		st, err := os.Lstat(filepath.Join(project, "node_modules"))
		Expect(err).NotTo(HaveOccurred(), "lstat node_modules")
		Expect(st.IsDir()).To(BeTrue(), "node_modules is a folder of the project, not a link to the cache")
		for _, e := range []string{"somepkg", "@scope", ".bin"} {
			target, err := os.Readlink(filepath.Join(project, "node_modules", e))
			Expect(err).NotTo(HaveOccurred(), "%s is a link", e)
			Expect(target).To(Equal(filepath.Join(nm, e)))
		}
		Expect(os.ReadFile(filepath.Join(project, "node_modules/.cache/tool/session"))).To(Equal([]byte("this-run\n")), "the run's state stays in the run")
		Expect(os.ReadFile(filepath.Join(nm, ".cache/tool/session"))).To(Equal([]byte("an earlier run's session")), "the cache's state is neither read nor written")
	})
})
