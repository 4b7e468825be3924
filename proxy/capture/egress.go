package capture

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Flow kinds, as the sealed namespace sorted the packets.
const (
	FlowProxy       = "proxy"       // TCP to the proxy listener: expected
	FlowTransparent = "transparent" // TCP to the transparent :443/:80 listeners: the proxy was bypassed
	FlowDNS         = "dns"         // a query to the namespace's DNS responder
	FlowEscape      = "escape"      // bound for outside (hard-coded address): dropped, always a finding
	FlowNoise       = "noise"       // ARP, neighbour discovery, DNS answers
	FlowOther       = "other"       // not understood: a finding too
)

// Egress is what a run's network did beyond the HTTP exchanges: whether the
// tool ran sealed (every packet watched) and, if so, every flow and DNS
// question. Sealed false means egress and DNS were not observed, and Reason
// says why; a judge must then say "not verified", never "passed".
type Egress struct {
	// Sealed is true when the tool ran in a sealed network namespace.
	Sealed bool `json:"sealed"`
	// Mode is the seal mode asked for: auto, on or off.
	Mode string `json:"mode"`
	// Reason says why the run was not sealed; empty when it was.
	Reason string `json:"reason,omitempty"`
	// Hostname and MAC are the canaries set inside the namespace; Node is
	// the MAC as uuid.getnode() returns it (decimal).
	Hostname string `json:"hostname,omitempty"`
	MAC      string `json:"mac,omitempty"`
	Node     string `json:"node,omitempty"`
	// Contained is true when the tool ran in a PID namespace whose init
	// dies with the harness, so nothing it started outlives the run, even
	// a killed harness; false when a sealed run fell back to running
	// without one (the kernel refused it), and ContainReason says why.
	// A pointer because nil must stay distinct from false: it is nil when
	// the run was not sealed, and in files written before the field
	// existed, which cannot say (a judge must not claim "not contained"
	// for them).
	Contained     *bool  `json:"contained,omitempty"`
	ContainReason string `json:"contain_reason,omitempty"`
	// PrivateSys is true when the tool saw a sysfs of the namespace's own
	// on /sys, where /sys/class/net lists only lo and the sink and the
	// sink's address is the canary MAC; false when it saw the host's
	// (SysReason says why): a MAC it read from /sys/class/net was then
	// the host's real one, which is no canary, so sending it would go
	// unnoticed. nil as for Contained.
	PrivateSys *bool  `json:"private_sys,omitempty"`
	SysReason  string `json:"sys_reason,omitempty"`
	// OutputHidden is whether the folders the harness asked to hide (its
	// output) were covered with an empty tmpfs inside the namespace (nil
	// when none were asked for); HideReason says why not.
	OutputHidden *bool  `json:"output_hidden,omitempty"`
	HideReason   string `json:"hide_reason,omitempty"`
	// Proxy is the proxy listener's address inside the namespace.
	Proxy string `json:"proxy,omitempty"`
	// Sink is the sink device and its kind, e.g. "sink0 (dummy)"; Routes
	// are the namespace's routes as checked before the tool started.
	Sink   string   `json:"sink,omitempty"`
	Routes []string `json:"routes,omitempty"`
	// Flows are the packets sorted into conversations, in the order they
	// started.
	Flows []Flow `json:"flows,omitempty"`
	// DNS are the questions the tool asked, in order.
	DNS []DNSQuery `json:"dns,omitempty"`
	// CrossCheck compares the TCP connections to the proxy in the packet
	// capture with those the proxy accepted.
	CrossCheck *CrossCheck `json:"cross_check,omitempty"`
	// Setup and Teardown are how long making and removing the namespace
	// took (the cost of sealing).
	Setup    time.Duration `json:"setup_ns,omitempty"`
	Teardown time.Duration `json:"teardown_ns,omitempty"`
	// Errors are capture or teardown problems: the flows may be incomplete.
	Errors []string `json:"errors,omitempty"`
}

// Flow is one conversation seen in the namespace.
type Flow struct {
	Kind      string `json:"kind"`
	Proto     string `json:"proto"`
	Interface string `json:"interface"`
	// Client opened the conversation (or sent the query); Server is where
	// it was addressed, as ip:port.
	Client string `json:"client"`
	Server string `json:"server"`
	// Names are the DNS questions of the flow, as "name/TYPE".
	Names []string `json:"names,omitempty"`
	// SYN is true when a TCP connection attempt was seen.
	SYN     bool      `json:"syn,omitempty"`
	Packets int       `json:"packets"`
	Bytes   int       `json:"bytes"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// DNSQuery is one question asked of the namespace's DNS responder.
type DNSQuery struct {
	Time   time.Time `json:"time"`
	Name   string    `json:"name"`
	Type   string    `json:"type"`
	Client string    `json:"client,omitempty"`
	Answer string    `json:"answer,omitempty"`
}

// CrossCheck is the packet capture's TCP connections to the proxy against
// the proxy's own accepts: a connection the capture saw but the proxy never
// accepted means traffic the recording may have missed.
type CrossCheck struct {
	// InCapture counts connection attempts (SYN) to the proxy in the
	// packet capture; Accepted the connections the proxy accepted.
	InCapture int `json:"in_capture"`
	Accepted  int `json:"accepted"`
	// Unmatched are client addresses seen in the capture that the proxy
	// never accepted.
	Unmatched []string `json:"unmatched,omitempty"`
}

// WriteEgress writes egress.json into dir.
func WriteEgress(dir string, e *Egress) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("encode egress facts: %w", err)
	}
	p := filepath.Join(dir, EgressName)
	if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write egress facts: %w", err)
	}
	return nil
}

// ReadEgress reads egress.json from dir; an error matching fs.ErrNotExist
// means the run left none (recorded before sealing existed, or a bare
// capture file).
func ReadEgress(dir string) (*Egress, error) {
	p := filepath.Join(dir, EgressName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read egress facts: %w", err)
	}
	var e Egress
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("read egress facts %s: %w", p, err)
	}
	return &e, nil
}
