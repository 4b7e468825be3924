package netwatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Options configures a sealed namespace.
type Options struct {
	// Hostname is the canary hostname set in the namespace's UTS namespace.
	// Empty: a random "th-<hex>" name (read it back with Hostname).
	Hostname string
	// MAC is the canary hardware address of the sink device, which Python's
	// uuid.getnode() returns inside. It must be unicast and should be
	// universally administered (first byte's two low bits clear), because
	// Python prefers such addresses. Nil: a random one of that kind.
	MAC net.HardwareAddr
	// PcapPath is where packets.pcapng is written (mode 0600). Empty: no
	// file; flows are still classified.
	PcapPath string
	// DNSLogPath is where every DNS question is streamed as JSON lines
	// (dns.jsonl). Empty: no file; DNSQueries still has them.
	DNSLogPath string
	// NoPIDNamespace runs the tool without a PID namespace, as on a host
	// that refuses one: a daemon the tool forks then outlives a killed
	// harness (see PIDNamespace). For comparisons and tests.
	NoPIDNamespace bool
	// Container pins the container facts the tool sees: ContainerNone,
	// ContainerDocker or ContainerPodman build the tool a root of its own
	// that shows that marker only (/.dockerenv, /run/.containerenv) and put
	// it in a cgroup namespace of its own (no host path in
	// /proc/self/cgroup). ContainerHost (empty) shows the host's root as
	// it is. See ContainerFacts for whether it could be applied.
	Container string
	// Hide lists folders the tool must not see (the harness's output): each
	// gets an empty private tmpfs on top inside the namespace's mount
	// namespace, so the tool can neither read nor change what the harness
	// writes there from outside. Without a PID (and so mount) namespace
	// they stay visible; Hidden says why.
	Hide []string

	// refuseProc makes the helper fail its /proc mount with this reason
	// (tests of the fallback; see export_test.go).
	refuseProc string
	// refuseSys makes the helper fail its sysfs mount with this reason.
	refuseSys string
}

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

// Sandbox is one sealed network namespace, its listeners and its capture.
// Its methods are safe for concurrent use.
type Sandbox struct {
	cmd      *exec.Cmd // the helper
	ctl      *net.UnixConn
	info     helperReady
	hostname string
	mac      net.HardwareAddr
	netnsDev uint64
	netnsIno uint64
	// pidns is true when the helper is the init of a PID namespace; else
	// noPIDNS says why not.
	pidns              bool
	noPIDNS            string
	pidnsDev, pidnsIno uint64
	// nsFiles hold the namespaces open so that their identities stay
	// theirs until Close (see holdNS).
	nsFiles []*os.File
	// container is Options.Container; noCgroup says why the tool shares
	// the helper's cgroup namespace (set by Go).
	container string
	noCgroup  string

	proxyL, httpsL, httpL net.Listener
	dnsConn               *net.UDPConn
	capture               *capture
	dns                   *dnsResponder
	pcapFile, dnsFile     *os.File
	marker                []byte

	// helperDone is closed when the helper was reaped.
	helperDone chan struct{}
	// helperErr keeps the end of the helper's stderr.
	helperErr tailBuffer

	// toolDone is closed when the tool exited (or, never started, when the
	// helper did); toolStatus and toolExited say how.
	toolDone   chan struct{}
	toolOnce   sync.Once
	toolStatus syscall.WaitStatus
	toolExited bool

	mu       sync.Mutex
	released bool
	toolPid  int // host pid; in the fallback the helper's, which execs the tool

	closeOnce sync.Once
	closeErr  error
}

// setupTimeout bounds the helper's setup when ctx has no deadline.
const setupTimeout = 10 * time.Second

// Start makes a sealed namespace and returns it with its listeners open and
// its capture running; the tool does not run until Go. ctx bounds the setup
// only. Call Close in every case. When namespaces cannot be made, the error
// matches ErrUnavailable (see Available).
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	return start(ctx, opts, false)
}

// start makes the namespace with a PID namespace whose init is the helper,
// and, where that is refused (clone with CLONE_NEWPID|CLONE_NEWNS, or the
// mount of a private /proc, as in some containers), again without one: the
// reason is kept (PIDNamespace), never dropped.
func start(ctx context.Context, opts Options, probe bool) (*Sandbox, error) {
	if opts.NoPIDNamespace {
		s, err := startOnce(ctx, opts, probe, false)
		if s != nil {
			s.noPIDNS = "switched off (NoPIDNamespace)"
		}
		return s, err
	}
	s, err := startOnce(ctx, opts, probe, true)
	var refused *pidnsRefused
	if !errors.As(err, &refused) {
		return s, err
	}
	s, err = startOnce(ctx, opts, probe, false)
	if err != nil {
		return nil, fmt.Errorf("%w (and with a PID namespace: %w)", err, refused.err)
	}
	s.noPIDNS = refused.err.Error()
	return s, nil
}

// pidnsRefused wraps a failure that only the PID namespace part caused.
type pidnsRefused struct{ err error }

func (e *pidnsRefused) Error() string { return e.err.Error() }
func (e *pidnsRefused) Unwrap() error { return e.err }

func startOnce(ctx context.Context, opts Options, probe, pidns bool) (_ *Sandbox, err error) {
	if err := checkContainer(opts.Container); err != nil {
		return nil, fmt.Errorf("start namespace: %w", err)
	}
	s := &Sandbox{
		hostname: opts.Hostname, mac: opts.MAC, pidns: pidns, container: opts.Container,
		helperDone: make(chan struct{}), toolDone: make(chan struct{}),
	}
	if s.hostname == "" {
		s.hostname = "th-" + randomHex(6)
	}
	if len(s.hostname) > 64 {
		return nil, fmt.Errorf("start namespace: hostname %q is longer than 64 bytes", s.hostname)
	}
	if s.mac == nil {
		s.mac = randomMAC()
	}
	if len(s.mac) != 6 || s.mac[0]&1 != 0 {
		return nil, fmt.Errorf("start namespace: canary MAC %s must be a 6-byte unicast address", s.mac)
	}
	s.marker = []byte("netwatch-drain-" + randomHex(16))

	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("start namespace: socketpair: %w", err)
	}
	child := os.NewFile(uintptr(pair[1]), "netwatch-helper-ctl")
	parent := os.NewFile(uintptr(pair[0]), "netwatch-ctl")
	conn, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		child.Close()
		return nil, fmt.Errorf("start namespace: control socket: %w", err)
	}
	s.ctl = conn.(*net.UnixConn)

	s.cmd = &exec.Cmd{
		Path: "/proc/self/exe",
		// The tool can read the helper's command line and environment
		// (/proc/1 of its PID namespace): both look like a container's
		// init and name nothing of the harness.
		Args: []string{"init", helperArg},
		// Not empty: a harness tracking its children's environments sees
		// at once that the helper carries no session marker.
		Env:        []string{"LANG=C"},
		ExtraFiles: []*os.File{child},
		// The helper reports over the control socket; what it prints is a
		// crash (a Go panic, a fatal runtime error), kept for the error
		// that says it died.
		Stderr:      &s.helperErr,
		SysProcAttr: sysProcAttr(pidns),
	}
	if err := s.startHelper(); err != nil {
		child.Close()
		s.ctl.Close()
		err = fmt.Errorf("start namespace helper: %w", err)
		if pidns {
			return nil, &pidnsRefused{fmt.Errorf("clone a PID and mount namespace: %w", err)}
		}
		return nil, diagnose(err, readHostFacts())
	}
	child.Close()
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	var f *os.File
	f, s.netnsDev, s.netnsIno = holdNS(s.cmd.Process.Pid, "net")
	s.nsFiles = append(s.nsFiles, f)
	if pidns {
		f, s.pidnsDev, s.pidnsIno = holdNS(s.cmd.Process.Pid, "pid")
		s.nsFiles = append(s.nsFiles, f)
	}

	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(setupTimeout)
	}
	_ = s.ctl.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = s.ctl.SetDeadline(time.Now()) })
	defer stop()

	cfg, _ := json.Marshal(helperConfig{Hostname: s.hostname, MAC: s.mac.String(), Probe: probe, RefuseProc: opts.refuseProc, RefuseSys: opts.refuseSys, Container: opts.Container, Hide: opts.Hide})
	if _, err := s.ctl.Write(cfg); err != nil {
		return nil, fmt.Errorf("start namespace: send config to helper: %w", err)
	}
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(8*4))
	n, oobn, _, _, err := s.ctl.ReadMsgUnix(buf, oob)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("start namespace: read helper reply: %w", err)
	}
	fds, perr := parseRights(oob[:oobn])
	if n == 0 {
		closeFDs(fds)
		return nil, diagnose(errors.New("start namespace: the helper exited without a reply; does main (or TestMain) call netwatch.MaybeRunHelper first?"), readHostFacts())
	}
	if err := json.Unmarshal(buf[:n], &s.info); err != nil {
		closeFDs(fds)
		return nil, fmt.Errorf("start namespace: decode helper reply: %w", err)
	}
	if s.info.Error != "" {
		closeFDs(fds)
		if s.info.PIDNamespace != "" {
			return nil, &pidnsRefused{errors.New(s.info.PIDNamespace)}
		}
		return nil, diagnose(fmt.Errorf("set up namespace: %s", s.info.Error), readHostFacts())
	}
	if probe {
		closeFDs(fds)
		return s, nil
	}
	if perr != nil {
		closeFDs(fds)
		return nil, fmt.Errorf("start namespace: helper sent %d descriptors for %d names: %w", len(fds), len(s.info.Files), perr)
	}
	if len(fds) != len(s.info.Files) {
		closeFDs(fds)
		return nil, fmt.Errorf("start namespace: helper sent %d descriptors for %d names", len(fds), len(s.info.Files))
	}
	_ = s.ctl.SetDeadline(time.Time{})
	if err := s.adopt(fds, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// startHelper starts the helper from a goroutine locked to its thread, which
// stays until the helper is reaped: Pdeathsig fires when the forking thread
// exits, not the process, and the Go runtime may end an unlocked thread.
func (s *Sandbox) startHelper() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- err
			close(s.helperDone)
			return
		}
		started <- nil
		_ = s.cmd.Wait() // the status is in ProcessState
		if !s.pidns {
			// The helper became the tool (exec): its status is the tool's.
			ws, _ := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
			s.toolExit(ws, s.isReleased())
		}
		close(s.helperDone)
	}()
	return <-started
}

func (s *Sandbox) isReleased() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.released
}

// toolExit records the tool's exit, once; exited false means the tool
// never ran.
func (s *Sandbox) toolExit(ws syscall.WaitStatus, exited bool) {
	s.toolOnce.Do(func() {
		s.toolStatus, s.toolExited = ws, exited
		close(s.toolDone)
	})
}

// nsID identifies a process's namespace of the given kind (0, 0 if gone).
// holdNS opens a process's namespace of the given kind and returns it with
// its identity (nil, 0, 0 if the process is gone). Processes are matched
// against that identity (Processes), and a namespace's inode number is
// reused as soon as the namespace is freed: a PID namespace is freed when
// its init dies, and the next sandbox's namespace may get the same number
// at once, so that this sandbox would see, and at Close kill, another
// run's processes. The open file keeps the namespace, and its number,
// until Close.
func holdNS(pid int, kind string) (f *os.File, dev, ino uint64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		return nil, 0, 0
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		f.Close()
		return nil, 0, 0
	}
	return f, st.Dev, st.Ino
}

func sysProcAttr(pidns bool) *syscall.SysProcAttr {
	uid, gid := os.Getuid(), os.Getgid()
	uidMap := []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
	gidMap := []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	setgroups := false
	if os.Geteuid() == 0 {
		// Root may map every id: the tool then sees files as it would
		// outside, owners and all.
		uidMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}}
		gidMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}}
		setgroups = true
	}
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWUTS)
	if pidns {
		// The helper is pid 1 of a new PID namespace: when it dies, the
		// kernel kills every process in it. A new mount namespace gives it
		// its own /proc.
		flags |= unix.CLONE_NEWPID | unix.CLONE_NEWNS
	}
	return &syscall.SysProcAttr{
		Cloneflags:                 flags,
		UidMappings:                uidMap,
		GidMappings:                gidMap,
		GidMappingsEnableSetgroups: setgroups,
		// Over the new namespaces only; CAP_SYS_ADMIN is for sethostname in
		// the UTS namespace. The helper clears them all before the exec.
		AmbientCaps: []uintptr{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW, unix.CAP_NET_BIND_SERVICE, unix.CAP_SYS_ADMIN},
		// The helper dies with the harness; as init it takes the whole
		// PID namespace with it (else only the tool it becomes).
		Pdeathsig: syscall.SIGKILL,
		// Its own process group: a terminal's signals to the harness's
		// group do not reach it. In the fallback the helper becomes the
		// tool, whose group Close kills.
		Setpgid: true,
	}
}

// adopt wraps the helper's descriptors and starts serving DNS and capturing.
func (s *Sandbox) adopt(fds []int, opts Options) error {
	byName := map[string]int{}
	for i, name := range s.info.Files {
		byName[name] = fds[i]
	}
	files := map[string]*os.File{}
	for name, fd := range byName {
		files[name] = os.NewFile(uintptr(fd), "netwatch-"+name)
	}
	// The net wrappers hold duplicates; only the packet socket is kept as it
	// is, and only once the capture owns it.
	defer func() {
		for name, f := range files {
			if name != "packet" || s.capture == nil {
				f.Close()
			}
		}
	}()
	for _, name := range []string{"packet", "proxy", "https", "http", "dns"} {
		if files[name] == nil {
			return fmt.Errorf("start namespace: helper sent no %s socket", name)
		}
	}
	listener := func(name string) (net.Listener, error) {
		l, err := net.FileListener(files[name])
		if err != nil {
			return nil, fmt.Errorf("start namespace: wrap %s listener: %w", name, err)
		}
		return l, nil
	}
	var err error
	if s.proxyL, err = listener("proxy"); err != nil {
		return err
	}
	if s.httpsL, err = listener("https"); err != nil {
		return err
	}
	if s.httpL, err = listener("http"); err != nil {
		return err
	}
	pc, err := net.FilePacketConn(files["dns"])
	if err != nil {
		return fmt.Errorf("start namespace: wrap dns socket: %w", err)
	}
	s.dnsConn = pc.(*net.UDPConn)

	proxyAddr, err := netip.ParseAddrPort(s.proxyL.Addr().String())
	if err != nil {
		return fmt.Errorf("start namespace: proxy address: %w", err)
	}
	var pcapOut io.Writer
	if opts.PcapPath != "" {
		if s.pcapFile, err = os.OpenFile(opts.PcapPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return fmt.Errorf("start namespace: create pcapng: %w", err)
		}
		pcapOut = s.pcapFile
	}
	if opts.DNSLogPath != "" {
		if s.dnsFile, err = os.OpenFile(opts.DNSLogPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600); err != nil {
			return fmt.Errorf("start namespace: create dns log: %w", err)
		}
	}
	c, err := newCapture(files["packet"], pcapOut, s.info.Interfaces, s.info.LoIndex, s.info.PeerIndex, newClassifier(proxyAddr), s.marker)
	if err != nil {
		return fmt.Errorf("start namespace: %w", err)
	}
	s.capture = c
	go s.capture.run()

	s.dns = &dnsResponder{conn: s.dnsConn, v4: transparentIPv4, marker: s.marker, done: make(chan struct{})}
	if s.info.IPv6 {
		s.dns.v6 = transparentIPv6
	}
	if s.dnsFile != nil {
		s.dns.log = s.dnsFile
	}
	go s.dns.serve()
	return nil
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

// PIDNamespace reports whether the tool runs in a PID namespace whose init
// is the helper, so that nothing the tool starts outlives the helper (and
// the helper dies with the harness). When not, why says why: a refused
// clone or /proc mount, and processes the tool forks may then outlive a
// killed harness, sealed, until they exit.
func (s *Sandbox) PIDNamespace() (ok bool, why string) { return s.pidns, s.noPIDNS }

// PrivateSys reports whether the tool sees a sysfs of the namespace's own
// on /sys, where /sys/class/net lists only the namespace's interfaces and
// the sink's address is the canary MAC. When not, why says why (a refused
// mount, or no mount namespace in the fallback): the tool then sees the
// host's interfaces and real MAC addresses there.
func (s *Sandbox) PrivateSys() (ok bool, why string) { return s.info.Sys == "", s.info.Sys }

// ContainerFacts says which container facts the tool sees: the kind asked
// for (Options.Container; empty: the host's own root, nothing pinned), and
// the parts that could not be applied, each with its reason (no mount
// namespace to build a root in, a refused cgroup namespace). The cgroup
// part is known only after Go.
func (s *Sandbox) ContainerFacts() (kind string, notApplied []string) {
	if s.container == ContainerHost {
		return "", nil
	}
	if s.info.Root != "" {
		notApplied = append(notApplied, "container markers: "+s.info.Root)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noCgroup != "" {
		notApplied = append(notApplied, "cgroup: "+s.noCgroup)
	}
	return s.container, notApplied
}

// Hidden reports whether every Options.Hide folder is covered inside the
// namespace, and if not, why.
func (s *Sandbox) Hidden() (ok bool, why string) { return s.info.Hidden == "", s.info.Hidden }

// ProxyListener is the TCP listener on 127.0.0.1:<port> inside the namespace,
// for the recording proxy to serve; give the tool http://<its Addr> as
// HTTPS_PROXY. Serving it happens in the harness's own namespace, so the
// proxy's upstream connections leave from the host as usual.
func (s *Sandbox) ProxyListener() net.Listener { return s.proxyL }

// TransparentListeners are the namespace's wildcard listeners on :443 and :80,
// where a client that ignores the proxy lands after the DNS responder gave it
// the transparent address. Serve https with TLS (certificate by SNI).
func (s *Sandbox) TransparentListeners() (https, http net.Listener) { return s.httpsL, s.httpL }

// Hostname is the canary hostname inside the namespace.
func (s *Sandbox) Hostname() string { return s.hostname }

// MAC is the canary MAC address of the sink device.
func (s *Sandbox) MAC() net.HardwareAddr { return append(net.HardwareAddr(nil), s.mac...) }

// Node is the MAC as the integer Python's uuid.getnode() returns.
func (s *Sandbox) Node() uint64 {
	var v uint64
	for _, b := range s.mac {
		v = v<<8 | uint64(b)
	}
	return v
}

// Interfaces lists the namespace's interfaces as set up.
func (s *Sandbox) Interfaces() []Interface { return append([]Interface(nil), s.info.Interfaces...) }

// Sink describes the sink device: its name and kind (dummy, ifb or veth).
func (s *Sandbox) Sink() (name, kind string) { return sinkName, s.info.SinkKind }

// Routes are the namespace's routes as checked before the tool could start.
func (s *Sandbox) Routes() []string { return append([]string(nil), s.info.Routes...) }

// SetupCommands are the `ip` commands equivalent to the setup, for reproducing
// a failure by hand.
func (s *Sandbox) SetupCommands() []string { return append([]string(nil), s.info.Setup...) }

// Flows returns the packets seen so far, sorted into flows in the order they
// started. After Close it is complete.
func (s *Sandbox) Flows() []Flow {
	if s.capture == nil {
		return nil
	}
	return s.capture.flows()
}

// DNSQueries returns every question asked of the namespace's DNS responder.
func (s *Sandbox) DNSQueries() []Query {
	if s.dns == nil {
		return nil
	}
	qs, _ := s.dns.snapshot()
	return qs
}

// Processes lists the host pids of every process living in the
// namespace, the tool's descendants or not (a daemon that left the process
// group is still in the namespace), except the helper that is the PID
// namespace's init. An empty list means the tool and everything it started
// are gone.
func (s *Sandbox) Processes() ([]int, error) {
	if s.netnsIno == 0 {
		return nil, errors.New("list namespace processes: namespace identity unknown")
	}
	pids, err := processesIn(s.netnsDev, s.netnsIno, s.pidnsDev, s.pidnsIno)
	if !s.pidns {
		return pids, err
	}
	helper := s.cmd.Process.Pid
	out := pids[:0]
	for _, p := range pids {
		if p != helper {
			out = append(out, p)
		}
	}
	return out, err
}

func processesInNetns(dev, ino uint64) ([]int, error) { return processesIn(dev, ino, 0, 0) }

// processesIn lists the processes in the network namespace (netDev,
// netIno) or, when pidIno is not 0, in that PID namespace (a process that
// made a network namespace of its own is still in it).
func processesIn(netDev, netIno, pidDev, pidIno uint64) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list namespace processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name()+"/ns/net", &st) == nil && st.Dev == netDev && st.Ino == netIno {
			pids = append(pids, pid)
			continue
		}
		if pidIno != 0 && unix.Stat("/proc/"+e.Name()+"/ns/pid", &st) == nil && st.Dev == pidDev && st.Ino == pidIno {
			pids = append(pids, pid)
		}
	}
	return pids, nil
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

// drainTimeout bounds the wait for the drain marker at Close.
const drainTimeout = time.Second

// Close kills whatever still runs in the namespace, waits until the capture
// has seen every packet sent before, closes every socket (the namespace
// vanishes with the last one) and flushes packets.pcapng and dns.jsonl. It
// returns the first error of the capture or the logs.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Sandbox) close() error {
	var errs []error
	// A helper still waiting for Go, or serving as init, exits on EOF; as
	// init it takes every process of the PID namespace with it, and it is
	// reaped only once they all are.
	s.ctl.Close()
	if s.cmd.Process != nil {
		select {
		case <-s.helperDone:
		default:
			if !s.pidns {
				_ = s.Signal(syscall.SIGKILL)
			}
			// As init, its death kills every process of the PID namespace.
			_ = s.cmd.Process.Kill()
		}
		<-s.helperDone
		s.toolExit(syscall.WaitStatus(syscall.SIGKILL), s.isReleased() && s.Pid() > 0)
		<-s.toolDone
		// Without a PID namespace, processes outside the tool's group
		// (daemons) may still live.
		for deadline := time.Now().Add(2 * time.Second); ; {
			pids, err := s.Processes()
			if err != nil || len(pids) == 0 {
				break
			}
			if time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("close namespace: processes %v survive SIGKILL", pids))
				break
			}
			_ = s.Signal(syscall.SIGKILL)
			time.Sleep(5 * time.Millisecond) // poll: reaping is the kernel's and the reaper's
		}
	}
	if s.capture != nil && s.dns != nil {
		// The marker crosses lo after every packet the tool sent.
		if _, err := s.dnsConn.WriteToUDPAddrPort(s.marker, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 53)); err == nil {
			if !s.capture.waitMarker(drainTimeout) {
				errs = append(errs, errors.New("close namespace: capture did not drain within 1s; packets.pcapng may miss the last packets"))
			}
		}
	}
	for _, l := range []net.Listener{s.proxyL, s.httpsL, s.httpL} {
		if l != nil {
			_ = l.Close() // the proxy may have closed it already
		}
	}
	if s.dnsConn != nil {
		s.dnsConn.Close()
	}
	if s.dns != nil {
		<-s.dns.done
		if _, err := s.dns.snapshot(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.capture != nil {
		if err := s.capture.close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []*os.File{s.pcapFile, s.dnsFile} {
		if f != nil {
			if err := f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", f.Name(), err))
			}
		}
	}
	for _, f := range s.nsFiles {
		if f != nil {
			f.Close()
		}
	}
	return errors.Join(errs...)
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomMAC returns a random unicast, universally administered address, the
// kind Python's uuid.getnode() prefers.
func randomMAC() net.HardwareAddr {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	b[0] &^= 0x03
	if b[0] == 0 {
		b[0] = 0x04 // avoid 00:..., which some tools treat as unset
	}
	return b
}

// tailBuffer keeps the last tailMax bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 2048

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailMax {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
