package capture

import (
	"fmt"
	"strings"
	"time"
)

// Kind says what an Exchange records.
type Kind string

const (
	// KindHTTP is an HTTP request: plain through the proxy, inside a
	// decrypted CONNECT tunnel, or caught on a transparent listener.
	KindHTTP Kind = "http"
	// KindTunnelRejected is a CONNECT tunnel whose TLS handshake the client
	// aborted: it rejected our certificate, so what it sent is unobservable.
	KindTunnelRejected Kind = "tunnel-rejected"
	// KindOpaqueTunnel is a tunnel that carried bytes that are not HTTP/1.x
	// (HTTP/2 prior knowledge, another protocol); only byte counts are known.
	KindOpaqueTunnel Kind = "opaque-tunnel"
	// KindWebSocket is an HTTP Upgrade to WebSocket; the upgrade request is
	// recorded like any request.
	KindWebSocket Kind = "websocket"
	// KindWebSocketMessage is one message (fragments joined, unmasked)
	// sent over an upgraded WebSocket connection: Parent is the upgrade's
	// Seq, Body the payload, FromServer set for what the server sent.
	KindWebSocketMessage Kind = "websocket-message"
)

// Path says how a request reached the harness.
type Path string

const (
	// PathProxy is a request sent through the proxy (HTTPS_PROXY honoured).
	PathProxy Path = "proxy"
	// PathTransparent is a request that ignored the proxy and was caught by a
	// transparent listener inside a sealed network namespace.
	PathTransparent Path = "transparent"
)

// Header is one header field as it was on the wire; headers keep wire order
// and repeats, so a slice rather than a map.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TLS holds what the TLS handshake with the client told us.
type TLS struct {
	// SNI is the server name the client asked for; empty when it sent none.
	SNI string `json:"sni,omitempty"`
	// ALPN is the negotiated application protocol; empty when none.
	ALPN string `json:"alpn,omitempty"`
	// Version is the TLS version, e.g. "TLS 1.3".
	Version string `json:"version,omitempty"`
}

// Body is a request or response body: the exact bytes and, when the body had
// a Content-Encoding, the decoded bytes.
type Body struct {
	// Raw is the body exactly as sent (JSON: base64).
	Raw []byte `json:"raw,omitempty"`
	// Size is the length of Raw on the wire.
	Size int64 `json:"size"`
	// Encoding is the Content-Encoding it arrived with; empty for identity.
	Encoding string `json:"encoding,omitempty"`
	// Decoded is the body after undoing Encoding; nil when Encoding is empty
	// or decoding failed.
	Decoded []byte `json:"decoded,omitempty"`
	// DecodeError says why decoding failed or stopped; empty when it worked.
	DecodeError string `json:"decode_error,omitempty"`
	// Truncated is true when decoding stopped at the size limit (a
	// decompression bomb): Decoded holds the first bytes only.
	Truncated bool `json:"truncated,omitempty"`
	// RawTruncated is true when the raw body itself exceeded the recording
	// limit and only its first bytes were kept.
	RawTruncated bool `json:"raw_truncated,omitempty"`
}

// Bytes is the body as the application meant it: Decoded when there is an
// encoding that decoded (possibly to nothing: JSON drops an empty Decoded),
// else Raw.
func (b Body) Bytes() []byte {
	switch {
	case b.Decoded != nil:
		return b.Decoded
	case b.Encoding == "" || b.DecodeError != "" || identityOnly(b.Encoding):
		return b.Raw
	default:
		return nil
	}
}

// identityOnly reports whether a Content-Encoding value names no coding
// that changes the bytes.
func identityOnly(enc string) bool {
	for _, c := range strings.Split(enc, ",") {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
			return false
		}
	}
	return true
}

// Response is what the harness (sink mode) or the real host (forward mode)
// answered.
type Response struct {
	Status  int       `json:"status"`
	Headers []Header  `json:"headers,omitempty"`
	Body    Body      `json:"body"`
	Time    time.Time `json:"time"`
	// Error is set when no response could be given (forward mode upstream
	// failure, client gone).
	Error string `json:"error,omitempty"`
}

// Exchange is one thing a client tried to send.
type Exchange struct {
	// Seq numbers exchanges from 1 in the order they were recorded.
	Seq int64 `json:"seq"`
	// Kind says what this record is; see the Kind constants.
	Kind Kind `json:"kind"`
	// Path says how the request reached the harness; zero means PathProxy.
	Path Path `json:"path,omitempty"`
	// Time is the wall-clock time the request was complete.
	Time time.Time `json:"time"`
	// Mono is nanoseconds since the recording session started, from the
	// monotonic clock, so ordering survives wall-clock jumps.
	Mono int64 `json:"mono_ns"`
	// Conn identifies the client connection (from 1), so requests sharing a
	// keep-alive connection or a tunnel can be grouped.
	Conn int64 `json:"conn"`
	// Host is the authority the client asked for (CONNECT target or Host).
	Host string `json:"host,omitempty"`
	// TLS is set for requests that came through TLS.
	TLS *TLS `json:"tls,omitempty"`

	Method  string   `json:"method,omitempty"`
	URL     string   `json:"url,omitempty"`
	Proto   string   `json:"proto,omitempty"`
	Headers []Header `json:"headers,omitempty"`
	Body    Body     `json:"body"`
	// Trailers are a chunked body's trailer fields (wire order inside a
	// tunnel; sorted by name on the plain proxy path, where net/http
	// reads the body); judged like headers.
	Trailers []Header `json:"trailers,omitempty"`
	// ChunkExtensions are the text after ';' on the chunk-size lines of a
	// chunked body, in order (inside a tunnel only: on the plain proxy
	// path net/http drops them unseen); judged like body text.
	ChunkExtensions []string `json:"chunk_extensions,omitempty"`

	// Response is nil until a response is known.
	Response *Response `json:"response,omitempty"`

	// Parent is the Seq of the WebSocket upgrade a message travelled on
	// (KindWebSocketMessage).
	Parent int64 `json:"parent,omitempty"`
	// FromServer marks a WebSocket message the server sent (forward mode):
	// not the tool's, so not judged as what it sent.
	FromServer bool `json:"from_server,omitempty"`

	// BytesFromClient and BytesToClient count tunnel bytes for opaque
	// tunnels.
	BytesFromClient int64 `json:"bytes_from_client,omitempty"`
	BytesToClient   int64 `json:"bytes_to_client,omitempty"`
	// Note explains non-HTTP records in words, e.g. why a tunnel was
	// rejected.
	Note string `json:"note,omitempty"`
}

// Header returns the first value of the named header (case-insensitive).
func (e *Exchange) Header(name string) (string, bool) {
	for _, h := range e.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// Empty reports whether the exchange is a tunnel the client opened and
// closed without sending a byte inside it (a CONNECT answered, then
// nothing, or nothing after the TLS handshake): the harness saw all there
// was, so it hides nothing, unlike an opaque tunnel that carried bytes.
// A tool that gives up on a request at exit leaves such tunnels.
func (e *Exchange) Empty() bool {
	return e.Kind == KindOpaqueTunnel && e.Body.Size == 0 && !e.Body.RawTruncated && len(e.Body.Raw) == 0 &&
		(e.TLS != nil || e.BytesFromClient == 0)
}

// String is a compact summary without body content: failure messages and
// logs use it so that captured personal data is never dumped.
func (e *Exchange) String() string {
	switch e.Kind {
	case KindHTTP, KindWebSocket, "":
		return fmt.Sprintf("%s %s, exchange #%d, %d B", e.Method, e.URL, e.Seq, e.Body.Size)
	default:
		return fmt.Sprintf("%s %s, exchange #%d", e.Kind, e.Host, e.Seq)
	}
}

// GomegaString keeps Gomega from dumping bodies into failure messages.
func (e *Exchange) GomegaString() string { return "<" + e.String() + ">" }
