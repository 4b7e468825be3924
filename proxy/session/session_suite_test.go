package session_test

import (
	"os/exec"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

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
