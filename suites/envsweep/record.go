package envsweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// RecordName is the sweep's record in a scenario's folder.
const RecordName = "sweep.json"

// Changed is a variable whose planting changed the tool's behaviour.
type Changed struct {
	Name string `json:"name"`
	// Why says how: "exit 1 instead of success", "sent nothing".
	Why string `json:"why"`
}

// Record is what a sweep did, for the report and for replay.
type Record struct {
	// Summary is Names.Summary.
	Summary string `json:"summary"`
	// Swept counts the variables planted in the full run.
	Swept int `json:"swept"`
	// Config counts the config sweep's values and member names planted
	// in the full run (config-sweep:FILE:PATH).
	Config int `json:"config,omitempty"`
	// Sources counts names by source.
	Sources map[Source]int `json:"sources"`
	// Roots are the tool's code folders read.
	Roots []string `json:"roots"`
	// Excluded are names never planted (unsafe or excluded by the policy).
	Excluded []string `json:"excluded,omitempty"`
	// Changed are the variables whose planting changed the tool's
	// behaviour; the sweep's last run went without them.
	Changed []Changed `json:"changed,omitempty"`
	// Notes say what the sweep could not settle (a breaker it could not
	// narrow down within its runs, a scenario broken without the sweep).
	Notes []string `json:"notes,omitempty"`
	// Runs counts the runs the sweep made.
	Runs int `json:"runs"`
}

// WriteRecord writes dir/sweep.json.
func WriteRecord(dir string, r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", RecordName, err)
	}
	if err := os.WriteFile(filepath.Join(dir, RecordName), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", RecordName, err)
	}
	return nil
}

// ReadRecord reads dir/sweep.json; nil, nil when there is none.
func ReadRecord(dir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, RecordName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RecordName, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w; the file is corrupt: run the scenario again", filepath.Join(dir, RecordName), err)
	}
	return &r, nil
}
