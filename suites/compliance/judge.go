package compliance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/differential"
	"github.com/telemetry-harness/telemetry-harness/suites/envsweep"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// ScenarioDirs lists the run folders of scenario sc under out, in the
// scenario's run order: out/<scenario> for a single run, else
// out/<scenario>/<run>; then those of a best-effort scenario's later
// attempts (scenario.AttemptDirs).
func ScenarioDirs(sc *policy.Scenario, out string) []string {
	return scenario.AttemptDirs(sc, out)
}

// JudgeDirs judges scenario sc from its run folders (as ScenarioDirs lists
// them). A missing or unreadable folder is an error: a run that left
// nothing behind cannot be judged compliant.
func JudgeDirs(p *policy.Policy, sc *policy.Scenario, dirs []string) (*judge.Result, error) {
	return JudgeRunsWith(p, sc, dirs, nil, nil)
}

// JudgeRuns is JudgeDirs with what the runner of a live run holds in memory:
// held maps a run folder to its planted values and integrity chain, which
// replace the folder's canaries.json and integrity.json (files on disk are
// evidence a tool might have reached, and are written only once every tool
// is gone; the values in this process are not). Folders missing from held
// use their files.
func JudgeRuns(p *policy.Policy, sc *policy.Scenario, dirs []string, held map[string]scenario.Held) (*judge.Result, error) {
	return JudgeRunsWith(p, sc, dirs, held, nil)
}

// JudgeRunsWith is JudgeRuns that also searches the scenario's traffic for
// the values the other scenarios planted (judge.Input.Elsewhere).
func JudgeRunsWith(p *policy.Policy, sc *policy.Scenario, dirs []string, held map[string]scenario.Held, elsewhere *judge.Elsewhere) (*judge.Result, error) {
	in, err := judge.OpenRuns(p, sc, dirs)
	if err != nil {
		return nil, err
	}
	in.Elsewhere = elsewhere
	// The reports list what this pass reads (reports.Attach).
	in.Listing = true
	attempts := len(dirs) / len(sc.RunsOf())
	for i, d := range dirs {
		h, ok := held[d]
		if !ok {
			continue
		}
		r := &in.Runs[i]
		r.Canaries = h.Canaries
		if h.Integrity != nil && r.Capture != "" {
			if err := capture.VerifyWith(r.Capture, h.Integrity); err != nil {
				return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
			}
			r.Unverified = ""
		}
	}
	if in.Differential, err = differentialOf(p, sc, dirs, held); err != nil {
		return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
	}
	res, err := judge.Judge(in)
	if err != nil {
		return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
	}
	if attempts > 1 {
		res.Attempts = attempts
	}
	base := dirs[0]
	if len(sc.Runs) > 0 {
		base = filepath.Dir(base)
	}
	if d := sc.Diagnostic; d != nil && d.Compare != "" && res.Diagnostic != nil {
		compareDiagnostic(p, d, filepath.Dir(base), res.Diagnostic)
	}
	if res.Sweep, err = envsweep.ReadRecord(base); err != nil {
		return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
	}
	if sc.Sweep.Swept() && res.Sweep == nil {
		return nil, fmt.Errorf("judge scenario %s: its environment sweep left no %s in %s; run the scenario again", sc.Name, envsweep.RecordName, base)
	}
	return res, nil
}

// PlantedIn gathers the values a scenario planted: those the runner holds
// for a run folder (held, live runs), else the folder's canaries.json; a
// folder with neither contributes nothing (the scenario's own judging
// reports it).
func PlantedIn(name string, dirs []string, held map[string]scenario.Held) (judge.Planted, error) {
	pl := judge.Planted{Scenario: name}
	for _, d := range dirs {
		if h, ok := held[d]; ok {
			pl.Canaries = append(pl.Canaries, h.Canaries...)
			continue
		}
		cs, err := canary.ReadFile(filepath.Join(d, judge.CanariesName))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return pl, fmt.Errorf("values planted in scenario %s: %w", name, err)
		}
		pl.Canaries = append(pl.Canaries, cs...)
	}
	return pl, nil
}

// differentialOf compares the scenario's differential runs with its first
// attempt's runs; nil when the scenario has none (run without
// --differential, or a scenario that sent nothing).
func differentialOf(p *policy.Policy, sc *policy.Scenario, dirs []string, held map[string]scenario.Held) (*judge.Differential, error) {
	base := filepath.Dir(dirs[0])
	if len(sc.Runs) > 0 {
		base = filepath.Dir(base)
	}
	same, replaced := scenario.DifferentialDirs(sc, base)
	if _, err := os.Stat(same[0]); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	// The runner's bisection, when it made one, names the roles that move
	// each position: <scenario>/differential/attribution.json.
	attribution := map[string][]string{}
	path := filepath.Join(base, sc.Name, capture.DifferentialDir, scenario.AttributionName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &attribution); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	runs, err := differentialRuns(sc, dirs, same, replaced, held)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		runs[i].Roles, runs[i].Attribution = sc.Canaries, attribution
	}
	return differential.Compare(p, runs, differential.Options{BestEffort: sc.AttemptsOf() > 1})
}

// Moved is scenario.Options.Moved for policy p: the positions of candidate
// that moved with the planted values without a declaration, compared with
// the scenario's first runs (base) and its identical-input runs (same).
func Moved(p *policy.Policy) func(sc *policy.Scenario, base, same, candidate []string, held map[string]scenario.Held) ([]string, error) {
	return func(sc *policy.Scenario, base, same, candidate []string, held map[string]scenario.Held) ([]string, error) {
		runs, err := differentialRuns(sc, base, same, candidate, held)
		if err != nil {
			return nil, err
		}
		return differential.Moved(p, runs, differential.Options{BestEffort: sc.AttemptsOf() > 1})
	}
}

// differentialRuns pairs the scenario's runs in its base, identical-input
// and replaced-value folders (each in the scenario's run order), with what
// the runner holds for each folder.
func differentialRuns(sc *policy.Scenario, base, same, replaced []string, held map[string]scenario.Held) ([]differential.Triple, error) {
	folder := func(d string) differential.Folder {
		f := differential.Folder{Dir: d}
		if h, ok := held[d]; ok {
			f.Canaries, f.Integrity = h.Canaries, h.Integrity
		}
		return f
	}
	var runs []differential.Triple
	for i, r := range sc.RunsOf() {
		if i >= len(base) || i >= len(same) || i >= len(replaced) {
			return nil, fmt.Errorf("differential: scenario %s: %d base, %d identical and %d replaced run folders for %d runs", sc.Name, len(base), len(same), len(replaced), len(sc.RunsOf()))
		}
		dr := differential.Triple{Base: folder(base[i]), Same: folder(same[i]), Replaced: folder(replaced[i])}
		if len(sc.Runs) > 0 {
			dr.Name = r.Name
		}
		runs = append(runs, dr)
	}
	return runs, nil
}

// compareDiagnostic compares a diagnostic mode's printout with what the
// scenario it names sent (its run folders under out, the same output
// folder); a scenario that was not run, or not read, is noted, not judged.
func compareDiagnostic(p *policy.Policy, d *policy.Diagnostic, out string, diag *judge.Diagnostic) {
	other, err := p.Scenario(d.Compare)
	if err != nil {
		diag.Compared, diag.CompareNote = d.Compare, err.Error()
		return
	}
	dirs := ScenarioDirs(other, out)
	if _, err := os.Stat(dirs[0]); err != nil {
		diag.Compared, diag.CompareNote = d.Compare, "it was not run in this output folder"
		return
	}
	sent, err := judge.SentEvents(p, dirs, d.Items)
	if err != nil {
		diag.Compared, diag.CompareNote = d.Compare, err.Error()
		return
	}
	diag.CompareWith(d.Compare, sent)
}
