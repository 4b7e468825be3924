package netwatch

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The helper's namespace setup: addresses, the sink interface and its MAC, the listeners, the check that nothing else routes out.

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
