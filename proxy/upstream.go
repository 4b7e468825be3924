package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Forward mode inside a CONNECT tunnel talks to the real host over an
// upstream connection that belongs to the tunnel: the tunnel goroutine
// writes each request and reads each response itself. net/http.Transport's
// per-connection read and write goroutines, and the scheduler hand-offs
// between them and the tunnel, were a third of the proxy's CPU under
// keep-alive load (docs/performance.md). When the tunnel ends, a clean
// upstream connection goes back to a small per-host pool, so that a client
// that opens a new connection per request does not cost the real host a new
// TLS handshake each time.

const (
	upDialTimeout      = 30 * time.Second
	upHandshakeTimeout = 10 * time.Second
	// upIdleTimeout drops pooled connections unused this long, as the
	// Transport's IdleConnTimeout did.
	upIdleTimeout = 90 * time.Second
	// upMaxIdlePerHost and upMaxIdle bound the pool (the Transport's
	// MaxIdleConnsPerHost and MaxIdleConns).
	upMaxIdlePerHost = 64
	upMaxIdle        = 256
)

// upConn is one upstream connection (TLS, or plain TCP for an http
// tunnel) with its buffers. It counts the bytes that crossed it, so that a
// failed exchange knows whether anything reached the host.
type upConn struct {
	conn    net.Conn
	raw     syscall.RawConn // the TCP socket, for the liveness check; may be nil
	br      *bufio.Reader
	bw      *bufio.Writer
	written int64
	read    int64
	idleAt  time.Time
}

func (u *upConn) Write(b []byte) (int, error) {
	n, err := u.conn.Write(b)
	u.written += int64(n)
	return n, err
}

func (u *upConn) Read(b []byte) (int, error) {
	n, err := u.conn.Read(b)
	u.read += int64(n)
	return n, err
}

// usable reports whether a connection that was idle can take a request:
// nothing is pending on it (a server that closed it sent EOF, maybe a TLS
// close_notify first).
func (u *upConn) usable() bool {
	return u.br.Buffered() == 0 && socketIdle(u.raw)
}

// dialUpstream connects to target (host:port) for scheme.
func (p *Proxy) dialUpstream(scheme, target string) (*upConn, error) {
	d := net.Dialer{Timeout: upDialTimeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(context.Background(), "tcp", target)
	if err != nil {
		return nil, err
	}
	u := &upConn{conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		u.raw, _ = sc.SyscallConn()
	}
	if scheme == "https" {
		conf := p.upTLS.Clone()
		if conf.ServerName == "" {
			conf.ServerName = hostOnly(target)
		}
		tc := tls.Client(c, conf)
		ctx, cancel := context.WithTimeout(context.Background(), upHandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", target, err)
		}
		u.conn = tc
	}
	u.br = bufio.NewReaderSize(u, 16<<10)
	u.bw = bufio.NewWriterSize(u, 16<<10)
	return u, nil
}

// errRetry marks a failure on a reused connection that is safe to retry on
// a fresh one.
var errRetry = errors.New("retry on a fresh connection")

// exchange writes req and reads its response (1xx other than 101 skipped,
// as the Transport does). A failure closes nothing; the caller does.
func (u *upConn) exchange(req *http.Request, reused bool) (*http.Response, error) {
	w0, r0 := u.written, u.read
	err := req.Write(u.bw)
	if err == nil {
		err = u.bw.Flush()
	}
	if err != nil {
		if reused && u.written == w0 {
			return nil, fmt.Errorf("%w: %w", errRetry, err)
		}
		return nil, err
	}
	for {
		resp, err := http.ReadResponse(u.br, req)
		if err != nil {
			// The host closed a kept connection before answering: retry
			// when nothing it said was read and the request may be sent
			// twice (net/http's rule).
			if reused && u.read == r0 && replayable(req) {
				return nil, fmt.Errorf("%w: %w", errRetry, err)
			}
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		return resp, nil
	}
}

// replayable is net/http's rule for resending a request whose bytes may
// have reached the host: idempotent methods, or an idempotency key.
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, k1 := req.Header["Idempotency-Key"]
	_, k2 := req.Header["X-Idempotency-Key"]
	return k1 || k2
}

// roundTrip sends out over the tunnel's upstream connection, dialling (or
// taking a pooled one) when it has none, and retries once on a fresh
// connection when a kept one turns out closed.
func (t *tunnel) roundTrip(out *http.Request, scheme string) (*http.Response, error) {
	key := scheme + "://" + t.target
	if t.up != nil && t.upKey != key {
		// A transparent plain-HTTP connection follows each request's Host.
		t.releaseUp()
	}
	for attempt := 0; ; attempt++ {
		reused := true
		if t.up == nil {
			t.upKey = key
			if t.up = t.p.upPool.get(key); t.up == nil {
				u, err := t.p.dialUpstream(scheme, t.target)
				if err != nil {
					return nil, err
				}
				t.up, reused = u, false
			}
		} else if !t.up.usable() {
			t.closeUp()
			continue
		}
		resp, err := t.up.exchange(out, reused)
		if err == nil {
			return resp, nil
		}
		t.closeUp()
		if attempt > 0 || !errors.Is(err, errRetry) {
			return nil, err
		}
		if out.GetBody != nil {
			if out.Body, err = out.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

func (t *tunnel) closeUp() {
	if t.up != nil {
		t.up.conn.Close()
		t.up = nil
	}
}

// releaseUp hands a clean upstream connection to the pool when the tunnel
// ends.
func (t *tunnel) releaseUp() {
	if t.up != nil {
		t.p.upPool.put(t.upKey, t.up)
		t.up = nil
	}
}

// upPool keeps idle upstream connections by scheme://host:port. It has no
// goroutine: expired connections are dropped when the pool is next used.
type upPool struct {
	mu     sync.Mutex
	idle   map[string][]*upConn
	n      int
	closed bool
}

// get returns the most recently used idle connection for key that is still
// usable, or nil.
func (q *upPool) get(key string) *upConn {
	q.mu.Lock()
	defer q.mu.Unlock()
	cs := q.idle[key]
	for len(cs) > 0 {
		u := cs[len(cs)-1]
		cs[len(cs)-1] = nil
		cs = cs[:len(cs)-1]
		q.n--
		if time.Since(u.idleAt) < upIdleTimeout && u.usable() {
			q.idle[key] = cs
			return u
		}
		u.conn.Close()
	}
	delete(q.idle, key)
	return nil
}

func (q *upPool) put(key string, u *upConn) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.idle[key]) >= upMaxIdlePerHost {
		u.conn.Close()
		return
	}
	now := time.Now()
	if q.n >= upMaxIdle {
		q.sweep(now)
		if q.n >= upMaxIdle {
			u.conn.Close()
			return
		}
	}
	u.idleAt = now
	if q.idle == nil {
		q.idle = map[string][]*upConn{}
	}
	q.idle[key] = append(q.idle[key], u)
	q.n++
}

// sweep drops expired connections; q.mu is held.
func (q *upPool) sweep(now time.Time) {
	for k, cs := range q.idle {
		kept := cs[:0]
		for _, u := range cs {
			if now.Sub(u.idleAt) < upIdleTimeout {
				kept = append(kept, u)
			} else {
				u.conn.Close()
				q.n--
			}
		}
		if len(kept) == 0 {
			delete(q.idle, k)
		} else {
			q.idle[k] = kept
		}
	}
}

// closeAll closes every idle connection; later puts close theirs.
func (q *upPool) closeAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for _, cs := range q.idle {
		for _, u := range cs {
			u.conn.Close()
		}
	}
	q.idle, q.n = nil, 0
}
