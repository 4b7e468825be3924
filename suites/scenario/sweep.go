package scenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/envsweep"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// plantSwept sets each swept canary's variable in the sandbox, unless the
// scenario or its canaries set that variable already, and returns the ones
// planted.
func plantSwept(sb *sandbox, swept []canary.Canary) []canary.Canary {
	if len(swept) == 0 {
		return nil
	}
	set := map[string]bool{}
	for _, kv := range sb.env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var planted []canary.Canary
	for _, c := range swept {
		name, ok := strings.CutPrefix(c.Role, policy.SweepRole+":")
		if !ok || set[name] {
			continue // a config sweep's value (plantConfig), or set already
		}
		sb.env = append(sb.env, name+"="+c.Value)
		planted = append(planted, c)
	}
	return planted
}

// runSweep runs an environment sweep: one run with a value planted in
// every variable the tool may read. When that run breaks the scenario's
// expectation (another exit, nothing sent) and a run without the sweep
// does not, it bisects for the variable responsible, sets it aside and
// sweeps again without it, within policy.MaxSweepRuns runs. Every run is
// kept as an attempt folder and judged; sweep.json in the scenario's
// folder says what was swept, from where, and which variables changed the
// tool's behaviour.
func runSweep(ctx context.Context, opts Options, sc *policy.Scenario, runs []policy.Run, base string, sets *sets, log *logger, res *Result) error {
	names := &envsweep.Names{}
	if sc.Sweep.Env {
		var err error
		if names, err = envsweep.Discover(opts.Tool, nil); err != nil {
			return fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
	}
	config, err := configCanaries(opts, sc, sets)
	if err != nil {
		return fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	rec := &envsweep.Record{Sources: names.Counts(), Roots: names.Roots, Excluded: names.Excluded, Config: len(config)}
	if sc.Sweep.Env {
		rec.Summary = names.Summary()
	}
	var all []canary.Canary
	for _, n := range names.Names {
		// Host facts (CI detectors, locale, TZ, TERM) are the scenario's
		// host block's to pin: a sweep under host ci: github-actions
		// plants GITHUB_REPOSITORY and the like, not CI itself.
		if sc.Sweep.Excludes(n) || capture.HostVariable(n) {
			rec.Excluded = append(rec.Excluded, n)
			continue
		}
		c := canary.Generate(policy.SweepRole)
		c.Role = policy.SweepRole + ":" + n
		all = append(all, c)
	}
	rec.Swept = len(all)
	if sc.Sweep.Env {
		rec.Summary = fmt.Sprintf("%s; %d planted, %d left to the host block or excluded by the policy; %d more found but unsafe to plant",
			rec.Summary, rec.Swept, len(rec.Excluded)-len(names.Excluded), len(names.Excluded))
	}
	if len(sc.Sweep.Config) > 0 {
		var files []string
		for _, c := range sc.Sweep.Config {
			files = append(files, c.File)
		}
		cs := fmt.Sprintf("config sweep: %d values and member names planted in %s", len(config), strings.Join(files, ", "))
		rec.Summary = strings.TrimPrefix(rec.Summary+"; "+cs, "; ")
	}
	all = append(all, config...)
	log.printf("%s: %s", sc.Name, rec.Summary)

	attempt := 0
	// brokeLast are the runs of the last attempt that broke.
	var brokeLast []RunResult
	try := func(set []canary.Canary) (string, error) {
		attempt++
		res.Attempts = attempt
		dir := base
		if attempt > 1 {
			dir = filepath.Join(base, fmt.Sprintf("%s%d", AttemptPrefix, attempt))
		}
		if err := runAttempt(ctx, opts, sc, runs, dir, sets, set, log, res); err != nil {
			return "", err
		}
		these := res.Runs[len(res.Runs)-len(runs):]
		why := broken(sc, these)
		if why != "" && len(set) > 0 {
			brokeLast = these
		}
		return why, nil
	}
	finish := func(err error) error {
		rec.Runs = attempt
		if res.Attempts <= 1 {
			res.Attempts = 1
		}
		if werr := os.MkdirAll(base, 0o755); werr == nil {
			werr = envsweep.WriteRecord(base, rec)
			if err == nil {
				err = werr
			}
		}
		return err
	}

	why, err := try(all)
	if err != nil || why == "" {
		return finish(err)
	}
	note := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		rec.Notes = append(rec.Notes, s)
		res.Retries = append(res.Retries, s)
		log.printf("%s: %s", sc.Name, s)
	}
	note("with every swept variable planted the run %s; looking for the variable responsible", why)
	if bare, err := try(nil); err != nil {
		return finish(err)
	} else if bare != "" {
		note("without any swept variable the run %s too: the scenario itself does not hold, not the sweep", bare)
		return finish(nil)
	}
	maxRuns := sc.Sweep.Runs()
	remaining := all
	for attempt < maxRuns {
		// A tool that rejects a value usually says which: its output
		// names the variable or quotes the planted value. Set those aside
		// at once; bisect only when the output names none.
		if named := namedIn(brokeLast, remaining); len(named) > 0 {
			for _, c := range named {
				name := sweptName(c.Role)
				rec.Changed = append(rec.Changed, envsweep.Changed{Name: name, Why: why + " (its output names it)"})
				note("planting %s changes the tool's behaviour (the run %s, and its output names it); swept again without it", name, why)
			}
			remaining = slices.DeleteFunc(slices.Clone(remaining), func(c canary.Canary) bool { return slices.Contains(named, c) })
			w, err := try(remaining)
			if err != nil || w == "" {
				return finish(err)
			}
			why = w
			continue
		}
		cand := remaining
		lastWhy := why
		for len(cand) > 1 && attempt < maxRuns-1 {
			half := cand[:len(cand)/2]
			w, err := try(half)
			if err != nil {
				return finish(err)
			}
			if w != "" {
				cand, lastWhy = half, w
			} else {
				cand = cand[len(cand)/2:]
			}
		}
		if len(cand) != 1 {
			var left []string
			for _, c := range cand {
				left = append(left, sweptName(c.Role))
			}
			if len(left) > 10 {
				left = append(left[:10], fmt.Sprintf("and %d more", len(left)-10))
			}
			note("a variable among %s changes the tool's behaviour; not narrowed down within %d runs", strings.Join(left, ", "), maxRuns)
			return finish(nil)
		}
		name := sweptName(cand[0].Role)
		rec.Changed = append(rec.Changed, envsweep.Changed{Name: name, Why: lastWhy})
		note("planting %s changes the tool's behaviour (the run %s); swept again without it", name, lastWhy)
		remaining = slices.DeleteFunc(slices.Clone(remaining), func(c canary.Canary) bool { return c.Role == cand[0].Role })
		w, err := try(remaining)
		if err != nil || w == "" {
			return finish(err)
		}
		why = w
	}
	note("the sweep still changes the tool's behaviour after %d runs", attempt)
	return finish(nil)
}

// broken says how an attempt's runs break the scenario's expectation, or
// "" when they keep it: the exit it expects, something sent when reports
// are expected.
func broken(sc *policy.Scenario, rrs []RunResult) string {
	for _, rr := range rrs {
		if rr.Run == nil {
			return "did not run"
		}
		switch code := rr.Run.ExitCode; {
		case sc.Expect.Exit == policy.ExitSuccess && code != 0:
			return fmt.Sprintf("exited %d instead of succeeding", code)
		case sc.Expect.Exit == policy.ExitFailure && code == 0:
			return "succeeded instead of failing"
		}
		switch sc.Expect.Reports {
		case policy.ReportsOne, policy.ReportsSome:
			if rr.Run.Exchanges == 0 {
				return "sent nothing"
			}
		}
	}
	return ""
}

// namedIn are the swept canaries whose variable name or planted value the
// runs' stdout or stderr mention.
func namedIn(rrs []RunResult, swept []canary.Canary) []canary.Canary {
	var out []canary.Canary
	for _, rr := range rrs {
		var text []byte
		for _, f := range []string{"stdout", "stderr"} {
			if b, err := os.ReadFile(filepath.Join(rr.Dir, f)); err == nil {
				text = append(text, b...)
			}
		}
		for _, c := range swept {
			name, env := strings.CutPrefix(c.Role, policy.SweepRole+":")
			if (env && wordIn(text, name) || strings.Contains(string(text), c.Value)) && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// wordIn reports whether name occurs in text as a whole word (not inside
// a longer upper-case name).
func wordIn(text []byte, name string) bool {
	s := string(text)
	for off := 0; ; {
		i := strings.Index(s[off:], name)
		if i < 0 {
			return false
		}
		i += off
		before := i == 0 || !isNameByte(s[i-1])
		after := i+len(name) == len(s) || !isNameByte(s[i+len(name)])
		if before && after {
			return true
		}
		off = i + 1
	}
}

func isNameByte(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
}

// sweptName is what a swept canary is planted in: the variable's name
// (env-sweep:NAME), or FILE:PATH for a config sweep's value.
func sweptName(role string) string {
	if sweep, ok := policy.SweptRole(role); ok {
		return strings.TrimPrefix(role, sweep+":")
	}
	return role
}
