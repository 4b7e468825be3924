package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Run-folder names, as proxy/capture defines them: the planted canaries,
// and the folder holding the tool's state files.
const (
	CanariesName = capture.CanariesName
	StateDir     = capture.StateDir
)

// DefaultParallel is how many scenarios RunAll runs at once by default.
// Runs mostly wait (tool start-up, late senders, settle), so more than the
// 2 cores of a typical CI runner pays: a full run against the reference
// took 9.3 s at 4 against 10.6 s at 2 (docs/performance.md).
const DefaultParallel = 4

// Options configure a scenario runner. Every zero value has a documented
// default.
type Options struct {
	// Policy holds the scenarios and the canary plan. Required.
	Policy *policy.Policy
	// Tool is the tool words (e.g. {"python3", "/abs/fixtures/reference/pants.py"});
	// the scenario's goals and arguments follow them. Relative paths in it
	// resolve against the repo copy, so callers pass them through
	// ResolveTool first. Required.
	Tool []string
	// Root is the folder relative scenario repos resolve against (the
	// repository root or an extracted embed); empty means the current
	// directory.
	Root string
	// Out is the output folder: runs go to <Out>/<scenario>[/<run>].
	// Required.
	Out string
	// Settle, Timeout and IdleStop shape the wait for late senders (see
	// session.Options): no settle window, session.DefaultTimeout, no idle
	// stop by default.
	Settle, Timeout, IdleStop time.Duration
	// PassEnv names harness variables copied to the tool as they are.
	PassEnv []string
	// Parallel is how many scenarios RunAll runs at once; zero means
	// DefaultParallel.
	Parallel int
	// Keep keeps each run's temporary folder (repo copy and HOME) so the
	// tool can be rerun by hand (RunResult.Rerun); false removes them.
	Keep bool
	// Log receives one progress line per run; nil discards.
	Log io.Writer
	// Seal is the seal mode of every run (session.Options.Seal): auto (the
	// default, ""), on or off. A sealed run sets the host and node canaries
	// inside its namespace; egress.json says whether each run was sealed.
	Seal string
	// NoKeyLog leaves sslkeys.log out of sealed runs (session.Options.NoKeyLog).
	NoKeyLog bool
	// Enough decides, after each attempt of a best-effort scenario
	// (policy.Delivery), whether the evidence its clauses need arrived in
	// the run folders so far (ScenarioDirs order), with what the runner
	// still holds in memory for them (held; see writeEvidence); it returns
	// what is missing, or "" to stop. Nil runs every scenario once.
	Enough func(sc *policy.Scenario, dirs []string, held map[string]Held) (missing string, err error)
	// Differential runs every scenario that sent anything twice more, into
	// <scenario>/differential/same and .../replaced: with identical inputs,
	// and with every planted value replaced (suites/differential compares
	// them). The extra runs share the Parallel pool.
	Differential bool
	// Moved compares a differential run with the scenario's first runs
	// (base) and its identical-input runs (same): it returns the value
	// positions of candidate that moved without a declaration, each keyed
	// "<run>\x00<position>". The runner then names the roles that move
	// each position of the replaced-value runs by bisecting over the roles
	// (AttributionName). Nil skips the attribution.
	Moved func(sc *policy.Scenario, base, same, candidate []string, held map[string]Held) ([]string, error)
}

// logger serialises progress lines from concurrent scenarios; prefixed
// loggers share their parent's lock.
type logger struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
}

func newLogger(w io.Writer) *logger { return &logger{mu: &sync.Mutex{}, w: w} }

// prefixed is a logger that starts every line with p after the scenario
// name (lines start "<scenario>: ").
func (l *logger) prefixed(p string) *logger {
	return &logger{mu: l.mu, w: l.w, prefix: l.prefix + p}
}

func (l *logger) printf(format string, args ...any) {
	if l == nil || l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	line := fmt.Sprintf(format, args...)
	if l.prefix != "" {
		if name, rest, ok := strings.Cut(line, ": "); ok {
			line = name + ": " + l.prefix + rest
		}
	}
	fmt.Fprintln(l.w, line)
}

// RunAll runs the named scenarios (every scenario of the policy when names
// is empty), up to opts.Parallel at once, and returns their results in the
// order of names. A scenario that fails to run does not stop the others:
// its Result carries the error. The error is only for bad options or an
// unknown or repeated scenario name, in which case nothing runs.
func RunAll(ctx context.Context, opts Options, names []string) ([]*Result, error) {
	if err := check(opts); err != nil {
		return nil, err
	}
	var scs []*policy.Scenario
	if len(names) == 0 {
		for i := range opts.Policy.Scenarios {
			scs = append(scs, &opts.Policy.Scenarios[i])
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		// Two runs of one scenario at once would write one run folder.
		if seen[n] {
			return nil, fmt.Errorf("run scenarios: scenario %s named twice; name each scenario once", n)
		}
		seen[n] = true
		sc, err := opts.Policy.Scenario(n)
		if err != nil {
			return nil, fmt.Errorf("run scenarios: %w", err)
		}
		scs = append(scs, sc)
	}
	par := opts.Parallel
	if par <= 0 {
		par = DefaultParallel
	}
	log := newLogger(opts.Log)
	results := make([]*Result, len(scs))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, sc := range scs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			var once sync.Once
			release := func() { once.Do(func() { <-sem }) }
			defer release()
			results[i] = run(ctx, opts, sc, log)
			if opts.Differential {
				differential(ctx, opts, sc, log, results[i], sem, release)
			}
		}()
	}
	wg.Wait()
	writeEvidence(results)
	return results, nil
}

// Run runs every run of one scenario in order and returns its result; the
// error is the result's Err (or bad options, when the result is nil).
func Run(ctx context.Context, opts Options, sc *policy.Scenario) (*Result, error) {
	if err := check(opts); err != nil {
		return nil, err
	}
	if sc == nil {
		return nil, errors.New("run scenario: no scenario given")
	}
	log := newLogger(opts.Log)
	res := run(ctx, opts, sc, log)
	if opts.Differential {
		sem := make(chan struct{}, 1)
		sem <- struct{}{}
		differential(ctx, opts, sc, log, res, sem, func() { <-sem })
	}
	writeEvidence([]*Result{res})
	return res, res.Err
}

// check validates the options both entry points share.
func check(opts Options) error {
	switch {
	case opts.Policy == nil:
		return errors.New("run scenarios: no policy given")
	case len(opts.Tool) == 0 || opts.Tool[0] == "":
		return errors.New("run scenarios: no tool given; pass the tool words, e.g. python3 fixtures/reference/pants.py")
	case opts.Out == "":
		return errors.New("run scenarios: no output folder given")
	}
	if err := session.CheckSeal(opts.Seal); err != nil {
		return fmt.Errorf("run scenarios: %w", err)
	}
	return nil
}

// run runs one scenario's runs sequentially.
func run(ctx context.Context, opts Options, sc *policy.Scenario, log *logger) *Result {
	res := &Result{Scenario: sc.Name}
	runs := sc.RunsOf()
	sets, err := newSets(opts.Policy, sc)
	if err != nil {
		res.Err = fmt.Errorf("scenario %s: %w", sc.Name, err)
		log.printf("%s: %v", sc.Name, res.Err)
		return res
	}
	res.sets = sets
	base := filepath.Join(opts.Out, sc.Name)
	// Later attempts left by an earlier run into this output folder would
	// join this run's evidence.
	if err := os.RemoveAll(filepath.Join(base, capture.DifferentialDir)); err != nil {
		res.Err = fmt.Errorf("scenario %s: clear earlier differential runs: %w", sc.Name, err)
		return res
	}
	if old, err := filepath.Glob(filepath.Join(base, AttemptPrefix+"*")); err == nil {
		for _, d := range old {
			if err := os.RemoveAll(d); err != nil {
				res.Err = fmt.Errorf("scenario %s: clear an earlier attempt: %w", sc.Name, err)
				return res
			}
		}
	}
	for attempt := 1; ; attempt++ {
		dir := base
		if attempt > 1 {
			dir = filepath.Join(base, fmt.Sprintf("%s%d", AttemptPrefix, attempt))
		}
		res.Attempts = attempt
		if sc.Sweep.Swept() {
			// A sweep decides its own further runs.
			res.Err = runSweep(ctx, opts, sc, runs, base, sets, log, res)
			return res
		}
		if err := runAttempt(ctx, opts, sc, runs, dir, sets, nil, log, res); err != nil || attempt >= sc.AttemptsOf() || opts.Enough == nil {
			res.Err = err
			return res
		}
		missing, err := opts.Enough(sc, AttemptDirs(sc, opts.Out), res.Held())
		if err != nil {
			res.Err = fmt.Errorf("scenario %s: judge attempt %d: %w", sc.Name, attempt, err)
			return res
		}
		if missing == "" {
			return res
		}
		why := fmt.Sprintf("attempt %d of %d: %s", attempt, sc.AttemptsOf(), missing)
		res.Retries = append(res.Retries, why)
		log.printf("%s: %s; attempting again (best-effort delivery)", sc.Name, why)
	}
}

// runAttempt runs one attempt of a scenario's runs sequentially into dir
// (dir/<run> for a scenario with named runs), appending to res.Runs.
func runAttempt(ctx context.Context, opts Options, sc *policy.Scenario, runs []policy.Run, base string, sets *sets, swept []canary.Canary, log *logger, res *Result) error {
	var errs []error
	for _, r := range runs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("scenario %s: not run: %w", sc.Name, err))
			break
		}
		dir := base
		if len(sc.Runs) > 0 {
			dir = filepath.Join(dir, r.Name)
		}
		rr := runOne(ctx, opts, sc, r, dir, sets, swept)
		if len(res.Runs) == 0 {
			for _, n := range rr.Notes {
				log.printf("%s: %s", sc.Name, n)
			}
		}
		res.Runs = append(res.Runs, rr)
		log.printf("%s", progress(sc.Name, &rr, len(sc.Runs) > 0))
		if rr.Err != nil {
			where := "scenario " + sc.Name
			if len(sc.Runs) > 0 {
				where += ", run " + r.Name
			}
			errs = append(errs, fmt.Errorf("%s: %w", where, rr.Err))
			// The next runs would fail the same way; a timeout or crash of
			// one run says nothing about the next, so those go on.
			if errors.Is(rr.Err, session.ErrNotFound) || errors.Is(rr.Err, errToolWord) || ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}
