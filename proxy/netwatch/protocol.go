package netwatch

import "net/netip"

// helperArg is the first argument that turns a re-executed harness binary into
// the namespace helper (see MaybeRunHelper). No command of the harness starts
// with it; it names nothing of the harness either, because the helper is pid 1
// of the tool's PID namespace and its command line is /proc/1/cmdline there.
const helperArg = "--init-netns"

// helperFD is the descriptor number of the control socket in the helper
// (exec.Cmd.ExtraFiles[0]).
const helperFD = 3

// Addresses inside every sealed namespace (read-only). None of them is
// reachable from the host: the namespace has no interface that leads out.
var (
	// transparentIPv4 is on the namespace's lo; every DNS A answer points at
	// it, so a client that ignores the proxy lands on the transparent listeners.
	transparentIPv4 = netip.MustParseAddr("198.18.0.1")
	// transparentIPv6 is the AAAA counterpart of transparentIPv4.
	transparentIPv6 = netip.MustParseAddr("2001:db8::1")
	// sinkIPv4 and sinkIPv6 are the sink device's own addresses, the source of
	// every escaping packet.
	sinkIPv4 = netip.MustParseAddr("198.18.0.2")
	sinkIPv6 = netip.MustParseAddr("2001:db8::2")
)

// sinkName is the sink device's name inside the namespace; sinkPeerName is the
// inner peer when the sink is a veth pair.
const (
	sinkName     = "sink0"
	sinkPeerName = "sink0p"
)

// helperConfig is the first message from the parent to the helper.
type helperConfig struct {
	Hostname string `json:"hostname"`
	MAC      string `json:"mac"`
	// Probe makes the helper set everything up, report, and exit without
	// waiting for a tool: Available uses it.
	Probe bool `json:"probe,omitempty"`
	// RefuseProc makes the helper fail as if mounting its private /proc
	// were refused (tests of the fallback).
	RefuseProc string `json:"refuse_proc,omitempty"`
	// RefuseSys makes the helper fail as if mounting its private sysfs
	// were refused (tests).
	RefuseSys string `json:"refuse_sys,omitempty"`
	// Container, when not ContainerHost, gives the tool a root of its own
	// showing that container's marker only, and a cgroup namespace.
	Container string `json:"container,omitempty"`
	// Hide are folders the helper covers with an empty tmpfs (Options.Hide).
	Hide []string `json:"hide,omitempty"`
}

// helperReady is the helper's answer: the namespace as built, with the
// descriptors (in the order of Files) attached as SCM_RIGHTS.
type helperReady struct {
	Error string `json:"error,omitempty"`
	// PIDNamespace is set with Error when only the PID namespace part
	// failed (the private /proc): the parent retries without one.
	PIDNamespace string `json:"pid_namespace,omitempty"`
	// Sys says why the tool sees the host's /sys; empty when the helper
	// mounted a private sysfs.
	Sys string `json:"sys,omitempty"`
	// Root says why the tool sees the host's root, when a pinned one was
	// asked for and could not be built.
	Root string `json:"root,omitempty"`
	// Hidden says why an Options.Hide folder stays visible to the tool;
	// empty when every one is covered.
	Hidden     string      `json:"hidden,omitempty"`
	Files      []string    `json:"files,omitempty"`
	Interfaces []Interface `json:"interfaces,omitempty"`
	SinkKind   string      `json:"sink_kind,omitempty"`
	LoIndex    int         `json:"lo_index,omitempty"`
	SinkIndex  int         `json:"sink_index,omitempty"`
	PeerIndex  int         `json:"peer_index,omitempty"`
	IPv6       bool        `json:"ipv6"`
	Resolvers  []string    `json:"resolvers,omitempty"`
	Routes     []string    `json:"routes,omitempty"`
	// Setup lists the equivalent `ip` commands, so a failure can be
	// reproduced by hand.
	Setup []string `json:"setup,omitempty"`
}

// helperGo is the parent's second message: the tool to exec. Stdin, stdout
// and stderr travel as SCM_RIGHTS in that order.
type helperGo struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir,omitempty"`
}

// helperExecError is sent only when exec fails. Without a PID namespace a
// successful exec closes the control socket (it is close-on-exec), which
// the parent reads as success.
type helperExecError struct {
	Error string `json:"error"`
}

// helperEvent is what a helper that is its PID namespace's init reports
// about the tool it started: Started (with the tool's pidfd attached as
// SCM_RIGHTS, from which the parent learns the host pid; the parent
// answers "ack" before the helper reaps anything), then Exited with the raw
// wait status. Error replaces Started when the tool could not start.
type helperEvent struct {
	Error   string `json:"error,omitempty"`
	Started int    `json:"started,omitempty"` // the tool's pid inside
	Exited  bool   `json:"exited,omitempty"`
	Status  int    `json:"status,omitempty"` // raw wait status (syscall.WaitStatus)
	// Cgroup says why the tool shares the helper's cgroup namespace, when
	// one of its own was asked for (with Started).
	Cgroup string `json:"cgroup,omitempty"`
}

// Interface is one network interface inside the namespace.
type Interface struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	MAC   string `json:"mac,omitempty"`
}
