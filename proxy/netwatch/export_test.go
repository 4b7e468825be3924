package netwatch

// Test-only access to internals that cannot be driven through the public API
// without breaking the host (a host without user namespaces, a leaky
// namespace).

// HostFacts is hostFacts for tests.
type HostFacts = hostFacts

// Diagnose is diagnose for tests.
var Diagnose = diagnose

// CheckSealed is checkSealed for tests: it checks the caller's own network
// namespace.
var CheckSealed = checkSealed

// ProcessesInNetns is processesInNetns for tests.
var ProcessesInNetns = processesInNetns

// RefuseProcMount makes Start's helper fail its private /proc mount with
// reason, as a container that refuses it does.
func RefuseProcMount(o *Options, reason string) { o.refuseProc = reason }

// HelperPid is the host pid of the namespace's helper (the PID namespace's
// init, or the tool itself in the fallback).
func HelperPid(s *Sandbox) int { return s.cmd.Process.Pid }

// RefuseSysMount makes Start's helper fail its private sysfs mount with
// reason, as a container whose /sys has masked paths does.
func RefuseSysMount(o *Options, reason string) { o.refuseSys = reason }
