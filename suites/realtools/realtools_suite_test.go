package realtools_test

import (
	"os/exec"
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
	if _, ok := npmCache(); !ok {
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
