// Package netwatch runs a tool in a sealed network namespace and watches every
// packet it sends, so that the harness can prove nothing escaped the
// recording proxy.
//
// # Design
//
// Start re-executes the harness binary (/proc/self/exe) with the sentinel
// first argument "--init-netns" in fresh user, network,
// UTS, PID and mount namespaces (CLONE_NEWUSER|CLONE_NEWNET|CLONE_NEWUTS|
// CLONE_NEWPID|CLONE_NEWNS, the caller's uid and gid mapped, ambient
// CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE and CAP_SYS_ADMIN, over
// the new namespaces only). This package's init turns such a process into
// the helper before the rest of the program initialises (MaybeRunHelper,
// which main and a test binary's TestMain may also call first, does the
// same). The helper, pid 1 of
// its PID namespace, inside:
//
//   - makes every mount a slave of the host's (mount --make-rslave /) and
//     mounts a private proc on /proc, so that the tool sees its own pids
//     there (tools such as Pants check pids in /proc), and a private sysfs
//     on /sys, whose /sys/class/net shows only the namespace's interfaces
//     and the canary MAC (with the host's, a tool reading the MAC there
//     would send the host's real one, which no canary catches). A refused
//     sysfs mount is not fatal: PrivateSys says why, and the tool sees the
//     host's /sys. Mounts under the host's /sys (/sys/fs/cgroup, ...) are
//     hidden from the tool;
//   - brings lo up and adds every resolv.conf nameserver and the transparent
//     addresses 198.18.0.1 and 2001:db8::1 to it;
//   - creates the sink "sink0" (dummy, else ifb, else a veth pair with both
//     ends inside) with the canary MAC, ARP off and no IPv6 link-local
//     address, gives it 198.18.0.2/32 and 2001:db8::2/128 (nodad) and points
//     both default routes at it: every packet that is not local is captured
//     there and dropped by the driver;
//   - sets the canary hostname;
//   - refuses to go on if any route leads elsewhere than lo and the sink, or
//     any other interface is up (nothing can leave a namespace whose only
//     interfaces are these);
//   - opens an unbound AF_PACKET socket (every interface, with the ifindex
//     and packet type from recvfrom, so lo's duplicate HOST copies are
//     dropped without BPF), a TCP listener on 127.0.0.1:0 for the proxy,
//     wildcard TCP listeners on :443 and :80 for transparent capture and a
//     UDP :53 socket for the DNS responder;
//   - hands these descriptors back over a SOCK_SEQPACKET socketpair
//     (SCM_RIGHTS plus a JSON description) and waits;
//   - on Go, receives the command line and stdio and starts the tool as its
//     child, in its own process group, from a thread that cleared its
//     ambient capabilities; it sends the tool's pidfd (from which the
//     harness reads the tool's host pid, Pid) and, once it reaped the tool,
//     its wait status (Wait, ExitStatus: the tool's exit is the run's
//     MainExit, even while its daemons go on);
//   - stays as init: reaps every process of the namespace (orphans reparent
//     to it), forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2
//     and SIGWINCH to the tool, and exits when the namespace is empty or
//     the harness closes the control socket.
//
// The harness serves the sockets from its own namespace: the proxy's upstream
// connections leave from the host as usual, while the tool can reach nothing
// but the proxy, the DNS responder and the transparent listeners. The DNS
// responder (gopacket's layers.DNS) answers every A with the transparent
// IPv4 address (AAAA gets no record, so that no client races two address
// families) and streams every question to dns.jsonl. The capture
// writes packets.pcapng (pcapgo.NgWriter, one interface block per namespace
// interface, flushed every 100 ms) and sorts packets into flows: proxy,
// transparent, dns, escape (anything sent to the sink), noise and other.
//
// Nothing outlives a run: the namespace is anonymous (no ip netns add) and
// vanishes with its last process and socket. Processes lists every process
// in the namespace but the helper, found through /proc/*/ns/net and
// /proc/*/ns/pid (so a daemon that left the tool's process group is found
// too). Close ends the helper; when the init of a PID namespace dies the
// kernel kills every process in it, and the helper is reaped only once they
// are all gone. Close then waits for a marker packet to cross lo so that the
// capture is complete before the sockets close. When the harness itself is
// killed, the helper gets SIGKILL (Pdeathsig, set by the harness thread
// that starts the helper, kept alive for the purpose until the helper is
// reaped: Pdeathsig fires when that thread exits, not the process), and its
// control socket reads EOF, on which it exits too: either way the kernel
// kills the tool and every daemon it forked, whatever signals they ignore.
//
// Where the PID namespace is refused (clone with CLONE_NEWPID|CLONE_NEWNS
// fails, or the kernel will not mount a proc there, as in containers whose
// /proc has masked paths), Start tries again without it and PIDNamespace
// says why. The helper then execs the tool, which keeps the helper's pid
// and Pdeathsig (set again on the exec'ing thread, because exec keeps only
// the calling thread's setting), but processes the tool forked outlive a
// killed harness, sealed and unable to reach anything, until they exit.
// Without a mount namespace there is no private /sys either (PrivateSys).
//
// # Privileges
//
//	| who                                   | works? | how                                  |
//	| root                                  | yes    | all ids mapped; the tool is root     |
//	| unprivileged, user namespaces allowed | yes    | own uid mapped; the tool has no caps |
//	| unprivileged, AppArmor restriction    | no     | root, or apparmor_restrict_...=0     |
//	| unprivileged, user namespaces off     | no     | root, or enable them                 |
//	| container without CLONE_NEWUSER       | no     | --privileged or a seccomp profile    |
//
// Available probes the real path and returns an error matching
// ErrUnavailable, with the reason and the fix, where namespaces cannot be
// made; Start returns the same. Callers then run with the proxy alone and
// report egress and DNS as "not verified".
//
// # Why github.com/gopacket/gopacket
//
// The design card named google/gopacket. Its last release (v1.1.19, 2020) is
// unmaintained; its pcapgo.EthernetHandle blocks in recvmsg so that Close does
// not wake a waiting reader (the goroutine, the socket and the namespace stay
// alive until some packet arrives), it truncates frames at the MTU, and its
// afpacket needs cgo. The maintained fork github.com/gopacket/gopacket has the
// same API under a new path, reads through the netpoller, and is pure Go.
// This package uses only its layers (Ethernet, IP, TCP, UDP, DNS) and
// pcapgo.NgWriter; packets are read with a plain recvfrom loop. No cgo, no
// libpcap.
//
// # Not covered
//
// A network namespace does not isolate filesystem AF_UNIX sockets: a tool can
// still ask a host daemon (nscd, systemd-resolved via nss-resolve, uuidd,
// docker.sock) to do network access for it. A mount namespace with a
// bind-mounted nsswitch.conf ("hosts: files dns") and masked daemon sockets
// would close that gap; it is not done yet. The private sysfs is still the
// kernel's: identifiers that are not per network namespace, such as
// /sys/class/dmi/id (product_uuid and the serials are root-only), are the
// host's.
package netwatch
