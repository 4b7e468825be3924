package proxy

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// rawWindow bounds the recent bytes kept from a plain (not tunnelled)
// client connection to recover the header block of the request net/http
// just parsed: at least rawWindow/2 are always kept, and a head plus one
// read-ahead buffer fits in that, since maxHeaderBytes is smaller.
const (
	rawWindow      = 256 << 10
	maxHeaderBytes = 64 << 10
)

// trackedConn is a client connection as accepted by the listener. It stays
// the same object when net/http hands it to a CONNECT handler by Hijack, so
// it counts tunnels too.
type trackedConn struct {
	net.Conn
	id      int64
	tracker *connTracker
	// path is how the connection reached the harness: zero for the proxy
	// listener, capture.PathTransparent for a transparent listener.
	path capture.Path

	in, out atomic.Int64

	closeOnce sync.Once

	// mu guards raw and keepRaw: the recent bytes read, used by the
	// plain-HTTP path to recover header wire order.
	mu      sync.Mutex
	raw     []byte
	keepRaw bool
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.in.Add(int64(n))
		c.mu.Lock()
		if c.keepRaw {
			c.raw = append(c.raw, p[:n]...)
			if len(c.raw) > rawWindow {
				// Keep the newest half: trimming by halves keeps the copying
				// proportional to the bytes read, even for huge bodies.
				c.raw = append(c.raw[:0], c.raw[len(c.raw)-rawWindow/2:]...)
			}
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.tracker.remove(c) })
	return err
}

// stopRaw ends raw byte keeping (the connection became a tunnel whose
// requests are parsed by the proxy itself).
func (c *trackedConn) stopRaw() {
	c.mu.Lock()
	c.keepRaw = false
	c.raw = nil
	c.mu.Unlock()
}

// takeHead finds the header block of a request among the recent bytes: the
// first block that starts with requestLine and that match accepts (a body
// that merely contains the same text does not parse to the same headers).
// It returns the block and forgets every byte up to its end, so the next
// request on a keep-alive connection is searched after it.
func (c *trackedConn) takeHead(requestLine string, match func(head []byte) bool) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	needle := []byte(requestLine)
	for off := 0; off < len(c.raw); {
		i := bytes.Index(c.raw[off:], needle)
		if i < 0 {
			return nil, false
		}
		start := off + i
		off = start + 1
		end, ok := headEnd(c.raw[start:])
		if !ok || !match(c.raw[start:start+end]) {
			continue
		}
		head := append([]byte(nil), c.raw[start:start+end]...)
		c.raw = append(c.raw[:0], c.raw[start+end:]...)
		return head, true
	}
	return nil, false
}

// takeRaw returns and forgets the recent bytes not yet attributed.
func (c *trackedConn) takeRaw() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.raw
	c.raw = nil
	return out
}

// connTracker counts open client connections and announces every change.
type connTracker struct {
	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	changed chan struct{}
	nextID  atomic.Int64
}

func newConnTracker() *connTracker {
	return &connTracker{conns: map[*trackedConn]struct{}{}, changed: make(chan struct{})}
}

func (t *connTracker) add(c *trackedConn) {
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.notifyLocked()
	t.mu.Unlock()
}

func (t *connTracker) remove(c *trackedConn) {
	t.mu.Lock()
	if _, ok := t.conns[c]; ok {
		delete(t.conns, c)
		t.notifyLocked()
	}
	t.mu.Unlock()
}

func (t *connTracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *connTracker) state() (int, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns), t.changed
}

// closeAll closes every open client connection, hijacked tunnels included.
func (t *connTracker) closeAll() {
	t.mu.Lock()
	cs := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// trackingListener wraps accepted connections in trackedConn.
type trackingListener struct {
	net.Listener
	tracker *connTracker
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, id: l.tracker.nextID.Add(1), tracker: l.tracker, keepRaw: true}
	l.tracker.add(tc)
	return tc, nil
}
