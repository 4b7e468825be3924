package compliance_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/compliance"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// TestCompliance runs every scenario of the shipped policy against the
// bundled reference implementation (documented profile): every clause must
// pass. The spec tree comes from the policy, loaded here before RunSpecs.
func TestCompliance(t *testing.T) {
	RegisterFailHandler(Fail)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(filepath.Join(root, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	py, err := scenario.Python(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.MkdirTemp("", "compliance-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	s, err := compliance.New(compliance.Config{
		Policy: p,
		Runner: scenario.Options{
			Tool:     []string{py, filepath.Join(root, "fixtures", "reference", "pants.py")},
			Root:     root,
			Out:      out,
			Parallel: 4,
		},
		Log: GinkgoWriter,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Define()
	RunSpecs(t, "Compliance Suite", Label(compliance.LabelCompliance))
}
