package realtools_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

func TestRealtools(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Realtools Suite", Label("npm"))
}

// cliPath is the telemetry-harness binary the specs run, built once; empty
// when no real tool can run here, so nothing is built for nothing.
var cliPath string

var _ = SynchronizedBeforeSuite(func() []byte {
	if _, err := exec.LookPath("node"); err != nil {
		return nil
	}
	cache, ok := npmCache()
	if !ok {
		return nil
	}
	// Build only when some tool is installed: otherwise every spec skips.
	installed := false
	for _, b := range []string{"turbo/node_modules/.bin/turbo", "astro/node_modules/.bin/astro", "next/node_modules/.bin/next"} {
		if _, err := os.Stat(filepath.Join(cache, b)); err == nil {
			installed = true
		}
	}
	if !installed {
		return nil
	}
	p, err := gexec.Build("github.com/telemetry-harness/telemetry-harness/cmd/telemetry-harness")
	Expect(err).NotTo(HaveOccurred(), "building the telemetry-harness CLI")
	return []byte(p)
}, func(p []byte) {
	cliPath = string(p)
})

var _ = SynchronizedAfterSuite(func() {}, func() {
	gexec.CleanupBuildArtifacts()
})
