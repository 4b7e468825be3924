package netwatch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
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

// namedFD is a descriptor the helper hands to the parent.
type namedFD struct {
	name string
	fd   int
}

func closeAll(files []namedFD) {
	for _, f := range files {
		unix.Close(f.fd)
	}
}

// setupNamespace builds the sealed namespace: lo with the resolver and
// transparent addresses, the sink with the canary MAC and both default
// routes, the canary hostname; it checks the seal and opens the sockets.
func setupNamespace(cfg helperConfig) (helperReady, []namedFD, error) {
	var r helperReady
	step := func(cmd string) { r.Setup = append(r.Setup, "ip "+cmd) }

	// The packet socket goes first so that it sees everything the namespace
	// ever sends; unbound, it taps every interface at once.
	pfd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return r, nil, fmt.Errorf("open packet socket (needs CAP_NET_RAW in the namespace): %w", err)
	}
	files := []namedFD{{"packet", pfd}}

	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return r, files, fmt.Errorf("find lo: %w", err)
	}
	step("link set lo up")
	if err := netlink.LinkSetUp(lo); err != nil {
		return r, files, fmt.Errorf("set lo up: %w", err)
	}
	r.LoIndex = lo.Attrs().Index

	r.IPv6 = true
	for _, a := range []netip.Addr{transparentIPv4, transparentIPv6} {
		if err := addHostAddr(lo, a, step); err != nil {
			if a.Is6() {
				r.IPv6 = false // a kernel without IPv6: no AAAA answers either
				continue
			}
			return r, files, fmt.Errorf("add %s to lo: %w", a, err)
		}
	}
	resolvers, err := readResolvers("/etc/resolv.conf")
	if err != nil {
		return r, files, err
	}
	for _, a := range resolvers {
		r.Resolvers = append(r.Resolvers, a.String())
		if a.IsLoopback() || (a.Is6() && !r.IPv6) {
			continue // 127.0.0.0/8 and ::1 are on lo already
		}
		if err := addHostAddr(lo, a, step); err != nil && !errors.Is(err, unix.EEXIST) {
			return r, files, fmt.Errorf("add resolver %s to lo: %w", a, err)
		}
	}

	mac, err := net.ParseMAC(cfg.MAC)
	if err != nil {
		return r, files, fmt.Errorf("parse canary MAC %q: %w", cfg.MAC, err)
	}
	sink, peer, kind, err := makeSink(mac, step)
	if err != nil {
		return r, files, err
	}
	r.SinkKind, r.SinkIndex = kind, sink.Attrs().Index
	if peer != nil {
		r.PeerIndex = peer.Attrs().Index
	}
	// NOARP: otherwise a connect to an outside address only ever produces an
	// ARP who-has and the SYN never shows. No IPv6 link-local address: it
	// would send router solicitations, which are only noise.
	step("link set " + sinkName + " arp off addrgenmode none")
	if err := netlink.LinkSetARPOff(sink); err != nil {
		return r, files, fmt.Errorf("set %s arp off: %w", sinkName, err)
	}
	_ = netlink.LinkSetIP6AddrGenMode(sink, 1) // IN6_ADDR_GEN_MODE_NONE; best effort
	step("link set " + sinkName + " up")
	if err := netlink.LinkSetUp(sink); err != nil {
		return r, files, fmt.Errorf("set %s up: %w", sinkName, err)
	}
	if err := addHostAddr(sink, sinkIPv4, step); err != nil {
		return r, files, fmt.Errorf("add %s to %s: %w", sinkIPv4, sinkName, err)
	}
	routes := []*net.IPNet{{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}}
	if r.IPv6 {
		if err := addHostAddr(sink, sinkIPv6, step); err != nil {
			return r, files, fmt.Errorf("add %s to %s: %w", sinkIPv6, sinkName, err)
		}
		// Without an IPv6 default route a connect to an outside IPv6 address
		// fails in the kernel with ENETUNREACH and sends no packet to capture.
		routes = append(routes, &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)})
	}
	for _, dst := range routes {
		step(fmt.Sprintf("route add %s dev %s", dst, sinkName))
		rt := &netlink.Route{LinkIndex: r.SinkIndex, Dst: dst}
		if dst.IP.To4() != nil {
			rt.Scope = netlink.SCOPE_LINK
		}
		if err := netlink.RouteAdd(rt); err != nil {
			return r, files, fmt.Errorf("add route %s dev %s: %w", dst, sinkName, err)
		}
	}

	allowed := map[int]bool{r.LoIndex: true, r.SinkIndex: true}
	if r.PeerIndex != 0 {
		allowed[r.PeerIndex] = true
	}
	if r.Routes, err = checkSealed(allowed); err != nil {
		return r, files, err
	}
	links, err := netlink.LinkList()
	if err != nil {
		return r, files, fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		a := l.Attrs()
		r.Interfaces = append(r.Interfaces, Interface{Index: a.Index, Name: a.Name, MAC: a.HardwareAddr.String()})
	}

	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return r, files, fmt.Errorf("set hostname %q: %w", cfg.Hostname, err)
	}

	// Listeners. ":443" is the dual-stack wildcard: whatever local address a
	// client was pointed at (the transparent address, a resolver, 127.0.0.1),
	// port 443 is ours.
	for _, l := range []struct{ name, network, addr string }{
		{"proxy", "tcp4", "127.0.0.1:0"},
		{"https", "tcp", ":443"},
		{"http", "tcp", ":80"},
		{"dns", "udp", ":53"},
	} {
		fd, err := listenFD(l.network, l.addr)
		if err != nil {
			return r, files, fmt.Errorf("listen %s %s in the namespace: %w", l.network, l.addr, err)
		}
		files = append(files, namedFD{l.name, fd})
	}
	return r, files, nil
}

// listenFD opens a listener and returns a duplicate of its descriptor.
func listenFD(network, addr string) (int, error) {
	var f *os.File
	if strings.HasPrefix(network, "udp") {
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			return -1, err
		}
		defer c.Close()
		if f, err = c.(*net.UDPConn).File(); err != nil {
			return -1, err
		}
	} else {
		l, err := net.Listen(network, addr)
		if err != nil {
			return -1, err
		}
		defer l.Close()
		if f, err = l.(*net.TCPListener).File(); err != nil {
			return -1, err
		}
	}
	// Detach the descriptor from f so that f's finalizer cannot close it.
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	return fd, nil
}

func addHostAddr(link netlink.Link, a netip.Addr, step func(string)) error {
	bits := 32
	flags := 0
	if a.Is6() {
		bits = 128
		flags = unix.IFA_F_NODAD // no duplicate address detection: nobody to ask
	}
	ipnet := &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, bits)}
	nodad := ""
	if flags != 0 {
		nodad = " nodad"
	}
	step(fmt.Sprintf("addr add %s dev %s%s", ipnet, link.Attrs().Name, nodad))
	return netlink.AddrAdd(link, &netlink.Addr{IPNet: ipnet, Flags: flags})
}

// makeSink creates the sink device with the canary MAC: dummy where the
// kernel has it, else ifb, else a veth pair with both ends inside.
func makeSink(mac net.HardwareAddr, step func(string)) (sink, peer netlink.Link, kind string, err error) {
	attrs := func(name string) netlink.LinkAttrs {
		a := netlink.NewLinkAttrs()
		a.Name = name
		a.HardwareAddr = mac
		return a
	}
	var errs []error
	for _, try := range []struct {
		kind string
		link netlink.Link
	}{
		{"dummy", &netlink.Dummy{LinkAttrs: attrs(sinkName)}},
		{"ifb", &netlink.Ifb{LinkAttrs: attrs(sinkName)}},
		{"veth", &netlink.Veth{LinkAttrs: attrs(sinkName), PeerName: sinkPeerName}},
	} {
		step(fmt.Sprintf("link add %s address %s type %s", sinkName, mac, try.kind))
		if err := netlink.LinkAdd(try.link); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", try.kind, err))
			continue
		}
		if sink, err = netlink.LinkByName(sinkName); err != nil {
			return nil, nil, "", fmt.Errorf("find %s: %w", sinkName, err)
		}
		if try.kind == "veth" {
			// The peer must be up, or the sink has no carrier and nothing
			// reaches the tap; and silent.
			if peer, err = netlink.LinkByName(sinkPeerName); err != nil {
				return nil, nil, "", fmt.Errorf("find %s: %w", sinkPeerName, err)
			}
			_ = netlink.LinkSetIP6AddrGenMode(peer, 1)
			_ = netlink.LinkSetARPOff(peer)
			step("link set " + sinkPeerName + " arp off addrgenmode none up")
			if err := netlink.LinkSetUp(peer); err != nil {
				return nil, nil, "", fmt.Errorf("set %s up: %w", sinkPeerName, err)
			}
		}
		return sink, peer, try.kind, nil
	}
	return nil, nil, "", fmt.Errorf("create a sink device (tried dummy, ifb, veth; needs CAP_NET_ADMIN in the namespace): %w", errors.Join(errs...))
}

// checkSealed refuses a namespace in which any route leads to an interface
// other than the allowed ones (lo, the sink and its inner peer), or in which
// another interface is up. Only then can nothing leave.
func checkSealed(allowed map[int]bool) ([]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("check seal: list links: %w", err)
	}
	names := map[int]string{}
	for _, l := range links {
		a := l.Attrs()
		names[a.Index] = a.Name
		if !allowed[a.Index] && a.Flags&net.FlagUp != 0 {
			return nil, fmt.Errorf("check seal: interface %s (%s) is up in the namespace; refusing to run", a.Name, l.Type())
		}
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("check seal: list routes: %w", err)
	}
	var out []string
	for _, rt := range routes {
		idx := []int{rt.LinkIndex}
		for _, nh := range rt.MultiPath {
			idx = append(idx, nh.LinkIndex)
		}
		dst := "default"
		if rt.Dst != nil {
			dst = rt.Dst.String()
		}
		out = append(out, fmt.Sprintf("table %d %s dev %s", rt.Table, dst, names[rt.LinkIndex]))
		switch rt.Type {
		case unix.RTN_BLACKHOLE, unix.RTN_UNREACHABLE, unix.RTN_PROHIBIT, unix.RTN_THROW:
			continue // these drop, they lead nowhere
		}
		for _, i := range idx {
			if i != 0 && !allowed[i] {
				return out, fmt.Errorf("check seal: route %s leads to interface %s (index %d), not to the sink; refusing to run", dst, names[i], i)
			}
		}
	}
	return out, nil
}

// readResolvers returns the nameserver addresses of a resolv.conf. A missing
// file means glibc's default, 127.0.0.1, which is on lo anyway.
func readResolvers(path string) ([]netip.Addr, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read resolvers: %w", err)
	}
	defer f.Close()
	var out []netip.Addr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		host, _, _ := strings.Cut(fields[1], "%") // drop an IPv6 zone
		if a, err := netip.ParseAddr(host); err == nil {
			out = append(out, a.Unmap())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read resolvers from %s: %w", path, err)
	}
	return out, nil
}

// sendJSON sends v as one SEQPACKET message, with fds attached if any.
func sendJSON(fd int, v any, fds []int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(fd, b, oob, nil, 0)
}

// parseRights returns the descriptors in a control message buffer.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		rights, err := unix.ParseUnixRights(&m)
		if err != nil {
			return nil, err
		}
		fds = append(fds, rights...)
	}
	return fds, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// recvmsg is unix.Recvmsg retried when a signal interrupts it: the helper
// waits on the control socket for as long as the run lasts.
func recvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, from unix.Sockaddr, err error) {
	for {
		n, oobn, recvflags, from, err = unix.Recvmsg(fd, p, oob, flags)
		if !errors.Is(err, unix.EINTR) {
			return n, oobn, recvflags, from, err
		}
	}
}
