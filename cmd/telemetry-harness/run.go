package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/shlex"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	telemetryharness "github.com/telemetry-harness/telemetry-harness"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
	"github.com/telemetry-harness/telemetry-harness/reports"
	"github.com/telemetry-harness/telemetry-harness/suites/compliance"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

const runUsage = `run [--tool "CMD ARGS"] [--policy FILE] [--scenario NAME]... [--label-filter EXPR] [--out DIR] [--settle DUR] [--timeout DUR] [--keep] [--seal auto|on|off] [--no-keylog] [--strict] [--differential] [-- --ginkgo.FLAG...]`

// runOptions are the flags of run.
type runOptions struct {
	// Tool is the tool command, split like a shell (never run by one);
	// empty means the bundled reference implementation.
	Tool string
	// Policy is the policy file; empty means the bundled policy.yaml.
	Policy string
	// Scenarios are the scenarios to run; empty means all.
	Scenarios []string
	// LabelFilter selects specs by label (clause:<id>, scenario:<name>).
	LabelFilter string
	// Out is the output folder; "telemetry-report" by default.
	Out string
	// Settle, Timeout and IdleStop are passed to each recording.
	Settle, Timeout, IdleStop time.Duration
	// Parallel is how many scenarios run at once.
	Parallel int
	// Keep keeps each run's working folder and prints how to rerun it.
	Keep bool
	// PassEnv names harness environment variables the tool also gets.
	PassEnv []string
	// Seal is the seal mode of every run (session.Options.Seal).
	Seal string
	// NoKeyLog leaves sslkeys.log out of sealed runs.
	NoKeyLog bool
	// GinkgoArgs are --ginkgo.* flags passed through to the spec runner.
	GinkgoArgs []string
	// Replay, when set, judges this previous output folder instead of
	// running the tool (the replay command).
	Replay string
	// Strict ignores the policy's interpretations.
	Strict bool
	// Differential reruns every scenario that sent anything, with identical
	// and with replaced planted values, and compares (suites/differential).
	Differential bool
}

// outMarker marks a folder as a harness output folder, so a later run may
// clear it without risk of deleting anything else.
const outMarker = ".telemetry-harness-output"

func runCommand() command {
	opts := runOptions{Out: "telemetry-report", Parallel: scenario.DefaultParallel}
	return command{name: "run", usage: runUsage, profile: true,
		short: "run the tool through every scenario of the policy and check every clause; writes a report folder",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&opts.Tool, "tool", "", "tool command (default: the bundled reference implementation)")
			fs.StringVar(&opts.Policy, "policy", "", "policy file (default: the bundled policy.yaml)")
			fs.Func("scenario", "scenario to run (repeatable; default: all)", func(s string) error {
				opts.Scenarios = append(opts.Scenarios, s)
				return nil
			})
			fs.StringVar(&opts.LabelFilter, "label-filter", "", "Ginkgo label filter, e.g. 'clause:ids.sha256-only'")
			fs.StringVar(&opts.Out, "out", opts.Out, "output folder")
			fs.DurationVar(&opts.Settle, "settle", 0, "grace period after the tool and its descendants end")
			fs.DurationVar(&opts.Timeout, "timeout", 0, "kill what is still running after this long (default 60s)")
			fs.DurationVar(&opts.IdleStop, "idle-stop", 0, "stop descendants idle this long after the tool exits (0: never)")
			fs.IntVar(&opts.Parallel, "parallel", opts.Parallel, "scenarios run at once")
			fs.BoolVar(&opts.Keep, "keep", false, "keep each run's working folder and print how to rerun the tool by hand")
			fs.StringVar(&opts.Seal, "seal", session.SealAuto, "run the tool in a sealed network namespace that watches every packet: auto (when possible), on (required), off")
			fs.BoolVar(&opts.Strict, "strict", false, "ignore the policy's interpretations: judge every clause by its words alone")
			fs.BoolVar(&opts.Differential, "differential", false, "run every scenario that sends twice more (identical inputs, replaced planted values) and report each value that moves without a declaration")
			fs.BoolVar(&opts.NoKeyLog, "no-keylog", false, "do not write sslkeys.log (the TLS secrets that let Wireshark decrypt packets.pcapng) in sealed runs")
			fs.Func("pass-env", "also give the tool this harness environment variable (repeatable)", func(s string) error {
				opts.PassEnv = append(opts.PassEnv, s)
				return nil
			})
		},
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			for _, a := range args {
				if !strings.HasPrefix(a, "--ginkgo.") && !strings.HasPrefix(a, "-ginkgo.") {
					return usageError(stderr, fmt.Sprintf("unexpected argument %q (only --ginkgo.* flags may follow)", a), runUsage)
				}
				opts.GinkgoArgs = append(opts.GinkgoArgs, a)
			}
			if err := session.CheckSeal(opts.Seal); err != nil {
				return usageError(stderr, "--"+err.Error(), runUsage)
			}
			return runRun(ctx, opts, stdout, stderr)
		}}
}

func replayCommand() command {
	const usage = "replay [--strict] [--label-filter EXPR] [--scenario NAME]... DIR"
	var opts runOptions
	return command{name: "replay", usage: usage, profile: true,
		short: "judge a previous run's output folder (e.g. a CI artifact) again, without running any tool",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&opts.LabelFilter, "label-filter", "", "Ginkgo label filter")
			fs.StringVar(&opts.Policy, "policy", "", "policy file (default: the policy.yaml saved in DIR)")
			fs.BoolVar(&opts.Strict, "strict", false, "ignore the policy's interpretations: judge every clause by its words alone")
			fs.Func("scenario", "scenario to judge (repeatable; default: all that DIR holds)", func(s string) error {
				opts.Scenarios = append(opts.Scenarios, s)
				return nil
			})
		},
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			if len(args) != 1 {
				return usageError(stderr, "replay takes one output folder", usage)
			}
			opts.Replay = args[0]
			return runRun(ctx, opts, stdout, stderr)
		}}
}

// ginkgoT is the testing.T stand-in RunSpecs needs.
type ginkgoT struct{ failed bool }

func (t *ginkgoT) Fail() { t.failed = true }

// runRun runs (or replays) the compliance specs and writes the reports.
// Exit: 0 compliant, 3 violations, 1 harness error or an incomplete run
// (a clause unobservable, or a scenario that could not run), 2 usage.
func runRun(ctx context.Context, opts runOptions, stdout, stderr io.Writer) int {
	started := time.Now()
	p, root, cleanup, err := loadRunPolicy(opts)
	if err != nil {
		return harnessError(stderr, err)
	}
	if !opts.Keep {
		// With --keep the extracted bundle stays: the rerun lines use it.
		defer cleanup()
	}
	if opts.Strict {
		p = p.Strict()
	}

	cfg := compliance.Config{Policy: p, Scenarios: opts.Scenarios, Log: stderr}
	out := opts.Out
	if opts.Replay != "" {
		out = opts.Replay
		cfg.Replay = opts.Replay
		if len(cfg.Scenarios) == 0 {
			cfg.Scenarios = scenariosIn(p, opts.Replay)
			if len(cfg.Scenarios) == 0 {
				return harnessError(stderr, fmt.Errorf("replay %s: no scenario folder of policy %s found there (is it a run's output folder?)", opts.Replay, p.File))
			}
		}
	} else {
		tool, err := toolWords(ctx, opts.Tool, root)
		if err != nil {
			return usageError(stderr, err.Error(), runUsage)
		}
		// One clear line before anything starts, rather than the same
		// failure in every spec of every scenario.
		if _, err := exec.LookPath(tool[0]); err != nil {
			return harnessError(stderr, fmt.Errorf("tool %q not found: install it, or give its full path in --tool", tool[0]))
		}
		if err := prepareOut(out); err != nil {
			return harnessError(stderr, err)
		}
		if err := copyFile(p.File, filepath.Join(out, "policy.yaml")); err != nil {
			return harnessError(stderr, err)
		}
		cfg.Runner = scenario.Options{Tool: tool, Root: root, Out: out, Settle: opts.Settle, Timeout: opts.Timeout,
			IdleStop: opts.IdleStop, PassEnv: opts.PassEnv, Parallel: opts.Parallel, Keep: opts.Keep, Seal: opts.Seal, NoKeyLog: opts.NoKeyLog, Differential: opts.Differential}
		fmt.Fprintf(stderr, "%s: running %s against %s (%s), output in %s\n", toolName, strings.Join(tool, " "), p.Tool.Name, p.File, out)
	}
	suite, err := compliance.New(cfg)
	if err != nil {
		return usageError(stderr, err.Error(), runUsage)
	}

	if len(opts.GinkgoArgs) > 0 {
		if err := flag.CommandLine.Parse(opts.GinkgoArgs); err != nil {
			return usageError(stderr, err.Error(), runUsage)
		}
	}
	suiteCfg, repCfg := ginkgo.GinkgoConfiguration()
	if opts.LabelFilter != "" {
		suiteCfg.LabelFilter = opts.LabelFilter
	}
	if !repCfg.Verbose && !repCfg.VeryVerbose {
		repCfg.Succinct = true
	}
	if f, ok := stdout.(*os.File); !ok || !isTerminal(f) {
		repCfg.NoColor = true
	}
	if repCfg.JUnitReport == "" {
		repCfg.JUnitReport = filepath.Join(out, "junit.xml")
	}
	gomega.RegisterFailHandler(ginkgo.Fail)
	suite.Define()
	t := &ginkgoT{}
	ginkgo.RunSpecs(t, "Telemetry compliance: "+p.Tool.Name, suiteCfg, repCfg, ginkgo.Label(compliance.LabelCompliance))

	fmt.Fprintln(stderr)
	var outcomes []reports.ScenarioOutcome
	for _, o := range suite.Outcomes() {
		outcomes = append(outcomes, reports.ScenarioOutcome{Scenario: o.Scenario, Dirs: o.Dirs, Judged: o.Judged, Err: o.Err})
		if opts.Keep && o.Run != nil {
			self, err := os.Executable()
			if err != nil {
				self = toolName
			}
			for _, r := range o.Run.Runs {
				if r.Workdir != "" {
					fmt.Fprintf(stderr, "%s: kept %s; rerun the tool by hand, recorded (nothing leaves the machine):\n  %s\n",
						toolName, r.Workdir, r.RerunRecorded(self, filepath.Join(r.Dir, "rerun")))
				}
			}
		}
	}
	rep := reports.Build(p, outcomes)
	rep.Strict = opts.Strict
	rep.Started, rep.Finished = started, time.Now()
	rep.Command = append([]string{toolName}, os.Args[1:]...)
	reports.Attach(rep, p, out)
	if err := reports.WriteAll(out, rep); err != nil {
		return harnessError(stderr, err)
	}
	printVerdicts(stdout, rep)
	fmt.Fprintf(stderr, "%s: reports in %s: report.html, report.md, report.json, report.sarif, junit.xml (%s)\n", toolName, out, time.Since(started).Round(time.Millisecond))
	if rep.Verdict == reports.Compliant && t.failed {
		return harnessError(stderr, errors.New("a spec failed without a clause verdict (see the spec output above)"))
	}
	return verdictExit(stderr, rep.Verdict)
}

// printVerdicts prints the clause verdict table.
func printVerdicts(w io.Writer, r *reports.Report) {
	fmt.Fprintf(w, "\n%-36s %-14s %s\n", "CLAUSE", "VERDICT", "SCENARIOS")
	for _, c := range r.Clauses {
		var sc []string
		for _, s := range c.Scenarios {
			sc = append(sc, s.Scenario+"="+string(s.Verdict))
		}
		fmt.Fprintf(w, "%-36s %-14s %s\n", c.ID, c.Verdict, strings.Join(sc, " "))
		for _, f := range c.Findings {
			fmt.Fprintf(w, "    %s\n", f)
		}
	}
	for _, in := range r.Interpretations {
		fmt.Fprintf(w, "interpretation %s (%s, %d value(s) of %s accepted): %s\n", in.ID, in.Clause, in.Used, in.Field, in.Why)
	}
	fmt.Fprintf(w, "\nverdict: %s\n", r.VerdictLine())
}

// loadRunPolicy loads the policy and returns the root its relative repo
// paths resolve against: the policy file's folder, or an extracted copy of
// the bundle for the bundled policy. On replay without --policy, the
// policy saved in the output folder is used.
func loadRunPolicy(opts runOptions) (*policy.Policy, string, func(), error) {
	noop := func() {}
	path := opts.Policy
	if path == "" && opts.Replay != "" {
		path = filepath.Join(opts.Replay, "policy.yaml")
	}
	if path != "" {
		p, err := policy.Load(path)
		if err != nil {
			return nil, "", noop, err
		}
		abs, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			return nil, "", noop, err
		}
		return p, abs, noop, nil
	}
	dir, err := os.MkdirTemp("", "telemetry-harness-bundle-")
	if err != nil {
		return nil, "", noop, fmt.Errorf("extract bundle: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := telemetryharness.Extract(dir); err != nil {
		cleanup()
		return nil, "", noop, err
	}
	p, err := policy.Load(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		cleanup()
		return nil, "", noop, err
	}
	return p, dir, cleanup, nil
}

// toolWords splits --tool like a shell (never running one) and makes
// relative paths absolute against the current folder; empty means the
// bundled reference under root.
func toolWords(ctx context.Context, tool, root string) ([]string, error) {
	if strings.TrimSpace(tool) == "" {
		ref := filepath.Join(root, "fixtures", "reference", "pants.py")
		// The reference stands in only for the Pants promise it was
		// written for; any other policy's tool must be named.
		if _, err := os.Stat(ref); err != nil {
			return nil, fmt.Errorf("no --tool given, and the bundled reference (%s) is not beside this policy: give the command of the tool the policy is for, e.g. --tool \"npx mytool\"", filepath.Join("fixtures", "reference", "pants.py"))
		}
		py, err := scenario.Python(ctx)
		if err != nil {
			return nil, err
		}
		return []string{py, ref}, nil
	}
	words, err := shlex.Split(tool)
	if err != nil {
		return nil, fmt.Errorf("--tool %q: cannot split it into words: %w", tool, err)
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("--tool %q names no command; give the tool's command line", tool)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return scenario.ResolveTool(words, cwd), nil
}

// prepareOut creates the output folder; an existing one is cleared only
// when an earlier run marked it as its own.
func prepareOut(out string) error {
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("output folder %s: %w", out, err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(out, outMarker)); err != nil {
			return fmt.Errorf("output folder %s exists and is not empty, and is not an earlier run's output: choose another --out or remove it", out)
		}
		if err := os.RemoveAll(out); err != nil {
			return fmt.Errorf("clear output folder %s: %w", out, err)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create output folder %s: %w (choose a writable --out)", out, err)
	}
	if err := os.WriteFile(filepath.Join(out, outMarker), []byte("written by telemetry-harness run; the next run may clear this folder\n"), 0o644); err != nil {
		return fmt.Errorf("output folder %s: %w (choose a writable --out)", out, err)
	}
	return nil
}

// scenariosIn lists the policy's scenarios that have a folder under dir.
func scenariosIn(p *policy.Policy, dir string) []string {
	var names []string
	for _, sc := range p.Scenarios {
		if st, err := os.Stat(filepath.Join(dir, sc.Name)); err == nil && st.IsDir() {
			names = append(names, sc.Name)
		}
	}
	return names
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}

// isTerminal reports whether f is a character device (a terminal), so that
// colour codes never end up in CI logs or files.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
