package netwatch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"
)

// snapLen is libpcap's maximum. lo does GSO, so one frame can be 64 KiB.
const snapLen = 256 << 10

// flushEvery bounds how much a killed harness loses from packets.pcapng.
const flushEvery = 100 * time.Millisecond

// capture reads the namespace's unbound AF_PACKET socket: every frame on
// every interface, with the interface index and packet type from recvfrom.
type capture struct {
	sock   *os.File
	lo     int
	peer   int // inner veth end: it repeats the sink's frames; skipped
	marker []byte

	mu sync.Mutex // guards everything below
	w  *pcapgo.NgWriter
	// The writer fills pending; flush moves whole blocks to out, so a
	// killed run leaves a file that ends on a block boundary.
	pending bytes.Buffer
	out     io.Writer
	ifID    map[int]int // kernel ifindex -> pcapng interface id
	names   map[int]string
	cls     *classifier
	err     error
	markerC chan struct{} // closed when the drain marker was seen
	marked  bool

	done chan struct{}
	stop chan struct{}
}

// newCapture writes the pcapng header with one interface entry per namespace
// interface (the veth peer excepted); out may be nil for no file.
func newCapture(sock *os.File, out io.Writer, ifaces []Interface, lo, peer int, cls *classifier, marker []byte) (*capture, error) {
	c := &capture{
		sock: sock, lo: lo, peer: peer, marker: marker,
		ifID: map[int]int{}, names: map[int]string{}, cls: cls,
		markerC: make(chan struct{}), done: make(chan struct{}), stop: make(chan struct{}),
		out: out,
	}
	for _, i := range ifaces {
		c.names[i.Index] = i.Name
	}
	if out != nil {
		for _, i := range ifaces {
			if i.Index == peer {
				continue
			}
			intf := pcapgo.NgInterface{Name: i.Name, LinkType: layers.LinkTypeEthernet, SnapLength: snapLen}
			if c.w == nil {
				w, err := pcapgo.NewNgWriterInterface(&c.pending, intf, pcapgo.NgWriterOptions{
					SectionInfo: pcapgo.NgSectionInfo{Application: "telemetry-harness netwatch", OS: "linux"},
				})
				if err != nil {
					return nil, fmt.Errorf("write pcapng header: %w", err)
				}
				c.w = w
				c.ifID[i.Index] = 0
				continue
			}
			id, err := c.w.AddInterface(intf)
			if err != nil {
				return nil, fmt.Errorf("write pcapng interface %s: %w", i.Name, err)
			}
			c.ifID[i.Index] = id
		}
	}
	return c, nil
}

func (c *capture) run() {
	go c.flushLoop()
	defer close(c.done)
	raw, err := c.sock.SyscallConn()
	if err != nil {
		c.fail(fmt.Errorf("read packets: %w", err))
		return
	}
	buf := make([]byte, snapLen)
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := raw.Read(func(fd uintptr) bool {
			// MSG_TRUNC makes n the frame's real length even when cut.
			n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_TRUNC)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return // closed
		}
		if rerr == unix.EINTR {
			continue
		}
		if rerr != nil {
			c.fail(fmt.Errorf("read packets: %w", rerr))
			return
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok {
			continue
		}
		c.handle(ll.Ifindex, ll.Pkttype, buf[:min(n, len(buf))], n, time.Now())
	}
}

func (c *capture) handle(ifindex int, pkttype uint8, frame []byte, wireLen int, ts time.Time) {
	if ifindex == c.peer {
		return
	}
	// lo shows every packet twice, leaving (OUTGOING) and arriving (HOST).
	if ifindex == c.lo && pkttype != unix.PACKET_OUTGOING {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ifindex == c.lo && bytes.Contains(frame, c.marker) {
		if !c.marked {
			c.marked = true
			close(c.markerC)
		}
		return
	}
	name, ok := c.names[ifindex]
	if !ok {
		// An interface that appeared after setup; the tool has no
		// CAP_NET_ADMIN, so this should not happen, but record it anyway.
		name = fmt.Sprintf("if%d", ifindex)
		c.names[ifindex] = name
	}
	c.cls.add(name, ifindex == c.lo, frame, wireLen, ts)
	if c.w == nil || c.err != nil {
		return
	}
	id, ok := c.ifID[ifindex]
	if !ok {
		var err error
		if id, err = c.w.AddInterface(pcapgo.NgInterface{Name: name, LinkType: layers.LinkTypeEthernet, SnapLength: snapLen}); err != nil {
			c.err = fmt.Errorf("write pcapng interface %s: %w", name, err)
			return
		}
		c.ifID[ifindex] = id
	}
	ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: wireLen, InterfaceIndex: id}
	if err := c.w.WritePacket(ci, frame); err != nil {
		c.err = fmt.Errorf("write pcapng packet: %w", err)
	}
}

// flushLoop flushes the pcapng writer periodically, so a killed run keeps
// what was captured up to the last tick.
func (c *capture) flushLoop() {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.flush()
		}
	}
}

func (c *capture) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil || c.err != nil {
		return
	}
	if err := c.w.Flush(); err != nil {
		c.err = fmt.Errorf("flush pcapng: %w", err)
		return
	}
	if c.pending.Len() == 0 {
		return
	}
	if _, err := c.out.Write(c.pending.Bytes()); err != nil {
		c.err = fmt.Errorf("write pcapng: %w", err)
	}
	c.pending.Reset()
}

func (c *capture) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// waitMarker waits until the drain marker went through the capture: every
// packet sent before it has then been seen.
func (c *capture) waitMarker(timeout time.Duration) bool {
	select {
	case <-c.markerC:
		return true
	case <-c.done:
		return false
	case <-time.After(timeout):
		return false
	}
}

// close stops reading and flushes; it returns the first capture error.
func (c *capture) close() error {
	errClose := c.sock.Close()
	<-c.done
	close(c.stop)
	c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	if errClose != nil && !errors.Is(errClose, os.ErrClosed) && c.err == nil {
		return fmt.Errorf("close packet socket: %w", errClose)
	}
	return c.err
}

func (c *capture) flows() []Flow {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cls.snapshot()
}
