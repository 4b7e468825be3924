// Package telemetryharness bundles the data the harness needs to run its
// default job anywhere: the shipped policy, its schema, the reference
// implementation, the scenario repos and the mutant manifest. A binary built
// with `go install` carries them, so `telemetry-harness run` needs no
// checkout, only python3.
package telemetryharness

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// all: keeps the plugin and shim __init__.py files, which Python needs.
//
//go:embed policy.yaml policy.schema.json all:fixtures/reference all:fixtures/repos fixtures/mutants
var bundle embed.FS

// Bundle is the embedded file tree, rooted like the repository.
func Bundle() fs.FS { return bundle }

// Extract writes the bundle into dir (created if needed), leaving out Python
// bytecode caches, and returns dir. The result is rooted like the
// repository, so policy paths such as fixtures/repos/pants-basic resolve
// against it.
func Extract(dir string) error {
	err := fs.WalkDir(bundle, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			return fs.SkipDir
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := bundle.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".py") {
			mode = 0o755
		}
		return os.WriteFile(dst, b, mode)
	})
	if err != nil {
		return fmt.Errorf("extract bundled fixtures to %s: %w", dir, err)
	}
	return nil
}
