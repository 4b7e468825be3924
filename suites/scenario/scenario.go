package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy"
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
// attempts: <out>/<scenario>/attempt-2, attempt-3, ...
const AttemptPrefix = "attempt-"

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
	Run *capture.Run
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

// Rerun returns a shell line that runs the tool again by hand, in its kept
// working folder with its environment (see Env).
func (r *RunResult) Rerun() string {
	var b strings.Builder
	b.WriteString("cd ")
	b.WriteString(quote(r.Workdir))
	b.WriteString(" && env -i")
	for _, kv := range r.Env {
		b.WriteString(" ")
		b.WriteString(quote(kv))
	}
	for _, w := range r.Argv {
		b.WriteString(" ")
		b.WriteString(quote(w))
	}
	return b.String()
}

// RerunRecorded is a shell line that reruns the tool by hand the safe way:
// under `<harness> record` (sink mode, so nothing reaches the real
// endpoint), in the kept repo copy, with the run's environment (HOME
// excepted: record always gives a fresh one). Rerun, without the proxy,
// would let a real tool send a real report.
func (r *RunResult) RerunRecorded(harness, out string) string {
	var b strings.Builder
	b.WriteString("cd ")
	b.WriteString(quote(r.Workdir))
	b.WriteString(" && env -i")
	var pass []string
	for _, kv := range r.Env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" {
			continue
		}
		b.WriteString(" ")
		b.WriteString(quote(kv))
		if k != "PATH" && k != "LANG" && k != "TZ" && k != "TERM" {
			pass = append(pass, k)
		}
	}
	b.WriteString(" ")
	b.WriteString(quote(harness))
	b.WriteString(" record --out ")
	b.WriteString(quote(out))
	for _, k := range pass {
		b.WriteString(" --pass-env ")
		b.WriteString(quote(k))
	}
	b.WriteString(" --")
	for _, w := range r.Argv {
		b.WriteString(" ")
		b.WriteString(quote(w))
	}
	return b.String()
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

// progress is the one-line summary of a run.
func progress(scenario string, rr *RunResult, named bool) string {
	name := scenario
	if named {
		name += "/" + rr.Name
	}
	if rr.Run == nil {
		return fmt.Sprintf("%s: not run: %v", name, rr.Err)
	}
	line := fmt.Sprintf("%s: exit %d, %d exchange(s), %s", name, rr.Run.ExitCode, rr.Run.Exchanges,
		rr.Run.End.Sub(rr.Run.Start).Round(time.Millisecond))
	if rr.Run.TimedOut {
		line += ", timed out"
	}
	if rr.Err != nil {
		line += ": " + rr.Err.Error()
	}
	return line
}

// errToolWord is wrapped when a tool word names a file that does not exist.
var errToolWord = errors.New("tool file not found")

// runOne makes, records and cleans up one run; swept are an environment
// sweep's canaries (role policy.SweepRole:NAME), planted in variable NAME
// unless the scenario sets it already.
func runOne(ctx context.Context, opts Options, sc *policy.Scenario, r policy.Run, dir string, sets *sets, swept []canary.Canary) RunResult {
	rr := RunResult{Name: r.Name, Set: r.Set, Dir: dir}
	if err := checkTool(opts.Tool); err != nil {
		rr.Err = err
		return rr
	}
	vals, err := sets.values(r.Set)
	if err != nil {
		rr.Err = err
		return rr
	}
	rr.Canaries, rr.Notes = vals.canaries, vals.notes

	tmp, err := sets.tempDir(r.Name)
	if err != nil {
		rr.Err = fmt.Errorf("make temporary folder: %w", err)
		return rr
	}
	rr.tmp = tmp
	if !opts.Keep {
		defer os.RemoveAll(tmp)
	}
	sb, err := prepare(opts, sc, vals, tmp)
	if err != nil {
		rr.Err = err
		return rr
	}
	rr.Canaries = append(slices.Clone(rr.Canaries), plantSwept(sb, swept)...)
	inConfig, err := plantConfig(sb.workdir, swept)
	if err != nil {
		rr.Err = err
		return rr
	}
	rr.Canaries = append(rr.Canaries, inConfig...)
	rr.Workdir, rr.Home = sb.workdir, sb.home
	rr.Argv = append(append([]string(nil), opts.Tool...), sb.words...)
	rr.Env, err = rerunEnv(sb, opts.PassEnv, HostFacts(sc))
	if err != nil {
		rr.Err = err
		return rr
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		rr.Err = fmt.Errorf("create run folder: %w", err)
		return rr
	}
	// The planted values stay in this process while any tool can run: a
	// tool that could read canaries.json could swap a value for a decoy and
	// then send the real one. writeEvidence writes the file once every run
	// of the invocation is over; a stale one from a reused folder goes
	// first.
	if err := os.Remove(filepath.Join(dir, CanariesName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		rr.Err = fmt.Errorf("clear %s: %w", CanariesName, err)
		return rr
	}
	rr.evidence = true
	// Clear what an earlier run left in a reused run folder: a stale state
	// file would hand the oracle another run's salt.
	if err := os.RemoveAll(filepath.Join(dir, StateDir)); err != nil {
		rr.Err = fmt.Errorf("clear %s: %w", StateDir, err)
		return rr
	}
	so := session.Options{
		Dir: sb.workdir, Home: sb.home, User: sb.user, Env: sb.env, PassEnv: opts.PassEnv,
		Answers: answers(opts.Policy, r.Sink),
		Settle:  opts.Settle, Timeout: opts.Timeout, IdleStop: opts.IdleStop,
		Seal: opts.Seal, NoKeyLog: opts.NoKeyLog, Hostname: sets.hostname, MAC: sets.mac,
		Host: HostFacts(sc),
		Hide: hideable(opts, sb),
	}
	// Commits the prepare commands make get fixed dates, so that runs with
	// identical inputs make identical commit ids (a differential run
	// compares them; the tool itself never sees these variables).
	so.Env = append(slices.Clone(sb.env), pinnedGitDates...)
	for i, argv := range sb.prepare {
		so.Argv, so.Out = argv, filepath.Join(dir, "prepare", fmt.Sprint(i+1))
		run, err := session.Record(ctx, so)
		if err != nil {
			rr.Err = fmt.Errorf("prepare command %d (%s): %w", i+1, strings.Join(argv, " "), err)
			return rr
		}
		if run.ExitCode != 0 {
			rr.Err = fmt.Errorf("prepare command %d (%s) exited %d; see %s", i+1, strings.Join(argv, " "), run.ExitCode, so.Out)
			return rr
		}
	}
	// Values read off the prepared repo copy join the planted ones before
	// the tool runs, so the list is complete even if the run fails.
	more, err := recorded(ctx, opts.Policy, sc, sb)
	if err != nil {
		rr.Err = err
		return rr
	}
	if len(more) > 0 {
		rr.Canaries = append(slices.Clone(rr.Canaries), more...)
	}
	so.Argv, so.Out, so.Env = rr.Argv, dir, sb.env
	so.HoldEvidence = true // see writeEvidence
	rr.Run, rr.Err = session.Record(ctx, so)
	if rr.Err != nil {
		rr.Err = fmt.Errorf("tool %s: %w", strings.Join(opts.Tool, " "), rr.Err)
	}
	if err := copyState(opts.Policy, sb, dir); err != nil {
		rr.Err = errors.Join(rr.Err, err)
	}
	if err := unsealed(opts.Policy, &rr); err != nil {
		rr.Err = errors.Join(rr.Err, err)
	}
	return rr
}

// hideable is the output folder when a sealed run may cover it from the
// tool (session.Options.Hide): not when the tool's own files live under it
// (its repo copy, HOME, the temporary folder with the CA bundle, a tool word
// that is a path), which the cover would hide too.
func hideable(opts Options, sb *sandbox) []string {
	needed := []string{sb.workdir, sb.home}
	for _, w := range opts.Tool {
		if filepath.IsAbs(w) {
			needed = append(needed, w)
		}
	}
	return session.HideOutput(opts.Out, needed...)
}

// checkTool reports a tool word that is an absolute path to nothing, such as
// a mistyped script path after "python3": the interpreter would start and
// fail, which would look like the tool failing rather than the harness
// being misconfigured.
func checkTool(words []string) error {
	for _, w := range words[1:] {
		if filepath.IsAbs(w) {
			if _, err := os.Stat(w); err != nil {
				return fmt.Errorf("tool %s: %w: %s; check the --tool words", strings.Join(words, " "), errToolWord, w)
			}
		}
	}
	return nil
}

// HostFacts are the host facts a scenario pins: its host block, every
// omitted fact a plain developer machine's. Every scenario runs on a
// pinned host, so that its verdict does not depend on the machine the
// harness runs on.
func HostFacts(sc *policy.Scenario) *capture.Host {
	h := capture.Host{Container: sc.Host.Container, CI: sc.Host.CI, TTY: sc.Host.TTY, Locale: sc.Host.Locale, Timezone: sc.Host.Timezone}.WithDefaults()
	return &h
}

// answers is how the sink answers the policy's endpoint in one run; nil
// (200 `{}` for every host) when the run asks for nothing special.
func answers(p *policy.Policy, s *policy.Sink) map[string]proxy.Answer {
	if s == nil || *s == (policy.Sink{}) {
		return nil
	}
	return map[string]proxy.Answer{p.Endpoint.Host: {Status: s.Status, Delay: s.Delay.D(), Refuse: s.Refuse}}
}

// rerunEnv is the tool's environment without the variables that pointed at
// the run's proxy and CA bundle.
func rerunEnv(sb *sandbox, passEnv []string, host *capture.Host) ([]string, error) {
	env, err := session.BuildEnv(session.EnvOptions{ProxyURL: "-", Bundle: "-", Home: sb.home, User: sb.user, Extra: sb.env, PassEnv: passEnv, Host: host})
	if err != nil {
		return nil, fmt.Errorf("build environment: %w", err)
	}
	drop := map[string]bool{"SSL_CERT_DIR": true}
	for _, list := range [][]string{session.ProxyVariables(), session.NoProxyVariables(), session.CAVariables()} {
		for _, k := range list {
			drop[k] = true
		}
	}
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return out, nil
}
