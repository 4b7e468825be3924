package session_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// TestMain lets the re-executed test binary become the sealed namespace's
// helper, or a harness that a spec kills.
func TestMain(m *testing.M) {
	netwatch.MaybeRunHelper()
	if marker := os.Getenv(childHarnessEnv); marker != "" {
		os.Exit(runChildHarness(marker))
	}
	os.Exit(m.Run())
}

func TestSession(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Session Suite")
}

// python is the real interpreter behind python3: a version-manager shim
// (pyenv) costs a shell and tens of milliseconds per start, which matters
// for the specs that race a timeout.
var python string

var _ = BeforeSuite(func() {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	Expect(err).NotTo(HaveOccurred(), "python3 is needed to play the recorded tool")
	python = strings.TrimSpace(string(out))
})
