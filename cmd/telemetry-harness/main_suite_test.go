package main

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// TestMain lets the re-executed test binary become the sealed namespace's
// helper: runRecord and runRun are called in-process.
func TestMain(m *testing.M) {
	netwatch.MaybeRunHelper()
	os.Exit(m.Run())
}

func TestTelemetryHarness(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "telemetry-harness CLI Suite")
}

// binPath is the CLI built once for the integration specs.
var binPath string

var _ = SynchronizedBeforeSuite(func() []byte {
	p, err := gexec.Build("github.com/telemetry-harness/telemetry-harness/cmd/telemetry-harness")
	Expect(err).NotTo(HaveOccurred(), "building the CLI")
	return []byte(p)
}, func(p []byte) {
	binPath = string(p)
})

var _ = SynchronizedAfterSuite(func() {}, func() {
	gexec.CleanupBuildArtifacts()
})
