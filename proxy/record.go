package proxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// headEnd returns the length of the header block at the start of b,
// including the blank line that ends it (CRLF or bare LF line ends).
func headEnd(b []byte) (int, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2, true
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3, true
		}
	}
	return 0, false
}

// parseHead splits a raw header block (request line first) into its
// request line and header fields in wire order, repeats kept, names spelt
// as sent. Obsolete line folding is joined with one space, as net/http
// does.
func parseHead(head []byte) (string, []capture.Header) {
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	var hs []capture.Header
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(hs) > 0 {
			last := &hs[len(hs)-1]
			last.Value = strings.TrimSpace(last.Value + " " + strings.TrimSpace(l))
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		hs = append(hs, capture.Header{Name: name, Value: strings.Trim(value, " \t")})
	}
	return lines[0], hs
}

// wireHeaders returns the request's headers in wire order when head (the raw
// header block) agrees with what net/http parsed, else the parsed headers in
// sorted order with ok false. Checking agreement guards against a head
// matched to the wrong request.
func wireHeaders(head []byte, req *http.Request) (hs []capture.Header, ok bool) {
	if head != nil {
		_, wire := parseHead(head)
		if sameHeaders(wire, req) {
			return wire, true
		}
	}
	return mapHeaders(req.Header, req.Host), false
}

func sameHeaders(wire []capture.Header, req *http.Request) bool {
	count := map[string]int{}
	for _, h := range wire {
		k := textproto.CanonicalMIMEHeaderKey(h.Name)
		if k == "Host" {
			continue
		}
		// net/http moves these out of Header (into TransferEncoding and
		// Trailer): a chunked request's head still agrees without them.
		if _, kept := req.Header[k]; !kept && (k == "Transfer-Encoding" || k == "Trailer") {
			continue
		}
		count[k]++
	}
	if len(count) != len(req.Header) {
		return false
	}
	for k, vs := range req.Header {
		if count[textproto.CanonicalMIMEHeaderKey(k)] != len(vs) {
			return false
		}
	}
	return true
}

// mapHeaders is the fallback when the wire order is unknown: Host first,
// then the rest sorted by name, values in their order.
func mapHeaders(h http.Header, host string) []capture.Header {
	var out []capture.Header
	if host != "" {
		out = append(out, capture.Header{Name: "Host", Value: host})
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			out = append(out, capture.Header{Name: k, Value: v})
		}
	}
	return out
}

// readBody reads a whole body, keeping at most max bytes; size counts all.
func readBody(r io.Reader, max int64) (kept []byte, size int64, truncated bool, err error) {
	if r == nil || r == http.NoBody {
		return nil, 0, false, nil
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max))
	size = n
	if err != nil {
		return buf.Bytes(), size, false, err
	}
	rest, err := io.Copy(io.Discard, r)
	size += rest
	return buf.Bytes(), size, rest > 0, err
}

// makeBody fills a capture.Body from raw bytes and the Content-Encoding.
func (p *Proxy) makeBody(raw []byte, size int64, rawTruncated bool, encoding string) capture.Body {
	b := capture.Body{Raw: raw, Size: size, RawTruncated: rawTruncated}
	if strings.TrimSpace(encoding) == "" {
		return b
	}
	b.Encoding = encoding
	if len(splitCodings(encoding)) == 0 {
		// identity: nothing to undo.
		return b
	}
	dec, trunc, err := DecodeBody(encoding, raw, p.opts.MaxDecoded)
	switch {
	case err != nil:
		b.DecodeError = err.Error()
		if rawTruncated {
			b.DecodeError += " (raw body truncated at the recording limit)"
		}
	case trunc:
		b.Decoded = dec
		b.Truncated = true
		b.DecodeError = fmt.Sprintf("decoding stopped at the %d-byte limit (decompression bomb?): decoded holds the first %d bytes", p.opts.MaxDecoded, len(dec))
	default:
		if dec == nil {
			dec = []byte{}
		}
		b.Decoded = dec
	}
	return b
}

// responseHeaders lists response headers; a response's wire order is not
// recovered (net/http gives a map), so they are sorted by name.
func responseHeaders(h http.Header) []capture.Header { return mapHeaders(h, "") }

func tlsFacts(cs tls.ConnectionState) *capture.TLS {
	return &capture.TLS{SNI: cs.ServerName, ALPN: cs.NegotiatedProtocol, Version: tls.VersionName(cs.Version)}
}

// record gives ex the next sequence number and times and writes it.
func (p *Proxy) record(ex *capture.Exchange) {
	now := time.Now()
	ex.Seq = p.seq.Add(1)
	ex.Time = now
	ex.Mono = int64(now.Sub(p.start))
	if err := p.opts.Capture.Exchange(ex); err != nil {
		p.logf("record exchange #%d: %v", ex.Seq, err)
	}
}

// recordResponse writes the response of exchange seq.
func (p *Proxy) recordResponse(seq int64, r *capture.Response) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	if err := p.opts.Capture.Response(seq, r); err != nil {
		p.logf("record response #%d: %v", seq, err)
	}
}

func isWebSocket(h http.Header) bool {
	return headerHas(h, "Connection", "upgrade") && headerHas(h, "Upgrade", "websocket")
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// errBodyTooLarge refuses to forward a body the proxy did not keep whole.
var errBodyTooLarge = errors.New("request body larger than MaxBody: not forwarded (raise Options.MaxBody)")
