package policy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must return a policy or
// an error, never panic or hang.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../../fixtures/policies/*/*.yaml")
	seeds = append(seeds, "../../policy.yaml", "../../fixtures/policies/acme.yaml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("version: 1\nclauses: [{id: a.b, checks: [{kind: run-id, time_pattern: '(', slack: 1x}]}]\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policy.Parse(data, "fuzz.yaml")
		if err == nil && p == nil {
			t.Fatal("nil policy without an error")
		}
	})
}
