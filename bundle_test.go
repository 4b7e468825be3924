package telemetryharness_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	telemetryharness "github.com/telemetry-harness/telemetry-harness"
)

// TestReferenceUnittest runs the reference implementation's own Python
// tests (hashes against the research note's worked example, the byte-exact
// body, gate and log lines, every mutant), so `go test ./...` covers them.
func TestReferenceUnittest(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found: the reference implementation's tests need it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", "-m", "unittest", "discover", "-s", filepath.Join("fixtures", "reference"))
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest discover -s fixtures/reference: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OK") {
		t.Fatalf("unittest printed no OK line:\n%s", out)
	}
	t.Logf("%s", lastLines(string(out), 3))
}

// TestExtract checks that the embedded bundle holds what `run` needs by
// default, including the __init__.py files Python imports need.
func TestExtract(t *testing.T) {
	dir := t.TempDir()
	if err := telemetryharness.Extract(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"policy.yaml", "policy.schema.json",
		"fixtures/reference/pants.py",
		"fixtures/reference/shim/pants/engine/goal.py",
		"fixtures/reference/shim/pants/__init__.py",
		"fixtures/repos/pants-basic/pants.toml",
		"fixtures/repos/pants-basic/pants-plugins/canary_goals/__init__.py",
		"fixtures/mutants/manifest.yaml",
	} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("bundle lacks %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "fixtures/reference/shim/pants/__pycache__")); err == nil {
		t.Errorf("bundle extracted a __pycache__ folder")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
