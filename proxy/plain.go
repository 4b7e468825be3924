package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// plainState carries a forwarded plain request from the request handler to
// the response handler (goproxy's ctx.UserData).
type plainState struct {
	seq     int64
	forward bool
}

// onConnect decides what to do with a CONNECT: refuse it (Answer.Refuse)
// or take the tunnel over (serveTunnel does the MITM).
func (p *Proxy) onConnect(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
	a := p.answerFor(host)
	if a.Refuse {
		ex := &capture.Exchange{
			Kind:   capture.KindHTTP,
			Conn:   connOf(ctx.Req).id,
			Host:   host,
			Method: http.MethodConnect,
			URL:    host,
			Proto:  ctx.Req.Proto,
			Note:   "CONNECT refused by the harness (Answer.Refuse): answered 502, no tunnel",
		}
		ex.Headers, _ = wireHeaders(connOf(ctx.Req).takeHeadFor(ctx.Req), ctx.Req)
		p.record(ex)
		p.recordResponse(ex.Seq, &capture.Response{Status: http.StatusBadGateway})
		ctx.Resp = &http.Response{
			StatusCode:    http.StatusBadGateway,
			Status:        "502 Bad Gateway",
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{},
			Body:          http.NoBody,
			ContentLength: 0,
			Close:         true,
		}
		return &goproxy.ConnectAction{Action: goproxy.ConnectReject}, host
	}
	return &goproxy.ConnectAction{Action: goproxy.ConnectHijack, Hijack: p.hijack}, host
}

// connOf returns the client connection a request came on. Every request
// comes through the tracking listener; a detached stand-in keeps callers
// simple should that ever not hold.
func connOf(r *http.Request) *trackedConn {
	if r != nil {
		if tc, ok := r.Context().Value(connKey{}).(*trackedConn); ok {
			return tc
		}
	}
	return &trackedConn{tracker: newConnTracker()}
}

// takeHeadFor recovers the raw header block of r from the connection's
// recent bytes.
func (c *trackedConn) takeHeadFor(r *http.Request) []byte {
	head, ok := c.takeHead(r.Method+" "+r.RequestURI+" ", func(h []byte) bool {
		_, wire := parseHead(h)
		return sameHeaders(wire, r)
	})
	if !ok {
		return nil
	}
	return head
}

// onPlainRequest records a plain-HTTP proxy request and, in sink mode,
// answers it.
func (p *Proxy) onPlainRequest(r *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
	tc := connOf(r)
	ex, raw, rawTrunc := p.readRequest(r, tc, tc.takeHeadFor(r), nil, r.URL.Host, r.URL.String())
	if p.opts.Forward && !p.answerFor(r.URL.Host).Refuse {
		if rawTrunc {
			p.recordResponse(ex.Seq, &capture.Response{Status: http.StatusBadGateway, Error: errBodyTooLarge.Error()})
			return r, goproxy.NewResponse(r, "text/plain", http.StatusBadGateway, errBodyTooLarge.Error())
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		r.ContentLength = int64(len(raw))
		r.TransferEncoding = nil
		ctx.UserData = &plainState{seq: ex.Seq, forward: true}
		ctx.RoundTripper = goproxy.RoundTripperFunc(p.roundTripKeepAlive)
		return r, nil
	}
	ctx.UserData = &plainState{seq: ex.Seq}
	return r, p.sinkResponse(r, tc, ex.Seq)
}

// roundTripKeepAlive forwards without passing the client's
// "Connection: close" upstream: goproxy leaves req.Close set, which would
// cost a new upstream connection per request (research/proxy-bench.md).
func (p *Proxy) roundTripKeepAlive(req *http.Request, _ *goproxy.ProxyCtx) (*http.Response, error) {
	out := req.WithContext(req.Context())
	out.Close = false
	return p.tr.RoundTrip(out)
}

// sinkResponse builds the sink answer for a plain request and records it.
func (p *Proxy) sinkResponse(r *http.Request, tc *trackedConn, seq int64) *http.Response {
	a := p.answerFor(r.URL.Host)
	if a.Refuse {
		p.recordResponse(seq, &capture.Response{Error: "refused by the harness (Answer.Refuse): connection closed"})
		tc.Close()
		return goproxy.NewResponse(r, "text/plain", http.StatusBadGateway, "")
	}
	if !p.wait(r.Context(), a.Delay) {
		p.recordResponse(seq, &capture.Response{Error: "proxy closed or client gone during the answer delay"})
		tc.Close()
		return goproxy.NewResponse(r, "text/plain", http.StatusServiceUnavailable, "")
	}
	p.recordResponse(seq, sinkRecord(a))
	h := http.Header{}
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	return &http.Response{
		StatusCode:    a.Status,
		Status:        fmt.Sprintf("%d %s", a.Status, http.StatusText(a.Status)),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(a.Body)),
		ContentLength: int64(len(a.Body)),
		Request:       r,
	}
}

func sinkRecord(a Answer) *capture.Response {
	return &capture.Response{
		Status: a.Status,
		Headers: []capture.Header{
			{Name: "Content-Type", Value: a.ContentType},
			{Name: "Content-Length", Value: strconv.Itoa(len(a.Body))},
		},
		Body: capture.Body{Raw: a.Body, Size: int64(len(a.Body))},
		Time: time.Now(),
	}
}

// onPlainResponse records a forwarded plain response; its body is recorded
// as it streams to the client.
func (p *Proxy) onPlainResponse(resp *http.Response, ctx *goproxy.ProxyCtx) *http.Response {
	st, ok := ctx.UserData.(*plainState)
	if !ok || !st.forward {
		return resp
	}
	if resp == nil {
		msg := "no response from upstream"
		if ctx.Error != nil {
			msg = ctx.Error.Error()
		}
		p.recordResponse(st.seq, &capture.Response{Error: msg})
		return nil
	}
	p.watchResponse(st.seq, resp)
	return resp
}

// watchResponse records resp once its body has been passed on (at EOF or
// Close); a 101 upgrade is recorded at once, its body being the raw stream.
func (p *Proxy) watchResponse(seq int64, resp *http.Response) {
	rec := &capture.Response{Status: resp.StatusCode, Headers: responseHeaders(resp.Header)}
	if resp.StatusCode == http.StatusSwitchingProtocols || resp.Body == nil || resp.Body == http.NoBody {
		rec.Time = time.Now()
		p.recordResponse(seq, rec)
		return
	}
	enc := resp.Header.Get("Content-Encoding")
	resp.Body = &teeBody{rc: resp.Body, max: p.opts.MaxBody, done: func(kept []byte, size int64, trunc bool, err error) {
		rec.Time = time.Now()
		rec.Body = p.makeBody(kept, size, trunc, enc)
		if err != nil {
			rec.Error = "response body: " + err.Error()
		}
		p.recordResponse(seq, rec)
	}}
}

// teeBody keeps the first max bytes of a body passing through and reports
// once, at EOF, error or Close.
type teeBody struct {
	rc   io.ReadCloser
	max  int64
	buf  bytes.Buffer
	size int64
	once sync.Once
	done func(kept []byte, size int64, trunc bool, err error)
}

func (t *teeBody) Read(b []byte) (int, error) {
	n, err := t.rc.Read(b)
	if n > 0 {
		t.size += int64(n)
		if room := t.max - int64(t.buf.Len()); room > 0 {
			t.buf.Write(b[:min(int64(n), room)])
		}
	}
	if err == io.EOF {
		t.finish(nil)
	} else if err != nil {
		t.finish(err)
	}
	return n, err
}

func (t *teeBody) Close() error {
	err := t.rc.Close()
	t.finish(nil)
	return err
}

func (t *teeBody) finish(err error) {
	t.once.Do(func() { t.done(t.buf.Bytes(), t.size, t.size > t.max, err) })
}

// serveNonProxy records a request sent to the proxy as if it were the
// server (no absolute URL) and gives it the sink answer; it is never
// forwarded, since its target could be the proxy itself.
func (p *Proxy) serveNonProxy(w http.ResponseWriter, r *http.Request) {
	tc := connOf(r)
	url := "http://" + r.Host + r.RequestURI
	ex, _, _ := p.readRequest(r, tc, tc.takeHeadFor(r), nil, r.Host, url)
	resp := p.sinkResponse(r, tc, ex.Seq)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// readRequest reads the request body and records the request at once,
// before any answer. It returns the kept raw body.
func (p *Proxy) readRequest(r *http.Request, tc *trackedConn, head []byte, tlsInfo *capture.TLS, host, url string) (*capture.Exchange, []byte, bool) {
	raw, size, rawTrunc, err := readBody(r.Body, p.opts.MaxBody)
	ex := &capture.Exchange{
		Kind:   capture.KindHTTP,
		Path:   tc.path,
		Conn:   tc.id,
		Host:   host,
		TLS:    tlsInfo,
		Method: r.Method,
		URL:    url,
		Proto:  r.Proto,
		Body:   p.makeBody(raw, size, rawTrunc, r.Header.Get("Content-Encoding")),
	}
	if isWebSocket(r.Header) {
		ex.Kind = capture.KindWebSocket
	}
	var exact bool
	ex.Headers, exact = wireHeaders(head, r)
	if cb, ok := r.Body.(*chunkBody); ok {
		ex.Trailers, ex.ChunkExtensions = cb.trailers, cb.exts
	} else if len(r.Trailer) > 0 {
		ex.Trailers = trailersOf(r.Trailer)
	}
	var notes []string
	if !exact {
		notes = append(notes, "header wire order unknown: headers listed Host first, then by name")
	}
	if err != nil {
		notes = append(notes, "body incomplete: "+err.Error())
	}
	if len(notes) > 0 {
		ex.Note = joinNotes(notes)
	}
	p.record(ex)
	return ex, raw, rawTrunc
}

func joinNotes(ns []string) string {
	var b bytes.Buffer
	for i, n := range ns {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(n)
	}
	return b.String()
}

var _ net.Conn = (*trackedConn)(nil)
