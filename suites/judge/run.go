package judge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// The run folder's names, as proxy/capture defines them.
const (
	CanariesName = capture.CanariesName
	StateDir     = capture.StateDir
)

// RunData is what one run of a scenario left behind.
type RunData struct {
	// Name is the run's name (policy.Run.Name); empty for a single run.
	Name string
	// Set is the canary set (policy.Run.Set); empty means "a".
	Set string
	// Exchanges are the captured exchanges, in sequence order, when the
	// caller holds them in memory (LoadRun, tests); Judge uses them when
	// Capture is empty.
	Exchanges []*capture.Exchange
	// Capture is the capture file that Judge streams the exchanges from
	// (OpenRun sets it); empty to use Exchanges.
	Capture string
	// Facts are run.json's facts; nil when unknown, which makes timing,
	// exit and run-window checks unobservable.
	Facts *capture.RunFacts
	// Stdout and Stderr are the tool's output; HaveLogs is false when they
	// were not captured, which makes log checks unobservable.
	Stdout, Stderr []byte
	HaveLogs       bool
	// Canaries are the values planted in this run.
	Canaries []canary.Canary
	// Egress is the run's egress.json: whether it ran sealed, its flows
	// and DNS questions; nil when unknown (egress is then unobservable).
	Egress *capture.Egress
	// State holds the tool's state files after the run, by the policy's
	// state names (the run folder's state/<name>); nil when none was kept.
	State map[string][]byte
	// Unverified says why Capture could not be proved to be the
	// recorder's (no integrity chain); empty when it was, or when the
	// exchanges are held in memory. A clause that would pass on such a
	// run is unobservable instead: the tool could have changed it.
	Unverified string
}

// OpenRuns opens the run folders of scenario sc, as the runner lays them
// out (its runs in the scenario's order, attempt after attempt: what
// compliance.ScenarioDirs lists), into the judge's input: each run named
// and given its canary set from the scenario, a later attempt's runs named
// attempt-K/RUN. It is the one way from run folders to an Input; run,
// replay, check and the specs use it, and adjust the runs after (the
// planted values a live runner holds, a --canaries file). A missing or
// unreadable folder is an error: a run that left nothing behind must not
// pass.
func OpenRuns(p *policy.Policy, sc *policy.Scenario, dirs []string) (Input, error) {
	in := Input{Policy: p, Scenario: sc.Name}
	runs := sc.RunsOf()
	if len(dirs) == 0 || len(dirs)%len(runs) != 0 {
		return in, fmt.Errorf("judge scenario %s: %d run folders for %d runs", sc.Name, len(dirs), len(runs))
	}
	for i, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			return in, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
		}
		r, err := OpenRun(d)
		if err != nil {
			return in, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
		}
		if len(sc.Runs) > 0 {
			r.Name, r.Set = runs[i%len(runs)].Name, runs[i%len(runs)].Set
		}
		// Every attempt is judged; their findings name the attempt.
		if k := i/len(runs) + 1; k > 1 {
			r.Name = strings.TrimSuffix(fmt.Sprintf("%s%d/%s", capture.AttemptPrefix, k, r.Name), "/")
		}
		in.Runs = append(in.Runs, r)
	}
	return in, nil
}

// LoadRun is OpenRun with every exchange read into RunData.Exchanges: for
// tests and small captures that a caller wants to look at. Judge does not
// need it.
func LoadRun(path string) (RunData, error) {
	r, err := OpenRun(path)
	if err != nil {
		return r, err
	}
	exs, err := capture.Load(r.Capture)
	if err != nil {
		return r, fmt.Errorf("load run %s: %w", path, err)
	}
	r.Exchanges, r.Capture = exs, ""
	return r, nil
}

// OpenRun reads what a run left behind except the exchanges, which Judge
// streams from RunData.Capture, so that memory does not grow with the capture:
// from a run folder its capture path (capture.jsonl, else capture.har),
// run.json, stdout, stderr and canaries.json and the state folder, each
// optional except the capture; from a .jsonl or .har file the capture
// alone. A capture cut mid-line is a harness error when it is read: a
// partial capture cannot prove that nothing else was sent.
func OpenRun(path string) (RunData, error) {
	var r RunData
	c, err := capture.CaptureFile(path)
	if err != nil {
		return r, fmt.Errorf("load run %s: %w", path, err)
	}
	r.Capture = c
	// The capture must be the recorder's, line for line: a broken chain is
	// a harness error; no chain at all (an older capture) is judged, but
	// never passes.
	switch err := capture.Verify(c); {
	case errors.Is(err, capture.ErrNoIntegrity):
		r.Unverified = err.Error()
	case err != nil:
		return r, fmt.Errorf("load run %s: %w", path, err)
	}
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
	stdout, errOut := os.ReadFile(filepath.Join(path, capture.StdoutName))
	stderr, errErr := os.ReadFile(filepath.Join(path, capture.StderrName))
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

// EachExchange hands fn every exchange of the run: from Exchanges when
// Capture is empty, else streamed from the capture file (completion order,
// see capture.ScanJSONL), so that only one exchange is held at a time.
func (r *RunData) EachExchange(fn func(*capture.Exchange) error) error {
	if r.Capture == "" {
		for _, ex := range r.Exchanges {
			if err := fn(ex); err != nil {
				return err
			}
		}
		return nil
	}
	if err := capture.ScanFile(r.Capture, fn); err != nil {
		return fmt.Errorf("read capture %s: %w", r.Capture, err)
	}
	return nil
}
