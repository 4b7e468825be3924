package netwatch_test

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// TestMain must let the re-executed test binary become the namespace helper
// before anything else: /proc/self/exe is this binary.
func TestMain(m *testing.M) {
	netwatch.MaybeRunHelper()
	if os.Getenv(orphanEnv) != "" {
		os.Exit(runOrphan())
	}
	os.Exit(m.Run())
}

func TestNetwatch(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Netwatch Suite")
}

// unavailable is why sealed namespaces cannot be made here (nil: they can).
var unavailable error

var _ = BeforeSuite(func() {
	unavailable = netwatch.Available()
	if unavailable != nil {
		GinkgoWriter.Printf("sealed namespaces unavailable, namespace specs will skip: %v\n", unavailable)
	}
})

// requireNamespaces skips the spec where sealed namespaces cannot be made.
func requireNamespaces() {
	GinkgoHelper()
	if unavailable != nil {
		Skip("sealed network namespaces cannot be made here: " + unavailable.Error())
	}
}
