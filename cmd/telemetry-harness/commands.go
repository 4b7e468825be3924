package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
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

// command is one subcommand: its flags are parsed by its own FlagSet.
type command struct {
	name  string
	usage string // one line, after the tool name
	short string
	// run parses args and runs; it returns the exit code.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		runCommand(),
		recordCommand(),
		checkCommand(),
		replayCommand(),
		reportCommand(),
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
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q (run '%s -h' for the list)\n", toolName, args[0], toolName)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "%s: check a tool's telemetry against its published privacy promise\n\nUsage:\n", toolName)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %s %s\n      %s\n", toolName, c.usage, c.short)
	}
	fmt.Fprintf(w, "\nExit codes: 0 compliant, 1 harness error, 2 usage error, 3 violations found.\n")
}

// newFlagSet returns a FlagSet that reports usage errors in one line.
func newFlagSet(c string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; on error it prints one usage line and returns
// exitUsage, or exitOK for -h after printing the flags.
func parseFlags(fs *flag.FlagSet, usage string, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "Usage: %s %s\n", toolName, usage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return exitOK, false
		}
		fmt.Fprintf(stderr, "%s: %s\nUsage: %s %s\n", toolName, strings.TrimSpace(err.Error()), toolName, usage)
		return exitUsage, false
	}
	return 0, true
}

// harnessError prints "<tool>: <message>" and returns exitHarness.
func harnessError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", toolName, err)
	return exitHarness
}
