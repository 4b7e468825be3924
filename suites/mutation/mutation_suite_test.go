package mutation_test

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// TestMutation loads the policy and the mutant manifest before RunSpecs,
// because they decide which entries exist; the tools run in BeforeSuite.
func TestMutation(t *testing.T) {
	if testing.Short() {
		t.Skip("the mutation test runs every scenario for every mutant; skipped with -short")
	}
	RegisterFailHandler(Fail)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(filepath.Join(root, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	mutants, err := loadManifest(filepath.Join(root, "fixtures", "mutants", "manifest.yaml"), p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.MkdirTemp("", "mutation-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	cfg := benchConfig{Policy: p, Root: root, Out: out, Mutants: mutants}
	if d, ok := t.Deadline(); ok {
		cfg.Deadline = d
	}
	b, err := newBench(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.define()
	RunSpecs(t, "Mutation Suite")
}
