package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/telemetry-harness/telemetry-harness/reports"
)

const reportUsage = "report --merge [--out DIR] DIR..."

// reportOptions are the flags of report.
type reportOptions struct {
	// Merge are the output folders of sharded runs to merge.
	Merge []string
	// Out is the merged output folder; "telemetry-report" by default.
	Out string
}

func reportCommand() command {
	opts := reportOptions{Out: "telemetry-report"}
	var merge bool
	return command{name: "report", usage: reportUsage,
		short: "merge the output folders of sharded runs (run --scenario X in separate jobs) into one report folder",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&merge, "merge", false, "merge the output folders given as arguments")
			fs.StringVar(&opts.Out, "out", opts.Out, "merged output folder")
		},
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			if !merge {
				return usageError(stderr, "report needs --merge (the only mode so far)", reportUsage)
			}
			if len(args) == 0 {
				return usageError(stderr, "report --merge needs at least one output folder", reportUsage)
			}
			opts.Merge = args
			return runReport(ctx, opts, stdout, stderr)
		}}
}

// runReport merges shards into opts.Out and writes every report there.
// Exit codes as run: 0 compliant, 3 violations, 1 incomplete or error.
func runReport(ctx context.Context, opts reportOptions, stdout, stderr io.Writer) int {
	started := time.Now()
	ao, err := filepath.Abs(opts.Out)
	if err != nil {
		return harnessError(stderr, err)
	}
	for _, sh := range opts.Merge {
		as, err := filepath.Abs(sh)
		if err != nil {
			return harnessError(stderr, err)
		}
		if as == ao {
			return usageError(stderr, fmt.Sprintf("--out %s is one of the folders to merge; choose another", opts.Out), reportUsage)
		}
	}
	if err := prepareOut(opts.Out); err != nil {
		return harnessError(stderr, err)
	}
	rep, _, err := reports.Merge(opts.Out, opts.Merge)
	if err != nil {
		return harnessError(stderr, err)
	}
	// Each shard searched its traffic only for the values it planted
	// itself; the merged folder holds every run folder, so it is judged
	// again as replay judges it: every scenario's traffic searched for
	// every scenario's values (judge.Input.Elsewhere).
	if err := reports.WriteAll(opts.Out, rep); err != nil {
		return harnessError(stderr, err)
	}
	fmt.Fprintf(stderr, "%s: merged %d folder(s) into %s (%s); judging it again with every scenario's planted values\n", toolName, len(opts.Merge), opts.Out, time.Since(started).Round(time.Millisecond))
	return runRun(ctx, runOptions{Replay: opts.Out}, stdout, stderr)
}
