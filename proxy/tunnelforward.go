package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// What a tunnel does with a request: answer it as the sink, or forward it (and WebSocket upgrades) upstream; buffered I/O pools.

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
