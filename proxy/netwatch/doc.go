// Package netwatch runs a tool in a sealed network namespace and watches every
// packet it sends, so that the harness can prove nothing escaped the
// recording proxy.
//
// # Design
//
// Start re-executes the harness binary (/proc/self/exe) with the sentinel
// first argument "__telemetry_harness_netns_helper" in fresh user, network
// and UTS namespaces (CLONE_NEWUSER|CLONE_NEWNET|CLONE_NEWUTS, the caller's
// uid and gid mapped, ambient CAP_NET_ADMIN, CAP_NET_RAW and
// CAP_NET_BIND_SERVICE and CAP_SYS_ADMIN, over the new namespaces only). The program's main, and a test binary's TestMain,
// must therefore call MaybeRunHelper first. The helper, inside:
//
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
//   - on Go, receives the command line and stdio, clears its ambient
//     capabilities and execs the tool, which keeps the helper's pid.
//
// The harness serves the sockets from its own namespace: the proxy's upstream
// connections leave from the host as usual, while the tool can reach nothing
// but the proxy, the DNS responder and the transparent listeners. The DNS
// responder (gopacket's layers.DNS) answers every A and AAAA with the
// transparent addresses and streams every question to dns.jsonl. The capture
// writes packets.pcapng (pcapgo.NgWriter, one interface block per namespace
// interface, flushed every 100 ms) and sorts packets into flows: proxy,
// transparent, dns, escape (anything sent to the sink), noise and other.
//
// Nothing outlives a run: the namespace is anonymous (no ip netns add) and
// vanishes with its last process and socket. Close kills every process still
// in the namespace, found through /proc/*/ns/net (so a daemon that left the
// tool's process group is found too: see Processes), and waits for a marker
// packet to cross lo so that the capture is complete before the sockets
// close. When the harness itself is killed, the helper, or the tool it
// became, gets SIGKILL (Pdeathsig, set by a thread kept alive for the purpose
// and set again on the thread that execs the tool, because exec keeps only
// the calling thread's setting). Processes the tool forked do not get it:
// they live on, sealed and unable to reach anything, until they exit, and the
// namespace with them. A PID namespace with the helper as its init would kill
// them too; it would also need a private /proc (tools such as Pants check
// pids in /proc), so it is left for later.
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
// would close that gap; it is not done yet.
package netwatch
