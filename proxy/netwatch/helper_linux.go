package netwatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The helper runs from this package's init, the earliest point at which
// everything it uses (net, netlink, x/sys) is initialised: every package
// init after it (the reports, Ginkgo, the policy schema) is start-up cost
// of a sealed run that the helper does not need, ~18 ms on a loaded 2-core
// machine. It also means any binary that links netwatch serves as the
// helper, even one whose main or TestMain forgot to call MaybeRunHelper
// (a re-exec of such a test binary would otherwise run its whole suite
// again inside the namespace).
func init() { MaybeRunHelper() }

// MaybeRunHelper turns this process into the namespace helper when it was
// started as one, and never returns in that case. Otherwise it returns at
// once. Call it first in main, and in a test binary's TestMain before m.Run:
// Start re-executes /proc/self/exe, which is whatever binary the harness is.
func MaybeRunHelper() {
	if len(os.Args) < 2 || os.Args[1] != helperArg {
		return
	}
	os.Exit(runHelper())
}

// runHelper runs inside the fresh user, network and UTS namespaces (and,
// unless they were refused, PID and mount namespaces), with CAP_NET_ADMIN,
// CAP_NET_RAW, CAP_NET_BIND_SERVICE and CAP_SYS_ADMIN over them. It reports
// errors over the control socket, never on stderr, which is the tool's.
func runHelper() int {
	parent := os.Getppid()
	// Pid 1: Start made a PID namespace and the helper is its init.
	isInit := os.Getpid() == 1
	ctl := helperFD
	unix.CloseOnExec(ctl)
	buf := make([]byte, 1<<20)
	n, _, _, _, err := recvmsg(ctl, buf, nil, 0)
	if err != nil || n == 0 {
		return 1 // the parent is gone: nothing to report to
	}
	var cfg helperConfig
	if err := json.Unmarshal(buf[:n], &cfg); err != nil {
		sendJSON(ctl, helperReady{Error: fmt.Sprintf("decode helper config: %v", err)}, nil)
		return 1
	}
	// The host's /sys stays visible unless a private sysfs replaces it:
	// without a mount namespace of its own there is nowhere to mount one.
	noSys := "no mount namespace of its own to mount a private sysfs in (it ran without a PID namespace)"
	hidden := ""
	if len(cfg.Hide) > 0 {
		hidden = "no mount namespace of its own to cover the output folder in (it ran without a PID namespace)"
	}
	if isInit {
		if err := privateProc(cfg.RefuseProc); err != nil {
			sendJSON(ctl, helperReady{Error: err.Error(), PIDNamespace: err.Error()}, nil)
			return 1
		}
		// After privateProc: its mounts must not reach the host.
		hidden = hide(cfg.Hide)
		noSys = ""
		if err := privateSys(cfg.RefuseSys); err != nil {
			noSys = err.Error() // not fatal: the namespace is sealed all the same
		}
	}
	// The tool's root is pinned last, so that its binds carry the private
	// /proc and /sys. Not fatal: the run says the container facts were not
	// applied, and the tool sees the host's root.
	noRoot := ""
	if cfg.Container != ContainerHost {
		noRoot = "no mount namespace of its own to build the tool's root in (it ran without a PID namespace)"
		if isInit {
			noRoot = ""
			if err := pinRoot(cfg.Container); err != nil {
				noRoot = err.Error()
			}
		}
	}
	ready, files, err := setupNamespace(cfg)
	if err != nil {
		closeAll(files)
		ready.Error = err.Error()
		sendJSON(ctl, ready, nil)
		return 1
	}
	ready.Sys, ready.Hidden = noSys, hidden
	ready.Root = noRoot
	if cfg.Probe {
		closeAll(files)
		sendJSON(ctl, ready, nil)
		return 0
	}
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = f.fd
		ready.Files = append(ready.Files, f.name)
	}
	err = sendJSON(ctl, ready, fds)
	// The parent holds its own copies now; ours must not reach the tool.
	closeAll(files)
	if err != nil {
		return 1
	}
	if isInit {
		return runInit(ctl, buf, cfg.Container != ContainerHost)
	}
	return awaitGo(ctl, buf, parent)
}

// privateProc gives the PID namespace its own /proc, in a mount namespace
// whose mounts no longer propagate to the host: tools look their pids up
// in /proc (Pants does), and the host's /proc shows other numbers. refuse,
// when set, fails on purpose in its place (tests).
func privateProc(refuse string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make the mounts private (mount --make-rslave /): %w", err)
	}
	if refuse != "" {
		return fmt.Errorf("mount a private proc on /proc: %s", refuse)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount a private proc on /proc: %w", err)
	}
	return nil
}

// hide covers each folder with an empty tmpfs that only this mount namespace
// sees (the mounts no longer propagate to the host, see privateProc): the
// harness, outside, keeps writing the real folder. It returns why a folder
// stays visible, or "".
func hide(dirs []string) string {
	for _, d := range dirs {
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k,mode=0700"); err != nil {
			return fmt.Sprintf("cover %s with a private tmpfs: %v", d, err)
		}
	}
	return ""
}

// privateSys mounts a sysfs of the namespace's own on /sys. sysfs shows
// the network interfaces of its mounter's network namespace, so
// /sys/class/net then lists only the namespace's (lo and the sink) and
// /sys/class/net/sink0/address is the canary MAC: with the host's /sys a
// tool reading the MAC there would send the host's real one, which the
// harness does not know and cannot catch. The host's read-only and atime
// flags are carried over, because in a user namespace the kernel refuses
// a mount less restricted than the one it shadows. Whatever was mounted
// under the host's /sys (/sys/fs/cgroup, ...) is hidden from the tool.
// refuse, when set, fails on purpose in its place (tests).
func privateSys(refuse string) error {
	if refuse != "" {
		return fmt.Errorf("mount a private sysfs on /sys: %s", refuse)
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	var st unix.Statfs_t
	if err := unix.Statfs("/sys", &st); err == nil {
		if st.Flags&unix.ST_RDONLY != 0 {
			flags |= unix.MS_RDONLY
		}
		switch {
		case st.Flags&unix.ST_NOATIME != 0:
			flags |= unix.MS_NOATIME
		case st.Flags&unix.ST_RELATIME == 0:
			flags |= unix.MS_STRICTATIME
		}
		if st.Flags&unix.ST_NODIRATIME != 0 {
			flags |= unix.MS_NODIRATIME
		}
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", flags, ""); err != nil {
		return fmt.Errorf("mount a private sysfs on /sys: %w", err)
	}
	return nil
}

// readGo receives the tool's command line and stdio (Go's message) and
// resolves the program. On failure it has told the parent and returns
// ok false with the helper's exit code.
func readGo(ctl int, buf []byte) (cmd helperGo, path string, stdio []int, code int, ok bool) {
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := recvmsg(ctl, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil || n == 0 {
		return cmd, "", nil, 0, false // Close before Go: the run was abandoned
	}
	fail := func(format string, args ...any) (helperGo, string, []int, int, bool) {
		closeFDs(stdio)
		sendJSON(ctl, helperExecError{Error: fmt.Sprintf(format, args...)}, nil)
		return cmd, "", nil, 127, false
	}
	if stdio, err = parseRights(oob[:oobn]); err != nil {
		return fail("receive stdio: %v", err)
	}
	if err := json.Unmarshal(buf[:n], &cmd); err != nil {
		return fail("decode command: %v", err)
	}
	if len(stdio) != 3 {
		return fail("receive stdio: got %d descriptors, want 3", len(stdio))
	}
	if len(cmd.Argv) == 0 {
		return fail("empty command line")
	}
	if path, err = lookPath(cmd.Argv[0], cmd.Env); err != nil {
		return fail("%v", err)
	}
	return cmd, path, stdio, 0, true
}

// forwarded are the signals the helper, as init, passes on to the tool:
// the kernel delivers none to an init that does not handle them.
var forwarded = []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// runInit is the helper as its PID namespace's init: it starts the tool as
// its child, reports its pid and exit status to the parent, forwards
// signals to it, and reaps every process of the namespace (orphans
// reparent to init) until none is left. When the helper exits, for
// whatever reason (the parent died: Pdeathsig, or closed the control
// socket), the kernel kills every process in the namespace.
func runInit(ctl int, buf []byte, cgroupNS bool) int {
	cmd, path, stdio, code, ok := readGo(ctl, buf)
	if !ok {
		return code
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	pid, noCgroup, err := startTool(path, cmd, stdio, cgroupNS)
	closeFDs(stdio)
	if err != nil {
		sendJSON(ctl, helperExecError{Error: fmt.Sprintf("exec %s: %v", path, err)}, nil)
		return 127
	}
	// The pidfd tells the parent the tool's host pid, and names the tool
	// for signals even after its pid was reaped and reused.
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		sendJSON(ctl, helperExecError{Error: fmt.Sprintf("pidfd_open (Linux 5.3 or later): %v", err)}, nil)
		return 127
	}
	if err := sendJSON(ctl, helperEvent{Started: pid, Cgroup: noCgroup}, []int{pidfd}); err != nil {
		return 1
	}
	// Nothing is reaped before the parent has read the pid (a reaped
	// process has none).
	if n, _, _, _, err := recvmsg(ctl, buf, nil, 0); err != nil || n == 0 {
		return 1
	}
	go func() {
		// EOF: the parent closed the sandbox or died. Exiting kills all.
		b := make([]byte, 64)
		for {
			n, _, _, _, err := unix.Recvmsg(ctl, b, nil, 0)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n == 0 {
				os.Exit(1)
			}
		}
	}()
	go func() {
		for s := range sigs {
			_ = unix.PidfdSendSignal(pidfd, s.(unix.Signal), nil, 0)
		}
	}()
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0 // ECHILD: the namespace is empty
		}
		if wpid == pid {
			if err := sendJSON(ctl, helperEvent{Exited: true, Status: int(ws)}, nil); err != nil {
				return 1
			}
		}
	}
}

// startTool forks and execs the tool in its own process group, with stdio
// as its descriptors 0, 1 and 2, from a thread that dropped the
// capabilities first (they are per thread, and a child inherits its
// forking thread's). The thread stays locked, so the runtime never reuses
// it for anything else. With cgroupNS the thread first enters a cgroup
// namespace of its own (namespaces are per thread too), so that the tool's
// /proc/self/cgroup shows "/" and no host path ("docker", a runner's
// slice); noCgroup says why not when the kernel refused.
func startTool(path string, cmd helperGo, stdio []int, cgroupNS bool) (pid int, noCgroup string, err error) {
	type result struct {
		pid      int
		noCgroup string
		err      error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		var r result
		if cgroupNS {
			if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
				r.noCgroup = fmt.Sprintf("unshare a cgroup namespace: %v", err)
			}
		}
		dropPrivileges()
		r.pid, r.err = syscall.ForkExec(path, cmd.Argv, &syscall.ProcAttr{
			Dir:   cmd.Dir,
			Env:   cmd.Env,
			Files: []uintptr{uintptr(stdio[0]), uintptr(stdio[1]), uintptr(stdio[2])},
			Sys:   &syscall.SysProcAttr{Setpgid: true},
		})
		done <- r
	}()
	r := <-done
	return r.pid, r.noCgroup, r.err
}

// awaitGo waits for the tool's command line and execs it, when the helper
// is not a PID namespace's init (the fallback). It returns only when exec
// failed or the parent went away.
func awaitGo(ctl int, buf []byte, parent int) int {
	cmd, path, stdio, code, ok := readGo(ctl, buf)
	if !ok {
		return code
	}
	fail := func(format string, args ...any) int {
		sendJSON(ctl, helperExecError{Error: fmt.Sprintf(format, args...)}, nil)
		return 127
	}
	for i, fd := range stdio {
		// dup3 without O_CLOEXEC: these are the tool's 0, 1 and 2.
		if err := unix.Dup3(fd, i, 0); err != nil {
			return fail("set up fd %d: %v", i, err)
		}
	}
	if cmd.Dir != "" {
		if err := unix.Chdir(cmd.Dir); err != nil {
			return fail("chdir %s: %v", cmd.Dir, err)
		}
	}
	// Pdeathsig belongs to a thread, and exec keeps only the calling
	// thread's: the one the parent set may be on another of the runtime's
	// threads. Set it again on this one, then make sure the parent did not
	// die in between (we would have been reparented).
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fail("set parent-death signal: %v", err)
	}
	if os.Getppid() != parent {
		return 1
	}
	dropPrivileges()
	err := unix.Exec(path, cmd.Argv, cmd.Env)
	return fail("exec %s: %v", path, err)
}

// dropPrivileges keeps the tool from reconfiguring the namespace: a non-root
// tool loses the ambient capabilities the helper was given; a root one (uid 0
// inside maps to root outside) loses CAP_NET_ADMIN and CAP_NET_RAW from its
// bounding set. Failures are ignored: the seal does not depend on them (the
// namespace has no way out), only the capture's completeness does.
func dropPrivileges() {
	_ = unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if os.Geteuid() == 0 {
		_ = unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_NET_ADMIN, 0, 0, 0)
		_ = unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_NET_RAW, 0, 0, 0)
	}
}

// lookPath resolves name with the tool's own PATH, not the helper's (empty).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("find %q in PATH %q: not found", name, path)
}
