package scenario

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// pinnedGitDates fix the dates of commits the prepare commands make.
var pinnedGitDates = []string{"GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z"}

// DifferentialDirs are the run folders of scenario sc's differential runs
// under out: those with identical inputs, then those with replaced values,
// each in the scenario's run order; nil when there are none.
func DifferentialDirs(sc *policy.Scenario, out string) (same, replaced []string) {
	base := filepath.Join(out, sc.Name, capture.DifferentialDir)
	return runDirs(sc, filepath.Join(base, capture.SameDir)), runDirs(sc, filepath.Join(base, capture.ReplacedDir))
}

// sent reports whether any run of the result sent anything.
func sent(res *Result) bool {
	for _, rr := range res.Runs {
		if rr.Run != nil && rr.Run.Exchanges > 0 {
			return true
		}
	}
	return false
}

// differential makes a scenario's differential runs, once its own runs
// are done: the identical-input runs in the scenario's pool slot (they
// reuse its working paths, so they come after it), the replaced-value runs
// in a slot of their own; release gives the scenario's slot back before
// waiting, so that the pool never waits on itself.
func differential(ctx context.Context, opts Options, sc *policy.Scenario, log *logger, res *Result, sem chan struct{}, release func()) {
	switch {
	case res == nil || res.sets == nil || res.Err != nil:
		return // the scenario's own error says why
	case sc.Sweep != nil:
		res.DifferentialNote = "an environment sweep plants its own values in every run"
		return
	case !sent(res):
		res.DifferentialNote = "the scenario sent nothing"
		return
	case opts.Keep:
		// The kept working folders occupy the paths the identical runs need.
		res.DifferentialNote = "--keep keeps the working paths an identical rerun needs"
		return
	}
	runs := sc.RunsOf()
	first := res.Runs[:min(len(res.Runs), len(runs))]
	tmp := map[string]string{}
	for _, rr := range first {
		tmp[rr.Name] = rr.tmp
	}
	fresh, err := newSets(opts.Policy, sc)
	if err != nil {
		res.Err = fmt.Errorf("scenario %s: differential: %w", sc.Name, err)
		return
	}
	base := filepath.Join(opts.Out, sc.Name, capture.DifferentialDir)
	replaced := &Result{Scenario: sc.Name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sem <- struct{}{}
		defer func() { <-sem }()
		replaced.Err = runAttempt(ctx, opts, sc, runs, filepath.Join(base, capture.ReplacedDir), fresh, nil, log.prefixed("differential, replaced values: "), replaced)
	}()
	same := &Result{Scenario: sc.Name}
	same.Err = runAttempt(ctx, opts, sc, runs, filepath.Join(base, capture.SameDir), res.sets.again(tmp), nil, log.prefixed("differential, identical inputs: "), same)
	release()
	<-done
	res.Differential = append(same.Runs, replaced.Runs...)
	for _, e := range []error{same.Err, replaced.Err} {
		if e != nil {
			res.Err = fmt.Errorf("scenario %s: differential: %w", sc.Name, e)
		}
	}
}
