package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
			return
		}
	}
	// The bisection's runs reuse the first runs' working paths: they run
	// in this scenario's turn of the pool again.
	sem <- struct{}{}
	defer func() { <-sem }()
	if err := attribute(ctx, opts, sc, log, res, fresh, tmp, runDirsOf(same.Runs), runDirsOf(replaced.Runs)); err != nil {
		res.Err = fmt.Errorf("scenario %s: differential, naming the roles: %w", sc.Name, err)
	}
}

// AttributionName is the file, in a scenario's differential folder, that
// names the planted roles moving each position the replaced-value runs
// moved: a JSON object from "<run>\x00<position>" to roles.
const AttributionName = "attribution.json"

// maxAttributionRuns bounds the bisection's extra runs per scenario; the
// positions still unattributed then name every candidate role.
const maxAttributionRuns = 12

// attribute names the roles that move each position the replaced-value
// runs moved, by bisecting over the scenario's planted roles: each step
// runs the scenario again with half of the candidate roles replaced. A
// position that depends on roles in both halves is named under the first.
func attribute(ctx context.Context, opts Options, sc *policy.Scenario, log *logger, res *Result, fresh *sets, tmp map[string]string, same, replaced []string) error {
	if opts.Moved == nil {
		return nil
	}
	held := res.Held()
	base := runDirsOf(res.Runs[:min(len(res.Runs), len(sc.RunsOf()))])
	moved, err := opts.Moved(sc, base, same, replaced, held)
	if err != nil || len(moved) == 0 {
		return err
	}
	var roles []string
	for _, r := range sc.Canaries {
		if plan, ok := opts.Policy.CanaryPlan(r); ok && plan.Plant != policy.PlantWorkdir && plan.Plant != policy.PlantCommand {
			roles = append(roles, r)
		}
	}
	out := map[string][]string{}
	runs := 0
	dir := filepath.Join(opts.Out, sc.Name, capture.DifferentialDir)
	var step func(cands []string, pos []string) error
	step = func(cands []string, pos []string) error {
		if len(pos) == 0 {
			return nil
		}
		if len(cands) == 1 || runs >= maxAttributionRuns {
			for _, p := range pos {
				out[p] = cands
			}
			return nil
		}
		half := cands[:len(cands)/2]
		runs++
		sub := map[string]bool{}
		for _, r := range half {
			sub[r] = true
		}
		r := &Result{Scenario: sc.Name}
		rdir := filepath.Join(dir, fmt.Sprintf("roles-%d", runs))
		err := runAttempt(ctx, opts, sc, sc.RunsOf(), rdir, res.sets.mixed(fresh, sub, tmp), nil, log.prefixed(fmt.Sprintf("differential, roles %s replaced: ", strings.Join(half, ", "))), r)
		res.Differential = append(res.Differential, r.Runs...)
		if err != nil {
			return err
		}
		for d, h := range r.Held() {
			held[d] = h
		}
		m, err := opts.Moved(sc, base, same, runDirsOf(r.Runs), held)
		if err != nil {
			return err
		}
		in := map[string]bool{}
		for _, p := range m {
			in[p] = true
		}
		var first, rest []string
		for _, p := range pos {
			if in[p] {
				first = append(first, p)
			} else {
				rest = append(rest, p)
			}
		}
		if err := step(half, first); err != nil {
			return err
		}
		return step(cands[len(cands)/2:], rest)
	}
	if len(roles) == 0 {
		return nil
	}
	if err := step(roles, moved); err != nil {
		return err
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", AttributionName, err)
	}
	if err := os.WriteFile(filepath.Join(dir, AttributionName), b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", AttributionName, err)
	}
	return nil
}

func runDirsOf(rs []RunResult) []string {
	out := make([]string, len(rs))
	for i, rr := range rs {
		out[i] = rr.Dir
	}
	return out
}
