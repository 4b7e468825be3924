package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
)

const recordUsage = "record [--out DIR] [--forward] [--settle DUR] [--timeout DUR] [--idle-stop DUR] [--pass-env NAME]... [--no-redact] [--seal auto|on|off] [--no-keylog] -- COMMAND [ARGS...]"

// recordOptions are the parsed flags of `record`.
type recordOptions struct {
	// out is the run folder; empty means a new telemetry-capture-<time>
	// folder in the current directory.
	out      string
	forward  bool
	settle   time.Duration
	timeout  time.Duration
	idleStop time.Duration
	passEnv  []string
	noRedact bool
	// seal is the seal mode (session.Options.Seal).
	seal string
	// noKeyLog leaves sslkeys.log out of a sealed run (session.Options.NoKeyLog).
	noKeyLog bool
	// argv is COMMAND [ARGS...].
	argv []string
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func recordCommand() command {
	var o recordOptions
	return command{name: "record", usage: recordUsage,
		short: "run COMMAND under the recording proxy and save what it sends",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.out, "out", "", "run folder to write (default: a new telemetry-capture-YYYYMMDD-HHMMSS folder here)")
			fs.BoolVar(&o.forward, "forward", false, "pass requests on to the real hosts (default: answer them in the harness, never contact a host)")
			fs.DurationVar(&o.settle, "settle", 0, "after everything went quiet, wait this long for a late connection")
			fs.DurationVar(&o.timeout, "timeout", session.DefaultTimeout, "kill whatever is still running after this long")
			fs.DurationVar(&o.idleStop, "idle-stop", 0, "after COMMAND exited, stop descendants that stay idle (no connection, <1% CPU) this long, e.g. a daemon (0: wait for them)")
			fs.Var((*stringList)(&o.passEnv), "pass-env", "copy this variable from the harness environment (repeatable)")
			fs.BoolVar(&o.noRedact, "no-redact", false, "keep Authorization/Cookie values in capture.har")
			fs.StringVar(&o.seal, "seal", session.SealAuto, "run COMMAND in a sealed network namespace that watches every packet: auto (when possible), on (required), off")
			fs.BoolVar(&o.noKeyLog, "no-keylog", false, "do not write sslkeys.log (the TLS secrets that let Wireshark decrypt packets.pcapng) in a sealed run")
		},
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			o.argv = args
			return runRecord(ctx, o, stdout, stderr)
		}}
}

// runRecord records one run and prints its requests; it returns the exit
// code.
func runRecord(ctx context.Context, o recordOptions, stdout, stderr io.Writer) int {
	usage := func(msg string) int { return usageError(stderr, msg, recordUsage) }
	switch {
	case len(o.argv) == 0:
		return usage("no command given; put it after --, e.g. record -- python3 app.py")
	case o.timeout <= 0:
		return usage(fmt.Sprintf("--timeout %s: must be positive", o.timeout))
	case o.settle < 0 || o.idleStop < 0:
		return usage("--settle and --idle-stop must not be negative")
	case session.CheckSeal(o.seal) != nil:
		return usage(fmt.Sprintf("--seal %s: want auto, on or off", o.seal))
	}
	out := o.out
	if out == "" {
		out = defaultRunFolder(time.Now())
	}
	mode := "sink mode: nothing leaves this machine"
	if o.forward {
		mode = "forward mode: requests go on to the real hosts"
	}
	started := func(proxyURL string) {
		fmt.Fprintf(stderr, "%s: recording %s into %s through %s (%s)\n", toolName, quoteArgv(o.argv), out, proxyURL, mode)
	}

	run, err := session.Record(ctx, session.Options{
		Argv: o.argv, Out: out, Forward: o.forward, Started: started,
		Settle: o.settle, Timeout: o.timeout, IdleStop: o.idleStop,
		PassEnv: o.passEnv, NoRedact: o.noRedact,
		Stdout: stdout, Stderr: stderr, Seal: o.seal, NoKeyLog: o.noKeyLog,
		// A sealed run covers the run folder from the tool, unless the
		// tool works in it (cwd, a command word that is a path there).
		Hide: session.HideOutput(out, append([]string{"."}, absWords(o.argv)...)...),
	})
	switch {
	case errors.Is(err, session.ErrNotFound):
		return harnessError(stderr, fmt.Errorf("%w; nothing was started", err))
	case errors.Is(err, session.ErrSealUnavailable):
		return harnessError(stderr, fmt.Errorf("%w; nothing was started (--seal auto records with the proxy alone)", err))
	case errors.Is(err, session.ErrRunFolder):
		return harnessError(stderr, fmt.Errorf("cannot write the run folder %s: %w; choose another --out", out, innermost(err)))
	case run == nil && err != nil:
		return harnessError(stderr, err)
	}
	printCapture(stdout, stderr, out)
	printEgress(stderr, out)
	switch {
	case errors.Is(err, session.ErrTimeout):
		return harnessError(stderr, fmt.Errorf("%s timed out after %s: killed %d process(es) (see %s); the capture so far is kept in %s; raise --timeout, or use --idle-stop DUR for a tool that leaves a daemon running",
			o.argv[0], o.timeout, len(run.Killed), filepath.Join(out, capture.RunName), out))
	case errors.Is(err, session.ErrInterrupted):
		return harnessError(stderr, fmt.Errorf("interrupted: killed %d process(es); the capture so far is kept in %s", len(run.Killed), out))
	case err != nil:
		return harnessError(stderr, fmt.Errorf("%w; the capture so far is kept in %s", err, out))
	}
	status := fmt.Sprintf("exited with status %d", run.ExitCode)
	if run.Signal != "" {
		status = "was killed by " + run.Signal
	}
	fmt.Fprintf(stderr, "%s: %s %s; %d request(s) recorded in %s\n", toolName, o.argv[0], status, run.Exchanges, out)
	if n := len(run.Killed); n > 0 {
		fmt.Fprintf(stderr, "%s: stopped %d idle process(es) left running (--idle-stop %s)\n", toolName, n, o.idleStop)
	}
	return exitOK
}

// defaultRunFolder names a new folder in the current directory; a second
// run in the same second gets a numbered suffix.
func defaultRunFolder(now time.Time) string {
	base := "telemetry-capture-" + now.Format("20060102-150405")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); os.IsNotExist(err) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// printEgress says whether the run was sealed and what left besides the
// proxy's requests.
func printEgress(stderr io.Writer, dir string) {
	e, err := capture.ReadEgress(dir)
	if err != nil {
		return
	}
	if !e.Sealed {
		fmt.Fprintf(stderr, "%s: not sealed, egress and DNS were not observed: %s\n", toolName, e.Reason)
		return
	}
	count := map[string]int{}
	for _, f := range e.Flows {
		count[f.Kind]++
	}
	fmt.Fprintf(stderr, "%s: sealed (host %s, MAC %s): %d flow(s) through the proxy, %d transparent, %d escape(s), %d DNS question(s); see %s and %s\n",
		toolName, e.Hostname, e.MAC, count[capture.FlowProxy], count[capture.FlowTransparent], count[capture.FlowEscape], len(e.DNS),
		filepath.Join(dir, capture.PcapName), filepath.Join(dir, capture.EgressName))
	if e.Contained != nil && !*e.Contained {
		fmt.Fprintf(stderr, "%s: not contained (%s): a daemon the command started could outlive a killed harness\n", toolName, e.ContainReason)
	}
	if e.PrivateSys != nil && !*e.PrivateSys {
		fmt.Fprintf(stderr, "%s: the command saw the host's /sys (%s): a MAC address read there is not the canary\n", toolName, e.SysReason)
	}
}

// printCapture prints one row per captured exchange.
func printCapture(stdout, stderr io.Writer, dir string) {
	exs, err := capture.Load(dir)
	if err != nil && !errors.Is(err, capture.ErrTruncated) {
		fmt.Fprintf(stderr, "%s: read the capture back: %v\n", toolName, err)
		return
	}
	if len(exs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tMETHOD\tURL\tBODY\tSTATUS")
	for _, ex := range exs {
		method, url, status := ex.Method, ex.URL, "-"
		if ex.Kind != capture.KindHTTP && ex.Kind != "" {
			method = string(ex.Kind)
			if url == "" {
				url = ex.Host
			}
		}
		if r := ex.Response; r != nil {
			if r.Error != "" {
				status = "error"
			} else {
				status = fmt.Sprint(r.Status)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", ex.Seq, method, url, ex.Body.Size, status)
	}
	tw.Flush()
}

// quoteArgv shows argv on one line: words with spaces, quotes or control
// characters are quoted Go-style (a script passed with -c stays readable).
func quoteArgv(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = a
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_./:=@%+,-", r))
		}) {
			words[i] = strconv.Quote(a)
		}
	}
	return strings.Join(words, " ")
}

// innermost returns the deepest wrapped error's text (the OS reason).
// absWords are the words of argv that are absolute paths.
func absWords(argv []string) []string {
	var out []string
	for _, w := range argv {
		if filepath.IsAbs(w) {
			out = append(out, w)
		}
	}
	return out
}

func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
