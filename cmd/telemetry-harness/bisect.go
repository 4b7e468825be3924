package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/suites/payloaddiff"
	"github.com/telemetry-harness/telemetry-harness/suites/versions"
)

func bisectCommand() command {
	var f versionFlags
	var good, bad, clause string
	return command{name: "bisect", usage: bisectUsage,
		short: "find the first version between a good and a bad one that breaks a clause (binary search, skipping versions that cannot run); prints the evidence and the payload diff",
		flags: func(fs *flag.FlagSet) {
			f.register(fs, "telemetry-bisect")
			fs.StringVar(&good, "good", "", "a version that keeps the promise (required)")
			fs.StringVar(&bad, "bad", "", "a later version that breaks it (required)")
			fs.StringVar(&clause, "clause", "", "the clause id to bisect on (default: any violated clause)")
		},
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			if good == "" || bad == "" {
				return usageError(stderr, "--good and --bad are required", bisectUsage)
			}
			if err := f.finish(args, stderr); err != nil {
				return usageError(stderr, err.Error(), bisectUsage)
			}
			if len(f.spec.Scenarios) == 0 {
				sc, err := f.spec.ScenariosFor(clause)
				if err != nil {
					return usageError(stderr, err.Error(), bisectUsage)
				}
				f.spec.Scenarios = sc
			}
			var all []string
			var err error
			switch {
			case f.list != "":
				all, err = versions.List(f.list)
			case f.rng != "" || f.pkg != "":
				if f.rng == "" {
					f.rng = ">=" + good + " <=" + bad
				}
				all, err = f.resolve(ctx)
			default:
				err = errors.New("give --versions (the releases, in order) or --package PKG to list them from the registry")
			}
			if err != nil {
				return usageError(stderr, err.Error(), bisectUsage)
			}
			vs, err := versions.Between(all, good, bad)
			if err != nil {
				return usageError(stderr, err.Error(), bisectUsage)
			}
			if err := prepareOut(f.spec.Out); err != nil {
				return harnessError(stderr, err)
			}
			what := "any clause"
			if clause != "" {
				what = clause
			}
			fmt.Fprintf(stderr, "%s: bisect %s over %d versions (%s .. %s), scenarios: %s\n", toolName, what, len(vs), good, bad, scenarioList(f.spec.Scenarios))
			b, err := versions.Bisect(ctx, vs, clause, f.spec.Run)
			if b != nil {
				printSteps(stdout, b)
			}
			if err != nil {
				return harnessError(stderr, err)
			}
			if err := writeBisection(stdout, f.spec.Out, b); err != nil {
				return harnessError(stderr, err)
			}
			return exitOK
		}}
}

func scenarioList(s []string) string {
	if len(s) == 0 {
		return "all"
	}
	return strings.Join(s, ", ")
}

func printSteps(w io.Writer, b *versions.Bisection) {
	for _, s := range b.Steps {
		fmt.Fprintf(w, "%-12s %-5s %s (%s)\n", s.Version, s.State, s.Why, s.Wall.Round(time.Second))
	}
}

// writeBisection prints the answer and writes bisect.{json,md} into out.
func writeBisection(w io.Writer, out string, b *versions.Bisection) error {
	var t strings.Builder
	if len(b.Untested) > 0 {
		fmt.Fprintf(&t, "\nfirst bad version: %s, or one of the untested versions before it: %s (they could not run)\n", b.FirstBad.Version, strings.Join(b.Untested, ", "))
	} else {
		fmt.Fprintf(&t, "\nfirst bad version: %s (last good: %s)\n", b.FirstBad.Version, b.LastGood.Version)
	}
	fmt.Fprintf(&t, "reports: %s (bad), %s (good)\n\nevidence in %s:\n", b.FirstBad.Out, b.LastGood.Out, b.FirstBad.Version)
	for _, f := range b.Evidence {
		fmt.Fprintf(&t, "  [%s] %s\n", f.Scenario, f)
	}
	if b.Diff != nil {
		t.WriteString("\n")
		if err := payloaddiff.Write(&t, b.Diff, "text"); err != nil {
			return err
		}
	}
	fmt.Fprintf(&t, "\n%d versions run, wall %s\n", len(b.Steps), b.Wall.Round(time.Second))
	if _, err := io.WriteString(w, t.String()); err != nil {
		return err
	}
	js, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "bisect.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write bisect.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "bisect.txt"), []byte(t.String()), 0o644); err != nil {
		return fmt.Errorf("write bisect.txt: %w", err)
	}
	return nil
}
