package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/reports"
)

// Exit codes, documented in README and in -h.
const (
	exitOK         = 0
	exitHarness    = 1
	exitUsage      = 2
	exitViolations = 3
)

const toolName = "telemetry-harness"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one row of the command table, in the manner of Ginkgo's CLI
// (Command{Name, Flags, Usage, Command}): the row declares its flags, and
// run() parses them, answers -h, reports a usage error and starts
// --cpuprofile, the same way for every command.
type command struct {
	name  string
	usage string // one line, after the tool name
	short string
	// flags declares the command's flags on fs, bound to the options its
	// run reads; nil for none.
	flags func(fs *flag.FlagSet)
	// profile offers --cpuprofile FILE (benchmarking, docs/performance.md).
	profile bool
	// run gets the arguments left after the flags; it returns the exit
	// code.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		runCommand(),
		initCommand(),
		recordCommand(),
		checkCommand(),
		replayCommand(),
		reportCommand(),
		diffCommand(),
		matrixCommand(),
		bisectCommand(),
		{name: "version", usage: "version", short: "print the version", run: func(_ context.Context, _ []string, stdout, _ io.Writer) int {
			fmt.Fprintf(stdout, "%s %s\n", toolName, version)
			return exitOK
		}},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.execute(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q (run '%s -h' for the list)\n", toolName, args[0], toolName)
	return exitUsage
}

// execute parses c's flags and runs it.
func (c command) execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed by usageError, in one line
	if c.flags != nil {
		c.flags(fs)
	}
	var cpuProfile string
	if c.profile {
		fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the harness process to `FILE` (benchmarking; see docs/performance.md)")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "Usage: %s %s\n", toolName, c.usage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return exitOK
		}
		return usageError(stderr, strings.TrimSpace(err.Error()), c.usage)
	}
	if cpuProfile != "" {
		stop, err := startCPUProfile(cpuProfile)
		if err != nil {
			return harnessError(stderr, err)
		}
		defer stop()
	}
	return c.run(ctx, fs.Args(), stdout, stderr)
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "%s: check a tool's telemetry against its published privacy promise\n\nUsage:\n", toolName)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %s %s\n      %s\n", toolName, c.usage, c.short)
	}
	fmt.Fprintf(w, "\nExit codes: 0 compliant, 1 harness error, 2 usage error, 3 violations found.\n")
}

// usageError is the one way a usage error is reported: "<tool>: <msg>",
// then the command's usage line; it returns exitUsage.
func usageError(stderr io.Writer, msg, usage string) int {
	fmt.Fprintf(stderr, "%s: %s\nUsage: %s %s\n", toolName, msg, toolName, usage)
	return exitUsage
}

// verdictExit prints why an overall verdict other than compliant or
// violations is not a pass, and returns the verdict's exit code.
func verdictExit(stderr io.Writer, v reports.Overall) int {
	if v != reports.Compliant && v != reports.Violations {
		fmt.Fprintf(stderr, "%s: incomplete: some clauses could not be observed or exercised (see the verdict table); not compliant, not violated\n", toolName)
	}
	return v.ExitCode()
}

// startCPUProfile profiles the harness process into path until the
// returned stop is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// harnessError prints "<tool>: <message>" and returns exitHarness.
func harnessError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", toolName, err)
	return exitHarness
}
