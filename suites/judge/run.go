package judge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
)

// CanariesName is the file name of the planted canaries in a run folder.
const CanariesName = "canaries.json"

// StateDir is the folder of a run folder holding the tool's state files,
// one file per policy state name.
const StateDir = "state"

// LoadRun reads what a run left behind: from a run folder its capture
// (capture.jsonl, else capture.har), run.json, stdout, stderr and
// canaries.json and the state folder, each optional except the capture; from a .jsonl or .har
// file the capture alone. A capture cut mid-line is a harness error: a
// partial capture cannot prove that nothing else was sent.
func LoadRun(path string) (Run, error) {
	var r Run
	exs, err := capture.Load(path)
	if err != nil {
		return r, fmt.Errorf("load run %s: %w", path, err)
	}
	r.Exchanges = exs
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return r, nil
	}
	if _, err := os.Stat(filepath.Join(path, capture.RunName)); err == nil {
		facts, err := capture.ReadRun(path)
		if err != nil {
			return r, fmt.Errorf("load run %s: %w", path, err)
		}
		r.Facts = facts
	}
	switch e, err := capture.ReadEgress(path); {
	case err == nil:
		r.Egress = e
	case !errors.Is(err, fs.ErrNotExist):
		return r, fmt.Errorf("load run %s: %w", path, err)
	}
	stdout, errOut := os.ReadFile(filepath.Join(path, "stdout"))
	stderr, errErr := os.ReadFile(filepath.Join(path, "stderr"))
	switch {
	case errOut == nil && errErr == nil:
		r.Stdout, r.Stderr, r.HaveLogs = stdout, stderr, true
	case errOut != nil && !errors.Is(errOut, fs.ErrNotExist):
		return r, fmt.Errorf("load run %s: %w", path, errOut)
	case errErr != nil && !errors.Is(errErr, fs.ErrNotExist):
		return r, fmt.Errorf("load run %s: %w", path, errErr)
	}
	// The tool's state files, which the runner copied after the run (the
	// salt the hash oracle needs lives there for tools with a local salt).
	entries, err := os.ReadDir(filepath.Join(path, StateDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return r, fmt.Errorf("load run %s: %w", path, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(path, StateDir, e.Name()))
		if err != nil {
			return r, fmt.Errorf("load run %s: %w", path, err)
		}
		if r.State == nil {
			r.State = map[string][]byte{}
		}
		r.State[e.Name()] = b
	}
	cp := filepath.Join(path, CanariesName)
	if _, err := os.Stat(cp); err == nil {
		cs, err := canary.ReadFile(cp)
		if err != nil {
			return r, fmt.Errorf("load run %s: %w", path, err)
		}
		r.Canaries = cs
	}
	return r, nil
}
