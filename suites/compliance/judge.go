package compliance

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// ScenarioDirs lists the run folders of scenario sc under out, in the
// scenario's run order: out/<scenario> for a single run, else
// out/<scenario>/<run>.
func ScenarioDirs(sc *policy.Scenario, out string) []string {
	base := filepath.Join(out, sc.Name)
	if len(sc.Runs) == 0 {
		return []string{base}
	}
	dirs := make([]string, 0, len(sc.Runs))
	for _, r := range sc.RunsOf() {
		dirs = append(dirs, filepath.Join(base, r.Name))
	}
	return dirs
}

// JudgeDirs judges scenario sc from its run folders (as ScenarioDirs lists
// them). A missing or unreadable folder is an error: a run that left
// nothing behind cannot be judged compliant.
func JudgeDirs(p *policy.Policy, sc *policy.Scenario, dirs []string) (*judge.Result, error) {
	runs := sc.RunsOf()
	if len(dirs) != len(runs) {
		return nil, fmt.Errorf("judge scenario %s: %d run folders for %d runs", sc.Name, len(dirs), len(runs))
	}
	in := judge.Input{Policy: p, Scenario: sc.Name}
	for i, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
		}
		r, err := judge.OpenRun(d)
		if err != nil {
			return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
		}
		if len(sc.Runs) > 0 {
			r.Name, r.Set = runs[i].Name, runs[i].Set
		}
		in.Runs = append(in.Runs, r)
	}
	res, err := judge.Judge(in)
	if err != nil {
		return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
	}
	return res, nil
}
