package netwatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The tool's life cycle inside the sandbox: starting it through the helper, watching it, its exit, signals.

// Command is the tool to run inside the namespace.
type Command struct {
	Argv []string // Argv[0] is looked up in Env's PATH when it has no slash
	Env  []string // the whole environment; nothing is inherited
	Dir  string   // working directory; empty: the harness's
	// Stdin, Stdout and Stderr are handed to the tool as they are (only
	// files can cross into the namespace; nil means /dev/null). Pass real
	// files, not pipes you drain, so that late senders cannot block you.
	Stdin, Stdout, Stderr *os.File
}

// toolExit records the tool's exit, once; exited false means the tool
// never ran.
func (s *Sandbox) toolExit(ws syscall.WaitStatus, exited bool) {
	s.toolOnce.Do(func() {
		s.toolStatus, s.toolExited = ws, exited
		close(s.toolDone)
	})
}

// Go starts the tool in the namespace and returns once it runs (exec
// succeeded). As init of the PID namespace the helper forks it: the tool is
// the helper's child, in its own process group; Pid is its host pid. In the
// fallback the helper execs it (same pid, the harness its parent). It may
// be called once.
func (s *Sandbox) Go(c Command) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return errors.New("start tool: already started")
	}
	if len(c.Argv) == 0 {
		return errors.New("start tool: empty command line")
	}
	s.released = true
	var stdio []int
	for _, f := range []*os.File{c.Stdin, c.Stdout, c.Stderr} {
		if f == nil {
			null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				return fmt.Errorf("start tool: %w", err)
			}
			defer null.Close()
			f = null
		}
		stdio = append(stdio, int(f.Fd()))
	}
	msg, err := json.Marshal(helperGo{Argv: c.Argv, Env: c.Env, Dir: c.Dir})
	if err != nil {
		return fmt.Errorf("start tool: %w", err)
	}
	_ = s.ctl.SetDeadline(time.Now().Add(30 * time.Second))
	if _, _, err := s.ctl.WriteMsgUnix(msg, unix.UnixRights(stdio...), nil); err != nil {
		return fmt.Errorf("start tool %s: send command to helper: %w%s", c.Argv[0], err, s.helperDeath())
	}
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := s.ctl.ReadMsgUnix(buf, oob)
	fds, _ := parseRights(oob[:oobn])
	if !s.pidns {
		closeFDs(fds)
		// A successful exec closes the helper's end (close-on-exec): EOF.
		if n == 0 && (err == nil || errors.Is(err, io.EOF)) {
			s.toolPid = s.cmd.Process.Pid
			return nil
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		closeFDs(fds)
		return fmt.Errorf("start tool %s: wait for exec: %w%s", c.Argv[0], err, s.helperDeath())
	}
	if n == 0 {
		closeFDs(fds)
		return fmt.Errorf("start tool %s: the namespace's helper exited%s", c.Argv[0], s.helperDeath())
	}
	var ev helperEvent
	if jerr := json.Unmarshal(buf[:n], &ev); jerr != nil {
		closeFDs(fds)
		return fmt.Errorf("start tool %s: decode helper reply: %w", c.Argv[0], jerr)
	}
	if ev.Error != "" || ev.Started == 0 || len(fds) != 1 {
		closeFDs(fds)
		if ev.Error == "" {
			ev.Error = fmt.Sprintf("helper reported pid %d with %d descriptors", ev.Started, len(fds))
		}
		return fmt.Errorf("start tool: %s", ev.Error)
	}
	s.noCgroup = ev.Cgroup
	pid, err := pidfdPid(fds[0])
	unix.Close(fds[0])
	if err != nil {
		_ = s.cmd.Process.Kill() // takes the tool with it
		return fmt.Errorf("start tool %s: %w", c.Argv[0], err)
	}
	s.toolPid = pid
	if _, err := s.ctl.Write([]byte("ack")); err != nil {
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("start tool %s: tell the helper: %w", c.Argv[0], err)
	}
	_ = s.ctl.SetDeadline(time.Time{})
	go s.watchTool()
	return nil
}

// helperDeath says how the helper ended, when it did (within a second):
// its exit status or signal and the tail of what it printed, so that an
// unexpected end names its cause. Empty while it lives.
func (s *Sandbox) helperDeath() string {
	select {
	case <-s.helperDone:
	case <-time.After(time.Second):
		return ""
	}
	what := "helper not started"
	if ps := s.cmd.ProcessState; ps != nil {
		what = "helper " + ps.String()
	}
	if out := strings.TrimSpace(s.helperErr.String()); out != "" {
		what += ": " + out
	}
	return " (" + what + ")"
}

// pidfdPid reads a pidfd's pid as the harness's /proc shows it (fdinfo
// translates it into the reader's PID namespace).
func pidfdPid(fd int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return 0, fmt.Errorf("read the tool's pid: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || pid <= 0 {
				return 0, fmt.Errorf("read the tool's pid: fdinfo says %q", line)
			}
			return pid, nil
		}
	}
	return 0, errors.New("read the tool's pid: no Pid line in the pidfd's fdinfo (Linux 5.3 or later needed)")
}

// watchTool reads the helper's report of the tool's exit. A helper that
// died without one was killed, and the kernel killed the tool with it.
func (s *Sandbox) watchTool() {
	buf := make([]byte, 4096)
	for {
		n, err := s.ctl.Read(buf)
		if err != nil || n == 0 {
			break
		}
		var ev helperEvent
		if json.Unmarshal(buf[:n], &ev) == nil && ev.Exited {
			s.toolExit(syscall.WaitStatus(ev.Status), true)
			return
		}
	}
	<-s.helperDone
	s.toolExit(syscall.WaitStatus(syscall.SIGKILL), true)
}

// ExitError is Wait's error for a tool that exited non-zero or was killed
// by a signal.
type ExitError struct{ Status syscall.WaitStatus }

func (e *ExitError) Error() string {
	if e.Status.Signaled() {
		return "signal: " + e.Status.Signal().String()
	}
	return fmt.Sprintf("exit status %d", e.Status.ExitStatus())
}

// Wait waits for the tool to exit and returns nil or an *ExitError. Before
// Go it waits for the helper (Close ends it). Processes the tool left
// behind in the namespace are not waited for: see Processes.
func (s *Sandbox) Wait() error {
	<-s.toolDone
	if !s.toolExited {
		return errors.New("wait for tool: it never started")
	}
	if s.toolStatus.Exited() && s.toolStatus.ExitStatus() == 0 {
		return nil
	}
	return &ExitError{Status: s.toolStatus}
}

// Done is closed when the tool has exited.
func (s *Sandbox) Done() <-chan struct{} { return s.toolDone }

// Pid is the tool's pid as the harness sees it, 0 before Go. Inside the
// namespace the tool has another, small one.
func (s *Sandbox) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.toolPid
}

// ExitStatus is the tool's wait status; ok is false until it exited.
func (s *Sandbox) ExitStatus() (ws syscall.WaitStatus, ok bool) {
	select {
	case <-s.toolDone:
		return s.toolStatus, s.toolExited
	default:
		return 0, false
	}
}

// Signal sends sig to every process in the namespace and to the tool's
// process group.
func (s *Sandbox) Signal(sig syscall.Signal) error {
	pids, err := s.Processes()
	if pid := s.Pid(); pid > 0 && !s.pidns {
		// Without a PID namespace the tool is the helper, the harness's
		// child: until it is reaped its group id cannot be another's. With
		// one, every member of the tool's group is in the namespace (and
		// the tool's pid, reaped by the helper, may be reused at once).
		select {
		case <-s.helperDone:
		default:
			_ = unix.Kill(-pid, sig)
		}
	}
	for _, pid := range pids {
		_ = unix.Kill(pid, sig)
	}
	return err
}
