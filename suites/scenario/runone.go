package scenario

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// One run of a scenario: sandbox, prepare commands, the recorded tool, state files; and the session options it needs.

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
