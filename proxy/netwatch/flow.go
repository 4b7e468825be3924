package netwatch

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Kind says what a flow was, and so whether it is a finding.
type Kind string

const (
	// KindProxy is TCP between the tool and the proxy listener: expected.
	KindProxy Kind = "proxy"
	// KindTransparent is TCP to the transparent :443/:80 listeners: the tool
	// ignored the proxy, resolved a name, and was caught (and recorded there).
	KindTransparent Kind = "transparent"
	// KindDNS is a DNS query to the namespace's responder; Names holds what
	// was asked.
	KindDNS Kind = "dns"
	// KindEscape is a packet bound for anything outside the namespace (a TCP
	// SYN or UDP to a hard-coded address, a query to an outside resolver). It
	// was dropped by the sink; it is always a finding.
	KindEscape Kind = "escape"
	// KindNoise is traffic nobody chose to send: ARP, ICMPv6 neighbour and
	// router discovery, DNS answers, ICMP errors on lo.
	KindNoise Kind = "noise"
	// KindOther is anything not understood; treat it as a finding too.
	KindOther Kind = "other"
)

// Flow is the packets of one conversation, as seen in the namespace. A TCP
// connection's two directions are one flow; Client is the side that opened it
// (or sent the query), Server the side it was addressed to.
type Flow struct {
	Kind      Kind           `json:"kind"`
	Proto     string         `json:"proto"` // tcp, udp, icmp, icmpv6, arp, or the EtherType
	Interface string         `json:"interface"`
	Client    netip.AddrPort `json:"client"`
	Server    netip.AddrPort `json:"server"`
	// Names are the DNS questions of a dns or escape flow, as "name/TYPE".
	Names []string `json:"names,omitempty"`
	// SYN is true when a TCP connection attempt (SYN without ACK) was seen.
	SYN     bool      `json:"syn,omitempty"`
	Packets int       `json:"packets"`
	Bytes   int       `json:"bytes"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// String prints a flow on one line, e.g. "escape tcp 198.18.0.2:40000 ->
// 198.51.100.7:443 on sink0 (SYN, 2 packets)".
func (f Flow) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s -> %s on %s (", f.Kind, f.Proto, f.Client, f.Server, f.Interface)
	if f.SYN {
		b.WriteString("SYN, ")
	}
	fmt.Fprintf(&b, "%d packets", f.Packets)
	if len(f.Names) > 0 {
		fmt.Fprintf(&b, ", %s", strings.Join(f.Names, " "))
	}
	b.WriteString(")")
	return b.String()
}

// classifier sorts packets into flows. It knows the proxy's address and which
// interface is lo (everything else is the sink side, where nothing but noise
// is expected).
type classifier struct {
	proxy netip.AddrPort
	flows map[flowKey]*Flow
	order []flowKey
}

type flowKey struct {
	kind           Kind
	proto          string
	iface          string
	client, server netip.AddrPort
}

func newClassifier(proxy netip.AddrPort) *classifier {
	return &classifier{proxy: proxy, flows: map[flowKey]*Flow{}}
}

// add classifies one Ethernet frame captured on the named interface; onLo
// tells whether that is the namespace's loopback.
func (c *classifier) add(iface string, onLo bool, frame []byte, wireLen int, ts time.Time) {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	k, names, syn := c.key(p, onLo)
	k.iface = iface
	f, ok := c.flows[k]
	if !ok {
		f = &Flow{Kind: k.kind, Proto: k.proto, Interface: iface, Client: k.client, Server: k.server, First: ts}
		c.flows[k] = f
		c.order = append(c.order, k)
	}
	f.Packets++
	f.Bytes += wireLen
	f.Last = ts
	f.SYN = f.SYN || syn
	for _, n := range names {
		if !slices.Contains(f.Names, n) {
			f.Names = append(f.Names, n)
		}
	}
}

// snapshot returns the flows in the order they started.
func (c *classifier) snapshot() []Flow {
	out := make([]Flow, 0, len(c.order))
	for _, k := range c.order {
		f := *c.flows[k]
		f.Names = slices.Clone(f.Names)
		out = append(out, f)
	}
	return out
}

func (c *classifier) key(p gopacket.Packet, onLo bool) (k flowKey, names []string, syn bool) {
	if p.Layer(layers.LayerTypeARP) != nil {
		return flowKey{kind: KindNoise, proto: "arp"}, nil, false
	}
	var src, dst netip.Addr
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
	default:
		proto := "unknown"
		if eth, ok := p.LinkLayer().(*layers.Ethernet); ok {
			proto = eth.EthernetType.String()
		}
		return flowKey{kind: KindOther, proto: proto}, nil, false
	}
	escapeOr := func(kind Kind) Kind {
		if onLo {
			return kind
		}
		return KindEscape // anything routed to the sink was bound for outside
	}
	switch t := p.TransportLayer().(type) {
	case *layers.TCP:
		s := netip.AddrPortFrom(src, uint16(t.SrcPort))
		d := netip.AddrPortFrom(dst, uint16(t.DstPort))
		syn = t.SYN && !t.ACK
		kind := KindOther
		switch {
		case s == c.proxy:
			s, d, kind = d, s, KindProxy
		case d == c.proxy:
			kind = KindProxy
		case t.SrcPort == 443 || t.SrcPort == 80:
			s, d, kind = d, s, KindTransparent
		case t.DstPort == 443 || t.DstPort == 80:
			kind = KindTransparent
		}
		return flowKey{kind: escapeOr(kind), proto: "tcp", client: s, server: d}, nil, syn
	case *layers.UDP:
		s := netip.AddrPortFrom(src, uint16(t.SrcPort))
		d := netip.AddrPortFrom(dst, uint16(t.DstPort))
		kind := KindOther
		if dns, ok := p.Layer(layers.LayerTypeDNS).(*layers.DNS); ok {
			for _, q := range dns.Questions {
				names = append(names, string(q.Name)+"/"+q.Type.String())
			}
			if dns.QR {
				s, d, kind = d, s, KindNoise // an answer: the query is the finding
			} else {
				kind = KindDNS
			}
		}
		return flowKey{kind: escapeOr(kind), proto: "udp", client: s, server: d}, names, false
	}
	if icmp, ok := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
		// 130-143: multicast listener, router and neighbour discovery.
		if t := icmp.TypeCode.Type(); t >= 130 && t <= 143 {
			return flowKey{kind: KindNoise, proto: "icmpv6", client: netip.AddrPortFrom(src, 0), server: netip.AddrPortFrom(dst, 0)}, nil, false
		}
		return flowKey{kind: escapeOr(KindNoise), proto: "icmpv6", client: netip.AddrPortFrom(src, 0), server: netip.AddrPortFrom(dst, 0)}, nil, false
	}
	proto, kind := "ip", KindOther
	if p.Layer(layers.LayerTypeICMPv4) != nil {
		// ICMP on lo is an error about a local packet (port unreachable).
		proto, kind = "icmp", KindNoise
	}
	return flowKey{kind: escapeOr(kind), proto: proto, client: netip.AddrPortFrom(src, 0), server: netip.AddrPortFrom(dst, 0)}, nil, false
}
