package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// Kill reasons recorded in capture.Killed.
const (
	ReasonTimeout     = "timeout"
	ReasonIdle        = "idle"
	ReasonInterrupted = "interrupted"
	// ReasonError: the harness could not watch the processes any more
	// (e.g. /proc unreadable), so it ends them rather than leak them.
	ReasonError = "harness error"
)

// Defaults for zero durations in Spec.
const (
	DefaultTimeout   = 60 * time.Second
	DefaultKillGrace = 2 * time.Second
)

// Conns reports the client connections open on the recording proxy; the
// proxy implements it. The channel is closed at the next change, so waiting
// on it never polls.
type Conns interface {
	OpenConns() (n int, changed <-chan struct{})
}

// Spec is one command to run under supervision.
type Spec struct {
	// Argv is the command and its arguments, run directly (never through a
	// shell). Argv[0] is looked up in the PATH of Env when it has no slash.
	Argv []string
	// Dir is the working directory; empty means the harness's.
	Dir string
	// Env is the complete environment (see BuildEnv); Supervise adds a
	// marker variable with a random name and value when there is no
	// Launcher (see marker).
	Env []string
	// ID names the session in errors and logs. Required, unique per
	// session. It never reaches the command.
	ID string
	// Stdout and Stderr receive the command's output (and its
	// descendants'). An *os.File is handed to the command directly; any
	// other writer is fed through a pipe. Nil discards.
	Stdout, Stderr io.Writer
	// Settle is how long the tree must stay quiet (no process, no open
	// connection) before recording ends; zero ends at the first quiet
	// moment.
	Settle time.Duration
	// Timeout bounds the whole run; what is alive then is killed. Zero
	// means DefaultTimeout.
	Timeout time.Duration
	// IdleStop, when positive, stops descendants left running after the
	// command exited once, for a whole IdleStop window, no connection was
	// opened or closed, nothing was recorded, no process started and they
	// used at most 1% of one CPU. A connection left open counts as activity
	// unless conns also has an Exchanges() int64 method (the proxy does):
	// then an open but silent connection is idle too. Zero waits for them
	// (until Timeout).
	IdleStop time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL. Zero means
	// DefaultKillGrace.
	KillGrace time.Duration
	// Launcher, when set, starts the command instead of a plain fork and
	// exec (a sealed network namespace), and names processes that belong to
	// the run whatever their ancestry. Nil: exec in a new process group.
	Launcher Launcher
	// TTY gives the command a terminal: a new pseudo-terminal is its
	// stdin, stdout and stderr (so everything it prints goes to Stdout,
	// Stderr gets nothing). False: stdin is /dev/null and the streams are
	// files or pipes.
	TTY bool
}

// Launcher starts a command somewhere a plain exec cannot put it, such as a
// sealed network namespace. The command must still be the harness's child
// (the tracker reaps and attributes through that).
type Launcher interface {
	// Launch starts argv (argv[0] looked up in env's PATH) with exactly
	// env, in dir, reading stdin (nil: /dev/null), writing to stdout and
	// stderr, and returns its pid.
	Launch(argv, env []string, dir string, stdin, stdout, stderr *os.File) (pid int, err error)
	// Wait waits for the launched command and returns its wait status;
	// ok is false when none is known.
	Wait() (ws syscall.WaitStatus, ok bool)
	// Members lists pids that belong to the run whatever their ancestry
	// (every process in the namespace), so a daemon that cleared its
	// environment and left the session is still waited for.
	Members() ([]int, error)
}

// noConns is used when there is no proxy to ask.
type noConns struct{}

func (noConns) OpenConns() (int, <-chan struct{}) { return 0, nil }

// ErrTimeout is wrapped by the error Supervise returns when the run hit its
// timeout.
var ErrTimeout = errors.New("timed out")

// ErrInterrupted is wrapped by the error Supervise returns when ctx was
// cancelled.
var ErrInterrupted = errors.New("interrupted")

// Supervise runs spec.Argv in its own process group, with the harness as
// child subreaper, and waits for it and for every late sender: after the
// command exits it goes on while any descendant lives or conns reports an
// open connection, and ends the moment neither holds (after spec.Settle).
// Waiting is driven by events only: the command's exit, pidfds of the
// descendants, connection changes and timers.
//
// The returned Run is filled as far as the run went (never nil once the
// command started); the error wraps ErrTimeout or ErrInterrupted when the run
// was cut short.
func Supervise(ctx context.Context, spec Spec, conns Conns) (*capture.RunFacts, error) {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return nil, errors.New("supervise: no command")
	}
	if spec.ID == "" {
		return nil, errors.New("supervise: no session id")
	}
	if conns == nil {
		conns = noConns{}
	}
	if spec.Timeout <= 0 {
		spec.Timeout = DefaultTimeout
	}
	if spec.KillGrace <= 0 {
		spec.KillGrace = DefaultKillGrace
	}
	// Process-wide and idempotent: orphans of any session reparent to the
	// harness, which the tracker then attributes and reaps.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become child subreaper: %w", err)
	}
	env := slices.Clone(spec.Env)
	markerEnv := ""
	if spec.Launcher == nil {
		m, err := newMarker()
		if err != nil {
			return nil, err
		}
		markerEnv = m.String()
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, m.name+"=") })
		env = append(env, markerEnv)
	}
	path, err := LookPath(spec.Argv[0], spec.Dir, env)
	if err != nil {
		return nil, err
	}

	run := &capture.RunFacts{Argv: append([]string(nil), spec.Argv...), Dir: spec.Dir, EnvKeys: envKeys(env), ExitCode: -1}
	var stdin *os.File
	var stdout, stderr *output
	if spec.TTY {
		if stdout, err = newTTYOutput(spec.Stdout); err != nil {
			return nil, err
		}
		stdin = stdout.child
		stderr = &output{child: stdout.child} // one terminal for all three
	} else {
		if stdout, err = newOutput(spec.Stdout); err != nil {
			return nil, err
		}
		if stderr, err = newOutput(spec.Stderr); err != nil {
			stdout.finish()
			return nil, err
		}
	}
	defer stdout.finish()
	defer stderr.finish()

	launch := spec.Launcher
	if launch == nil {
		launch = &execLauncher{path: path}
	}
	deadline := time.NewTimer(spec.Timeout)
	defer deadline.Stop()
	run.Start = time.Now()
	pid, err := launch.Launch(spec.Argv, env, spec.Dir, stdin, stdout.child, stderr.child)
	if err != nil {
		run.End = time.Now()
		return run, fmt.Errorf("start %s: %w", spec.Argv[0], err)
	}
	stdout.started()
	stderr.started()

	t, err := newTracker("/proc", markerEnv, pid)
	if err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		launch.Wait()
		return run, err
	}
	if spec.Launcher != nil {
		t.extra = spec.Launcher.Members
	}
	defer t.close()

	mainDone := make(chan struct{})
	var (
		mainExit time.Time // written before mainDone closes
		mainWS   syscall.WaitStatus
		mainOK   bool
	)
	go func() {
		mainWS, mainOK = launch.Wait()
		mainExit = time.Now()
		close(mainDone)
	}()

	var reason string
	select {
	case <-mainDone:
		run.MainExit = mainExit
		reason, err = lateSenders(ctx, spec, t, conns, deadline.C, run)
	case <-deadline.C:
		reason = ReasonTimeout
	case <-ctx.Done():
		reason = ReasonInterrupted
	}
	if reason != "" {
		killed, kerr := t.stop(reason, spec.KillGrace)
		run.Killed = append(run.Killed, killed...)
		err = errors.Join(err, kerr)
	}
	// The command has exited or was just killed: its reaping is certain.
	exited := false
	select {
	case <-mainDone:
		exited = true
	case <-time.After(killWait):
		err = errors.Join(err, fmt.Errorf("%s did not exit after SIGKILL", spec.Argv[0]))
	}
	if exited {
		run.MainExit = mainExit
	}
	if exited && mainOK {
		if mainWS.Signaled() {
			run.Signal = unix.SignalName(mainWS.Signal())
		} else {
			run.ExitCode = mainWS.ExitStatus()
		}
	}
	// Reap what the kill left as zombies before the pidfds close.
	_, _ = t.scan()
	run.End = time.Now()
	switch reason {
	case ReasonTimeout:
		run.TimedOut = true
		err = errors.Join(fmt.Errorf("%w after %s: killed %d process(es)", ErrTimeout, spec.Timeout, len(run.Killed)), err)
	case ReasonInterrupted:
		err = errors.Join(fmt.Errorf("%w: killed %d process(es)", ErrInterrupted, len(run.Killed)), err)
	}
	return run, err
}

// lateSenders waits, after the command exited, for its descendants and the
// proxy's connections. It returns a kill reason when the run must be cut
// short; idle descendants are stopped here and recorded in run.Killed.
func lateSenders(ctx context.Context, spec Spec, t *tracker, conns Conns, deadline <-chan time.Time, run *capture.RunFacts) (string, error) {
	var (
		settle, idle *time.Timer
		settled      bool
	)
	stopTimer := func(tm **time.Timer) {
		if *tm != nil {
			(*tm).Stop()
			*tm = nil
		}
	}
	defer stopTimer(&settle)
	defer stopTimer(&idle)
	// Idle means at most 1% of one CPU: USER_HZ is 100 ticks/s.
	idleTicks := uint64(spec.IdleStop / time.Second)
	// A proxy that counts its exchanges lets a connection that stays open
	// but silent (a keep-alive pool in a daemon) count as idle: what was
	// sent on it is already recorded.
	exch, counts := conns.(interface{ Exchanges() int64 })
	var idleExch int64
	for {
		live, err := t.scan()
		if err != nil {
			return ReasonError, err
		}
		n, changed := conns.OpenConns()
		if len(live) == 0 && n == 0 && !t.unsure {
			if spec.Settle <= 0 || settled {
				return "", nil
			}
			if settle == nil {
				settle = time.NewTimer(spec.Settle)
			}
		} else {
			stopTimer(&settle)
			settled = false
		}
		if spec.IdleStop > 0 && len(live) > 0 && (n == 0 || counts) {
			if idle == nil {
				t.resetCPU(live)
				if counts {
					idleExch = exch.Exchanges()
				}
				idle = time.NewTimer(spec.IdleStop)
			}
		} else {
			stopTimer(&idle)
		}
		select {
		case <-t.exits:
		case <-t.recheck():
		case <-changed:
			// Any connection activity starts a new idle window, even one
			// that opened and closed between two looks.
			stopTimer(&idle)
		case <-timerC(settle):
			settle = nil
			settled = true
		case <-timerC(idle):
			idle = nil
			quiet, err := t.idleSince(idleTicks)
			if err != nil {
				return ReasonError, err
			}
			if quiet && (!counts || exch.Exchanges() == idleExch) {
				killed, err := t.stop(ReasonIdle, spec.KillGrace)
				run.Killed = append(run.Killed, killed...)
				if err != nil {
					return "", err
				}
			}
		case <-deadline:
			return ReasonTimeout, nil
		case <-ctx.Done():
			return ReasonInterrupted, nil
		}
	}
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

// LookPath finds the program argv0 the way the command will be started: a
// name without a slash is searched in the PATH of env, a relative path is
// taken from dir. The error says what to do.
func LookPath(argv0, dir string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		p := argv0
		if !strings.HasPrefix(p, "/") && dir != "" {
			p = dir + "/" + p
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("command %s not found: %w; check the path", argv0, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("command %s is not an executable file; check the path and its mode", argv0)
		}
		return argv0, nil
	}
	pathList := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathList = v
		}
	}
	for _, d := range strings.Split(pathList, ":") {
		if d == "" {
			d = "."
		}
		p := d + "/" + argv0
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH; install it or give its full path", argv0)
}

func envKeys(env []string) []string {
	keys := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// output hands a writer to the command. A pipe (rather than os/exec's own
// copying) keeps cmd.Wait from waiting for a daemon that inherited the
// stream; the copy ends when the last holder exits.
type output struct {
	child  *os.File
	r      *os.File
	copied chan struct{}
}

func newOutput(w io.Writer) (*output, error) {
	if w == nil {
		w = io.Discard
	}
	if f, ok := w.(*os.File); ok {
		return &output{child: f}, nil
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("make output pipe: %w", err)
	}
	o := &output{child: wr, r: r, copied: make(chan struct{})}
	go func() {
		_, _ = io.Copy(w, r)
		close(o.copied)
	}()
	return o, nil
}

// started closes the harness's copy of the write end.
func (o *output) started() {
	if o.r != nil && o.child != nil {
		o.child.Close()
		o.child = nil
	}
}

// outputDrain bounds the wait for output after the tree is gone; only a
// process outside the session can still hold the pipe.
const outputDrain = time.Second

func (o *output) finish() {
	if o.r == nil {
		return
	}
	if o.child != nil { // never started
		o.child.Close()
	}
	select {
	case <-o.copied:
	case <-time.After(outputDrain):
		_ = o.r.SetReadDeadline(time.Now())
		<-o.copied
	}
	o.r.Close()
}

// execLauncher is the plain way: fork and exec in a new process group.
type execLauncher struct {
	path string
	cmd  *exec.Cmd
}

func (l *execLauncher) Launch(argv, env []string, dir string, stdin, stdout, stderr *os.File) (int, error) {
	l.cmd = &exec.Cmd{
		Path:        l.path,
		Args:        argv,
		Dir:         dir,
		Env:         env,
		Stdout:      stdout,
		Stderr:      stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if stdin != nil { // a nil *os.File in the interface would be read
		l.cmd.Stdin = stdin
	}
	if err := l.cmd.Start(); err != nil {
		return 0, err
	}
	return l.cmd.Process.Pid, nil
}

func (l *execLauncher) Wait() (syscall.WaitStatus, bool) {
	_ = l.cmd.Wait()
	if l.cmd.ProcessState == nil {
		return 0, false
	}
	ws, ok := l.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ws, ok
}

func (l *execLauncher) Members() ([]int, error) { return nil, nil }
