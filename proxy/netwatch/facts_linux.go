package netwatch

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// What a started sandbox tells: namespaces, host facts, listeners, interfaces, flows, DNS questions, the processes inside.

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
