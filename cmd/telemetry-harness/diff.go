package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/payloaddiff"
)

const diffUsage = "diff [--format text|md|json] A B"

// diffCommand compares what two runs sent (two output folders of run, or
// two scenario folders): endpoints, destinations, fields, types, event kinds
// and value counts, with every planted value redacted. Exit 0 either way:
// a difference is information, not a verdict.
func diffCommand() command {
	var format string
	return command{name: "diff", usage: diffUsage,
		short: "compare what two runs sent (e.g. a CI artifact and a local run): endpoints, fields, types, event kinds, value counts; planted values redacted",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&format, "format", "text", "output format: "+strings.Join(payloaddiff.Formats, ", "))
		},
		run: func(_ context.Context, args []string, stdout, stderr io.Writer) int {
			if len(args) != 2 {
				return usageError(stderr, fmt.Sprintf("diff takes two folders (got %d): the --out folders of two runs", len(args)), diffUsage)
			}
			if !validFormat(format) {
				return usageError(stderr, fmt.Sprintf("--format %q: want one of %s", format, strings.Join(payloaddiff.Formats, ", ")), diffUsage)
			}
			d, err := payloaddiff.Dirs(args[0], args[1])
			if err != nil {
				return harnessError(stderr, err)
			}
			if err := payloaddiff.Write(stdout, d, format); err != nil {
				return harnessError(stderr, err)
			}
			return exitOK
		}}
}

func validFormat(f string) bool {
	for _, k := range payloaddiff.Formats {
		if f == k {
			return true
		}
	}
	return f == "markdown"
}
