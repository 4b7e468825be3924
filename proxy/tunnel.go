package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

const (
	// tunnelBuf is the read buffer inside a tunnel; a request head must
	// fit in it.
	tunnelBuf = maxHeaderBytes + 4096
	// maxFirstLine bounds how far the sniffer looks for an HTTP/1.x
	// request line.
	maxFirstLine = 8 << 10
	// opaqueIdle ends an opaque tunnel that has gone quiet: the harness
	// cannot speak its protocol, and a client waiting for an answer
	// would otherwise hold the tunnel (and the run) open.
	opaqueIdle = 2 * time.Second
)

// tunnel is one hijacked CONNECT.
type tunnel struct {
	p      *Proxy
	tc     *trackedConn
	target string // CONNECT authority, host:port
	in0    int64  // client byte counters at the start of the tunnel
	out0   int64
	bw     *bufio.Writer // forwarded answers, made on first use
	up     *upConn       // forward mode: the upstream connection, dialled on first use
	upKey  string        // its pool key
}

// hijack serves a CONNECT that goproxy handed over (ConnectHijack): it
// answers 200 and does the MITM itself, so that TLS failures, non-HTTP
// bytes and header wire order are all visible to the recorder.
func (p *Proxy) hijack(connect *http.Request, client net.Conn, _ *goproxy.ProxyCtx) {
	tc, ok := client.(*trackedConn)
	if !ok {
		// Not from our listener (cannot happen with New); track it anyway.
		tc = &trackedConn{Conn: client, tracker: p.tracker}
	}
	defer tc.Close()
	target := connect.URL.Host
	if target == "" {
		target = connect.Host
	}
	// Bytes the client sent right behind the CONNECT (before our 200) were
	// read into net/http's buffer, which ConnectHijack drops; the raw
	// window still has them.
	var early []byte
	if tc.takeHeadFor(connect) != nil {
		early = tc.takeRaw()
	}
	tc.stopRaw()
	t := &tunnel{p: p, tc: tc, target: target, in0: tc.in.Load() - int64(len(early)), out0: tc.out.Load()}
	if _, err := io.WriteString(tc, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		t.recordOpaque(nil, 0, nil, "client gone before the tunnel was established: "+err.Error())
		return
	}
	t.serve(io.MultiReader(bytes.NewReader(early), tc))
}

func (t *tunnel) serve(src io.Reader) {
	br := t.p.bufs.reader(src)
	defer t.p.bufs.putReader(br)
	defer func() {
		if t.bw != nil {
			t.p.bufs.putWriter(t.bw)
		}
		t.releaseUp()
	}()
	first, err := br.Peek(1)
	if err != nil {
		t.recordOpaque(nil, 0, nil, "client closed the tunnel without sending a byte")
		return
	}
	var conn net.Conn = &bufConn{Conn: t.tc, r: br}
	scheme := "http"
	var tlsInfo *capture.TLS
	if first[0] == 0x16 { // TLS handshake record
		var hello helloInfo
		tconn := tls.Server(conn, t.p.tunnelTLS(hostOnly(t.target), &hello))
		if err := tconn.HandshakeContext(context.Background()); err != nil {
			t.recordRejected(&hello, err)
			return
		}
		tlsInfo = tlsFacts(tconn.ConnectionState())
		t.retarget(hello.sni, "443")
		conn, scheme = tconn, "https"
		br = t.p.bufs.reader(tconn)
		defer t.p.bufs.putReader(br)
	}
	if ok, reason := sniffHTTP1(br); !ok {
		t.drainOpaque(br, conn, tlsInfo, reason)
		return
	}
	for {
		if !t.serveRequest(br, conn, scheme, tlsInfo) {
			return
		}
	}
}

// helloInfo is what the ClientHello said, kept for a rejected handshake.
type helloInfo struct {
	sni   string
	alpns []string
}

// tunnelTLS is the server side of a MITM'd tunnel: a leaf for the name the
// client asked for (SNI, else the CONNECT host) from the cache, and ALPN
// that never fails the handshake, so that a client that insists on h2 is
// seen (as an opaque tunnel) rather than mistaken for a rejection.
func (p *Proxy) tunnelTLS(connectHost string, hello *helloInfo) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS10,
		GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
			hello.sni, hello.alpns = chi.ServerName, chi.SupportedProtos
			name := chi.ServerName
			if name == "" {
				name = connectHost
			}
			cert, err := p.store.Fetch(name, func() (*tls.Certificate, error) { return p.ca.sign(name) })
			if err != nil {
				return nil, err
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS10,
				Certificates: []tls.Certificate{*cert},
				NextProtos:   chooseALPN(chi.SupportedProtos),
				// The secrets of a session between the tool and a leaf of
				// the run's throwaway CA: they decrypt what capture.jsonl
				// holds in plain text anyway, no more.
				KeyLogWriter: p.keyLog,
			}, nil
		},
	}
}

func chooseALPN(offered []string) []string {
	if len(offered) == 0 || slices.Contains(offered, "http/1.1") {
		return []string{"http/1.1"}
	}
	return offered[:1]
}

func (t *tunnel) base(kind capture.Kind) *capture.Exchange {
	return &capture.Exchange{
		Kind:            kind,
		Path:            t.tc.path,
		Conn:            t.tc.id,
		Host:            t.target,
		BytesFromClient: t.tc.in.Load() - t.in0,
		BytesToClient:   t.tc.out.Load() - t.out0,
	}
}

func (t *tunnel) recordRejected(hello *helloInfo, err error) {
	ex := t.base(capture.KindTunnelRejected)
	if hello.sni != "" {
		ex.TLS = &capture.TLS{SNI: hello.sni}
	}
	ex.Note = fmt.Sprintf("TLS handshake with the client failed: %v; the client did not accept the harness certificate, so what it meant to send is unobservable", err)
	t.p.record(ex)
}

// recordOpaque records non-HTTP/1.x tunnel content: the first bytes (up
// to MaxBody) in Body, all of them counted.
func (t *tunnel) recordOpaque(kept []byte, size int64, tlsInfo *capture.TLS, reason string) {
	ex := t.base(capture.KindOpaqueTunnel)
	ex.TLS = tlsInfo
	ex.Body = capture.Body{Raw: kept, Size: size, RawTruncated: size > int64(len(kept))}
	where := "inside the tunnel"
	if tlsInfo != nil {
		where = "inside the tunnel after TLS"
	}
	ex.Note = fmt.Sprintf("%s; %d bytes %s (body holds the first %d)", reason, size, where, len(kept))
	t.p.record(ex)
}

// drainOpaque reads a non-HTTP tunnel to its end (EOF, Close, or quiet for
// opaqueIdle) and records it.
func (t *tunnel) drainOpaque(br *bufio.Reader, conn net.Conn, tlsInfo *capture.TLS, reason string) {
	var kept bytes.Buffer
	var size int64
	buf := make([]byte, 32<<10)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(opaqueIdle))
		n, err := br.Read(buf)
		if n > 0 {
			size += int64(n)
			if room := t.p.opts.MaxBody - int64(kept.Len()); room > 0 {
				kept.Write(buf[:min(int64(n), room)])
			}
		}
		if err != nil {
			// EOF, Close, or quiet for opaqueIdle: the tunnel is over.
			break
		}
	}
	t.recordOpaque(kept.Bytes(), size, tlsInfo, reason)
}

// serveRequest reads, records and answers one request inside a tunnel; it
// reports whether the connection stays open for another.
func (t *tunnel) serveRequest(br *bufio.Reader, conn net.Conn, scheme string, tlsInfo *capture.TLS) bool {
	head, err := peekHead(br)
	if err != nil {
		if !errors.Is(err, errNoRequest) {
			t.drainOpaque(br, conn, tlsInfo, "unreadable request head: "+err.Error())
		}
		return false
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		t.drainOpaque(br, conn, tlsInfo, "unparseable HTTP/1.x request: "+err.Error())
		return false
	}
	if isChunked(req) {
		// Read the framing ourselves to keep chunk extensions and
		// trailers; net/http's reader (left unread) drops extensions.
		req.Body = newChunkBody(br)
	}
	if tlsInfo == nil {
		t.retarget(req.Host, "80")
	}
	host := req.Host
	if host == "" {
		host = t.target
	}
	url := scheme + "://" + host + req.URL.RequestURI()
	if req.URL.IsAbs() {
		url = req.URL.String()
	}
	if req.ProtoAtLeast(1, 1) && headerHas(req.Header, "Expect", "100-continue") {
		if _, err := io.WriteString(conn, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			return false
		}
	}
	ex, raw, rawTrunc := t.p.readRequest(req, t.tc, head, tlsInfo, t.target, url)
	if req.Body != nil {
		req.Body.Close()
	}
	if ex.Kind == capture.KindWebSocket {
		if t.p.opts.Forward {
			t.forwardWebSocket(req, br, conn, scheme, ex)
		} else {
			t.sinkWebSocket(req, br, conn, ex)
		}
		return false
	}
	if t.p.opts.Forward {
		return t.forward(req, raw, rawTrunc, conn, scheme, ex.Seq)
	}
	a := t.p.answerFor(t.target)
	if !t.delay(br, conn, a.Delay) {
		t.p.recordResponse(ex.Seq, &capture.Response{Error: "connection closed during the answer delay (client gave up or proxy closed): unanswered"})
		return false
	}
	if err := writeAnswer(conn, a, req.Method, req.Close); err != nil {
		t.p.recordResponse(ex.Seq, &capture.Response{Status: a.Status, Error: "client gone: " + err.Error()})
		return false
	}
	t.p.recordResponse(ex.Seq, sinkRecord(a))
	return !req.Close
}

// delay holds a sink answer back for d (a slow endpoint) and reports
// whether to answer. It gives up as soon as the client closes its side, so
// a client that times out is not kept waiting on, and the harness (which
// waits while connections are open) does not wait for the endpoint's delay
// either.
func (t *tunnel) delay(br *bufio.Reader, conn net.Conn, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		// Peek consumes nothing: a pipelined request stays for the next
		// serveRequest. Only EOF or an error means the client is gone.
		if _, err := br.Peek(1); err != nil && !isTimeout(err) {
			cancel()
		}
	}()
	ok := t.p.wait(ctx, d)
	// Wake the watcher and wait for it, so that only one goroutine ever
	// reads br. A read timeout leaves a tls.Conn usable.
	_ = conn.SetReadDeadline(time.Now())
	<-watched
	_ = conn.SetReadDeadline(time.Time{})
	return ok
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
