package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
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

// sniffHTTP1 decides whether the tunnel carries HTTP/1.x by its first
// line, reading no more than needed.
func sniffHTTP1(br *bufio.Reader) (bool, string) {
	for {
		buf, _ := br.Peek(br.Buffered())
		switch v := requestLineVerdict(buf); v {
		case verdictYes:
			return true, ""
		case verdictNo:
			if bytes.HasPrefix(buf, []byte("PRI * HTTP/2")) {
				return false, "HTTP/2 connection preface (prior knowledge), not HTTP/1.x"
			}
			return false, fmt.Sprintf("not HTTP/1.x (first bytes %q)", buf[:min(len(buf), 16)])
		}
		if len(buf) >= maxFirstLine {
			return false, fmt.Sprintf("no HTTP/1.x request line in the first %d bytes", len(buf))
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			b, _ := br.Peek(br.Buffered())
			return false, fmt.Sprintf("tunnel ended inside its first line (first bytes %q)", b[:min(len(b), 16)])
		}
	}
}

type verdict int

const (
	verdictMore verdict = iota
	verdictYes
	verdictNo
)

// requestLineVerdict checks a prefix of the stream against
// "token SP target SP HTTP/1.d CRLF".
func requestLineVerdict(b []byte) verdict {
	i := 0
	for i < len(b) && isTokenChar(b[i]) {
		i++
	}
	if i == len(b) {
		return verdictMore
	}
	if i == 0 || b[i] != ' ' {
		return verdictNo
	}
	j := i + 1
	for j < len(b) && b[j] > ' ' && b[j] < 0x7f {
		j++
	}
	if j == len(b) {
		return verdictMore
	}
	if j == i+1 || b[j] != ' ' {
		return verdictNo
	}
	rest := b[j+1:]
	const proto = "HTTP/1."
	n := min(len(rest), len(proto))
	if string(rest[:n]) != proto[:n] {
		return verdictNo
	}
	if len(rest) <= len(proto) {
		return verdictMore
	}
	if rest[len(proto)] < '0' || rest[len(proto)] > '9' {
		return verdictNo
	}
	tail := rest[len(proto)+1:]
	switch {
	case len(tail) == 0:
		return verdictMore
	case tail[0] == '\n':
		return verdictYes
	case tail[0] != '\r':
		return verdictNo
	case len(tail) == 1:
		return verdictMore
	case tail[1] == '\n':
		return verdictYes
	}
	return verdictNo
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// errNoRequest is the normal end of a tunnel: it ended (or was closed)
// between requests.
var errNoRequest = errors.New("no further request")

// peekHead skips blank lines and returns a copy of the next request's
// header block, leaving it in br.
func peekHead(br *bufio.Reader) ([]byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errNoRequest, err)
		}
		if b[0] != '\r' && b[0] != '\n' {
			break
		}
		_, _ = br.ReadByte()
	}
	for {
		buf, _ := br.Peek(br.Buffered())
		if end, ok := headEnd(buf); ok {
			return append([]byte(nil), buf[:end]...), nil
		}
		if len(buf) >= br.Size() {
			return nil, fmt.Errorf("request head larger than %d bytes", br.Size())
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
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

// writeAnswer writes a sink answer in one write (one TLS record).
func writeAnswer(w io.Writer, a Answer, method string, closeAfter bool) error {
	var b bytes.Buffer
	text := http.StatusText(a.Status)
	if text == "" {
		text = "Status"
	}
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nDate: %s\r\n",
		a.Status, text, a.ContentType, len(a.Body), time.Now().UTC().Format(http.TimeFormat))
	if closeAfter {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	if method != http.MethodHead && a.Status >= 200 && a.Status != http.StatusNoContent && a.Status != http.StatusNotModified {
		b.Write(a.Body)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// hopHeaders are connection-specific and never forwarded (RFC 9110 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func stripHop(h http.Header, keepUpgrade bool) {
	for _, f := range h.Values("Connection") {
		for _, n := range strings.Split(f, ",") {
			if n = strings.TrimSpace(n); n != "" && !(keepUpgrade && strings.EqualFold(n, "upgrade")) {
				h.Del(n)
			}
		}
	}
	for _, n := range hopHeaders {
		if keepUpgrade && (n == "Connection" || n == "Upgrade") {
			continue
		}
		h.Del(n)
	}
}

// upstreamRequest builds the request to the real host: the CONNECT target,
// with the client's Host header.
func (t *tunnel) upstreamRequest(req *http.Request, body []byte, scheme string, keepUpgrade bool) (*http.Request, error) {
	out, err := http.NewRequest(req.Method, scheme+"://"+t.target+req.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build upstream request: %w", err)
	}
	out.Header = req.Header.Clone()
	stripHop(out.Header, keepUpgrade)
	out.Host = req.Host
	return out, nil
}

func (t *tunnel) badGateway(conn net.Conn, seq int64, msg string) {
	a := Answer{Status: http.StatusBadGateway, Body: []byte(msg), ContentType: "text/plain; charset=utf-8"}
	_ = writeAnswer(conn, a, "", true)
	t.p.recordResponse(seq, &capture.Response{Status: http.StatusBadGateway, Error: msg})
}

// forward passes a tunnelled request to the real host and streams the
// answer back, recording it on the way.
func (t *tunnel) forward(req *http.Request, raw []byte, rawTrunc bool, conn net.Conn, scheme string, seq int64) bool {
	if rawTrunc {
		t.badGateway(conn, seq, errBodyTooLarge.Error())
		return false
	}
	out, err := t.upstreamRequest(req, raw, scheme, false)
	if err != nil {
		t.badGateway(conn, seq, err.Error())
		return false
	}
	resp, err := t.roundTrip(out, scheme)
	if err != nil {
		t.badGateway(conn, seq, "upstream: "+err.Error())
		return false
	}
	// The host's "Connection: close" ends the upstream connection; the
	// client's ends only the tunnel (the upstream one goes to the pool).
	// A 101 turns the connection into another protocol: not reusable.
	upClose := resp.Close || resp.StatusCode == http.StatusSwitchingProtocols
	stripHop(resp.Header, false)
	t.p.watchResponse(seq, resp)
	resp.Close = req.Close || resp.Close
	if t.bw == nil {
		t.bw = t.p.bufs.writer(conn)
	}
	more := !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
	if err := resp.Write(t.bw); err != nil {
		// A body not read to its end leaves the connection mid-response:
		// close it before Close would drain the rest.
		t.closeUp()
		resp.Body.Close()
		return false
	}
	// The body has been read to its end.
	resp.Body.Close()
	switch {
	case upClose:
		t.closeUp()
	case !more:
		// Pooled before the client sees the answer, so that its next
		// connection finds it.
		t.releaseUp()
	}
	return t.bw.Flush() == nil && more
}

// sinkWebSocket accepts an upgrade itself and then reads the client's
// frames until it closes, recording each message (wsRecorder).
func (t *tunnel) sinkWebSocket(req *http.Request, br *bufio.Reader, conn net.Conn, up *capture.Exchange) {
	seq := up.Seq
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	accept := base64.StdEncoding.EncodeToString(sum[:])
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n"
	if _, err := io.WriteString(conn, resp); err != nil {
		t.p.recordResponse(seq, &capture.Response{Status: http.StatusSwitchingProtocols, Error: "client gone: " + err.Error()})
		return
	}
	t.p.recordResponse(seq, &capture.Response{Status: http.StatusSwitchingProtocols, Headers: []capture.Header{
		{Name: "Upgrade", Value: "websocket"}, {Name: "Connection", Value: "Upgrade"}, {Name: "Sec-WebSocket-Accept", Value: accept},
	}})
	wr := &wsRecorder{p: t.p, up: up}
	if err := wr.read(br, nil); err != nil && !errors.Is(err, io.EOF) {
		// What was gathered of an unfinished message was still sent.
		if wr.size > 0 {
			wr.flush(false)
		}
		_, _ = io.Copy(io.Discard, br)
	}
}

// forwardWebSocket relays an upgrade to the real host and then the raw
// stream both ways until either side ends.
func (t *tunnel) forwardWebSocket(req *http.Request, br *bufio.Reader, conn net.Conn, scheme string, ex *capture.Exchange) {
	seq := ex.Seq
	out, err := t.upstreamRequest(req, nil, scheme, true)
	if err != nil {
		t.badGateway(conn, seq, err.Error())
		return
	}
	resp, err := t.p.tr.RoundTrip(out)
	if err != nil {
		t.badGateway(conn, seq, "upstream: "+err.Error())
		return
	}
	defer resp.Body.Close()
	t.p.watchResponse(seq, resp)
	up, ok := resp.Body.(io.ReadWriter)
	if resp.StatusCode != http.StatusSwitchingProtocols || !ok {
		resp.Close = true
		_ = resp.Write(conn)
		return
	}
	body := resp.Body
	resp.Body = nil
	if err := resp.Write(conn); err != nil {
		return
	}
	resp.Body = body
	var wg sync.WaitGroup
	wg.Add(2)
	// Both directions are parsed as they are relayed, so every message is
	// recorded; a stream that is not valid framing is relayed raw.
	relay := func(dst io.Writer, src *bufio.Reader, fromServer bool) {
		wr := &wsRecorder{p: t.p, up: ex, fromServer: fromServer}
		if err := wr.read(src, dst); err != nil && !errors.Is(err, io.EOF) {
			if wr.size > 0 {
				wr.flush(false)
			}
		}
		_, _ = io.Copy(dst, src)
	}
	go func() {
		defer wg.Done()
		relay(up, br, false)
		_ = body.Close()
	}()
	go func() {
		defer wg.Done()
		relay(conn, bufio.NewReader(up), true)
		_ = conn.Close()
	}()
	wg.Wait()
}

// bufConn is a net.Conn whose reads come through a buffered reader that
// may already hold bytes of the stream.
type bufConn struct {
	net.Conn
	r io.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// bufPools reuses the large per-tunnel buffers: with a new connection per
// request, allocating them afresh made the garbage collector and the
// scavenger a sizeable share of the proxy's CPU.
type bufPools struct {
	readers, writers sync.Pool
}

func (b *bufPools) reader(r io.Reader) *bufio.Reader {
	if br, ok := b.readers.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, tunnelBuf)
}

// putReader drops the reader's source, so a pooled reader pins no
// connection.
func (b *bufPools) putReader(br *bufio.Reader) {
	br.Reset(nil)
	b.readers.Put(br)
}

func (b *bufPools) writer(w io.Writer) *bufio.Writer {
	if bw, ok := b.writers.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, 16<<10)
}

func (b *bufPools) putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	b.writers.Put(bw)
}
