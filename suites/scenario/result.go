package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// What running a scenario gives (Result, RunResult), where its run folders are, and the evidence written once every tool is gone.

// Held is what the runner keeps in memory for a run folder until every tool
// of the invocation is gone (writeEvidence then writes it): the planted
// values and the capture's integrity chain.
type Held struct {
	Canaries  []canary.Canary
	Integrity *capture.Integrity
}

// Held maps each run folder of the result to what the runner holds for it.
func (r *Result) Held() map[string]Held {
	out := make(map[string]Held, len(r.Runs))
	for _, rr := range append(slices.Clone(r.Runs), r.Differential...) {
		h := Held{Canaries: rr.Canaries}
		if rr.Run != nil {
			h.Integrity = rr.Run.Integrity
		}
		out[rr.Dir] = h
	}
	return out
}

// AttemptPrefix names the folders of a best-effort scenario's later
// attempts (the run-folder contract's, capture.AttemptPrefix).
const AttemptPrefix = capture.AttemptPrefix

// AttemptDirs lists the run folders of scenario sc under out, in the
// scenario's run order, attempt after attempt: out/<scenario> (or
// out/<scenario>/<run>) for the first, then out/<scenario>/attempt-K[/<run>]
// for each later attempt that left a folder.
func AttemptDirs(sc *policy.Scenario, out string) []string {
	base := filepath.Join(out, sc.Name)
	dirs := runDirs(sc, base)
	for k := 2; k <= policy.MaxAttempts; k++ {
		a := filepath.Join(base, fmt.Sprintf("%s%d", AttemptPrefix, k))
		if st, err := os.Stat(a); err != nil || !st.IsDir() {
			break
		}
		dirs = append(dirs, runDirs(sc, a)...)
	}
	return dirs
}

// runDirs are the run folders of one attempt whose folder is base.
func runDirs(sc *policy.Scenario, base string) []string {
	if len(sc.Runs) == 0 {
		return []string{base}
	}
	dirs := make([]string, 0, len(sc.Runs))
	for _, r := range sc.RunsOf() {
		dirs = append(dirs, filepath.Join(base, r.Name))
	}
	return dirs
}

// Result is what running one scenario gave.
type Result struct {
	// Scenario is the scenario's name.
	Scenario string
	// Runs are the scenario's runs in policy order, as far as they went,
	// attempt after attempt for a best-effort scenario.
	Runs []RunResult
	// Attempts counts the attempts made (1 unless best-effort delivery
	// asked for more), and Retries says why each attempt after the first
	// was made.
	Attempts int
	Retries  []string
	// Differential are the differential runs (Options.Differential): the
	// identical-input runs, then the replaced-value runs, in run order;
	// DifferentialNote says why there are none when there could have been.
	Differential     []RunResult
	DifferentialNote string
	// sets are the scenario's planted values, which the identical-input
	// differential runs plant again.
	sets *sets
	// Err is set when a run could not be made or recorded (the tool was
	// not found, hung, crashed the harness...); it joins the runs' errors.
	// A tool that exits non-zero is not an error: that is a fact of the
	// run (Run.ExitCode) for the judge.
	Err error
}

// RunResult is one run of a scenario.
type RunResult struct {
	// Name and Set are the run's name and canary set (policy.Run).
	Name, Set string
	// Dir is the run folder: capture, stdout, stderr, run.json and
	// canaries.json.
	Dir string
	// Run holds the recorded facts; nil when the tool never started.
	Run *capture.RunFacts
	// Canaries are the values planted in this run.
	Canaries []canary.Canary
	// Notes say which listed canary roles could not be planted, and why.
	Notes []string
	// Workdir is the repo copy the tool ran in, and Home its HOME; both are
	// removed after the run unless Options.Keep is set.
	Workdir, Home string
	// Argv is the command line the tool ran with (tool words, goals,
	// arguments).
	Argv []string
	// Env is the tool's environment without the proxy and CA variables,
	// which pointed at the run's proxy and are gone with it: enough to
	// rerun the tool by hand (it then talks to the network directly, or,
	// wrapped in `telemetry-harness record`, through a new proxy).
	Env []string
	// Err is set when the run could not be made or recorded.
	Err error
	// evidence is set once the run folder exists: writeEvidence then
	// writes its canaries.json and integrity.json.
	evidence bool
	// tmp is the temporary folder holding the repo copy and HOME, so that
	// a differential rerun can use the same working path.
	tmp string
}

// writeEvidence writes what a tool must not reach while any tool of the
// invocation runs (scenarios run in parallel and in sequence, and every
// tool runs as the harness's user, so a later or concurrent tool could
// reach an earlier run's folder): each run's canaries.json, and its
// capture's integrity chain, whose key would let a tool rewrite the capture
// unnoticed. Call it once every run is over.
func writeEvidence(results []*Result) {
	for _, res := range results {
		if res == nil {
			continue
		}
		var errs []error
		all := make([]*RunResult, 0, len(res.Runs)+len(res.Differential))
		for i := range res.Runs {
			all = append(all, &res.Runs[i])
		}
		for i := range res.Differential {
			all = append(all, &res.Differential[i])
		}
		for _, rr := range all {
			if !rr.evidence {
				continue
			}
			var err error
			if werr := canary.WriteFile(filepath.Join(rr.Dir, CanariesName), rr.Canaries); werr != nil {
				err = fmt.Errorf("write %s: %w", CanariesName, werr)
			}
			if rr.Run != nil && rr.Run.Integrity != nil {
				if werr := capture.WriteIntegrity(rr.Dir, rr.Run.Integrity); werr != nil {
					err = errors.Join(err, werr)
				}
			}
			if err != nil {
				rr.Err = errors.Join(rr.Err, err)
				errs = append(errs, fmt.Errorf("scenario %s: %w", res.Scenario, err))
			}
		}
		res.Err = errors.Join(append([]error{res.Err}, errs...)...)
	}
}
