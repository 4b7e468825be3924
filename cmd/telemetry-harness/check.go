package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

const checkUsage = "check [--policy FILE] --scenario NAME --capture DIR|FILE.har|FILE.jsonl [--capture ...] [--canaries FILE] [--baseline DIR] [--strict]"

// checkOptions are the flags of check.
type checkOptions struct {
	// Policy is the policy file; "policy.yaml" by default.
	Policy string
	// Scenario names the policy scenario the capture was recorded under.
	Scenario string
	// Captures are run folders or capture files, one per run of the
	// scenario in its run order; a single folder of a multi-run scenario
	// may instead hold one sub-folder per run, named after the runs.
	Captures []string
	// Canaries is a canaries.json for every run; empty means each run
	// folder's own canaries.json.
	Canaries string
	// Baseline is a fast-endpoint run folder whose run.json the background
	// check compares against; empty for none.
	Baseline string
	// Strict ignores the policy's interpretations.
	Strict bool
}

func checkCommand() command {
	opts := checkOptions{Policy: "policy.yaml"}
	return command{name: "check", usage: checkUsage, profile: true,
		short: "judge a saved capture against the policy (exit 0 compliant, 3 violations, 1 unobservable or harness error)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&opts.Policy, "policy", opts.Policy, "policy file")
			fs.StringVar(&opts.Scenario, "scenario", "", "scenario the capture was recorded under")
			fs.Func("capture", "run folder, .jsonl or .har capture (repeat for each run of a multi-run scenario)", func(s string) error {
				opts.Captures = append(opts.Captures, s)
				return nil
			})
			fs.StringVar(&opts.Canaries, "canaries", "", "canaries.json for every run (default: each run folder's own)")
			fs.StringVar(&opts.Baseline, "baseline", "", "fast-endpoint run folder for the background timing check")
			fs.BoolVar(&opts.Strict, "strict", false, "ignore the policy's interpretations")
		},
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			if len(args) > 0 {
				return usageError(stderr, fmt.Sprintf("unexpected argument %q", args[0]), checkUsage)
			}
			if opts.Scenario == "" || len(opts.Captures) == 0 {
				return usageError(stderr, "--scenario and --capture are required", checkUsage)
			}
			return runCheck(ctx, opts, stdout, stderr)
		}}
}

// errUsage marks errors in how check was called, as opposed to what it read.
var errUsage = errors.New("usage")

// runCheck judges the captures and prints the findings, then the verdict of
// every clause. Exit codes: 0 compliant, 3 violations, 1 harness error or a
// clause that could not be observed (never reported as compliant), 2 usage.
func runCheck(_ context.Context, opts checkOptions, stdout, stderr io.Writer) int {
	p, err := policy.Load(opts.Policy)
	if err != nil {
		return harnessError(stderr, err)
	}
	if opts.Strict {
		p = p.Strict()
	}
	sc, err := p.Scenario(opts.Scenario)
	if err != nil {
		return usageError(stderr, err.Error(), checkUsage)
	}
	dirs, err := runPaths(sc, opts.Captures)
	if err != nil {
		if errors.Is(err, errUsage) {
			return usageError(stderr, err.Error(), checkUsage)
		}
		return harnessError(stderr, err)
	}
	var shared []canary.Canary
	if opts.Canaries != "" {
		if shared, err = canary.ReadFile(opts.Canaries); err != nil {
			return harnessError(stderr, err)
		}
	}
	in, err := judge.OpenRuns(p, sc, dirs)
	if err != nil {
		return harnessError(stderr, err)
	}
	if opts.Canaries != "" {
		for i := range in.Runs {
			in.Runs[i].Canaries = shared
		}
	}
	if opts.Baseline != "" {
		if in.Baseline, err = capture.ReadRun(opts.Baseline); err != nil {
			return harnessError(stderr, err)
		}
	}
	res, err := judge.Judge(in)
	if err != nil {
		return harnessError(stderr, err)
	}
	printResult(stdout, res)
	var unobservable, unexercised []string
	for _, c := range res.Clauses {
		switch {
		case c.Verdict == judge.Unobservable:
			unobservable = append(unobservable, c.Clause)
		case c.Verdict == judge.NotExercised && sc.Exercises(c.Clause):
			// The scenario sets out to show it, and this input did not:
			// facts it needs are missing (canaries.json, say).
			unexercised = append(unexercised, c.Clause)
		}
	}
	switch {
	case !res.Compliant():
		return exitViolations
	case len(unobservable) > 0:
		return harnessError(stderr, fmt.Errorf("could not observe what clauses %s need (see their reasons): not compliant, not violated", strings.Join(unobservable, ", ")))
	case len(unexercised) > 0:
		return harnessError(stderr, fmt.Errorf("incomplete: scenario %s lists clauses %s but this input did not exercise them (see their reasons): not compliant, not violated", sc.Name, strings.Join(unexercised, ", ")))
	}
	return exitOK
}

// runPaths maps the --capture arguments to one path per run of sc.
func runPaths(sc *policy.Scenario, captures []string) ([]string, error) {
	runs := sc.RunsOf()
	if len(captures) == 1 && len(runs) > 1 {
		// A scenario folder as the runner writes it: <scenario>/<run>/.
		var dirs []string
		for _, r := range runs {
			d := filepath.Join(captures[0], r.Name)
			if st, err := os.Stat(d); err != nil || !st.IsDir() {
				return nil, fmt.Errorf("scenario %s has %d runs: %s has no run folder %s (give one --capture per run, or the scenario folder holding a folder per run)", sc.Name, len(runs), captures[0], r.Name)
			}
			dirs = append(dirs, d)
		}
		return dirs, nil
	}
	if len(captures) != len(runs) {
		names := make([]string, len(runs))
		for i, r := range runs {
			names[i] = r.Name
		}
		return nil, fmt.Errorf("%w: scenario %s has %d run(s) (%s) but %d --capture were given", errUsage, sc.Name, len(runs), strings.Join(names, ", "), len(captures))
	}
	return captures, nil
}

func printResult(w io.Writer, res *judge.Result) {
	n, omitted := 0, 0
	for _, c := range res.Clauses {
		n += c.Findings
		omitted += c.Omitted
	}
	word := "findings"
	if n == 1 {
		word = "finding"
	}
	fmt.Fprintf(w, "scenario %s: %d %s\n", res.Scenario, n, word)
	for _, f := range res.Findings {
		fmt.Fprintf(w, "  %s\n", f)
	}
	if omitted > 0 {
		fmt.Fprintf(w, "  ... and %d more not listed (at most %d per clause are kept)\n", omitted, judge.MaxFindings)
	}
	fmt.Fprintf(w, "clauses:\n")
	for _, c := range res.Clauses {
		line := fmt.Sprintf("  %-14s %s", c.Verdict, c.Clause)
		switch {
		case c.Findings == 1:
			line += " (1 finding)"
		case c.Findings > 1:
			line += fmt.Sprintf(" (%d findings)", c.Findings)
		}
		if c.Reason != "" && !(c.Verdict == judge.NotExercised && strings.HasPrefix(c.Reason, "scenario ")) {
			line += ": " + c.Reason
		}
		fmt.Fprintln(w, line)
	}
}
