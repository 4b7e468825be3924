package netwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
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

	// A records only: a client given both families races an IPv6 against
	// an IPv4 connection (Node's autoSelectFamily) and resets the loser in
	// its TLS handshake, which left a rejected handshake to judge in some
	// runs and not in others. The IPv6 listeners stay for clients that dial
	// an IPv6 literal.
	s.dns = &dnsResponder{conn: s.dnsConn, v4: transparentIPv4, marker: s.marker, done: make(chan struct{})}
	if s.dnsFile != nil {
		s.dns.log = s.dnsFile
	}
	go s.dns.serve()
	return nil
}
