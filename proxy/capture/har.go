package capture

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) written with
// hand-made structs: no well-kept Go HAR library exists (google/martian's
// har package is archived). Facts HAR has no field for are kept in custom
// fields, which the spec allows when their names start with "_", so that
// ReadHAR loads a capture back into the same Exchange model:
//
//	entry._seq, _kind, _path, _mono_ns, _conn, _host, _tls, _note,
//	      _bytes_from_client, _bytes_to_client
//	request._synthetic  method and url were made up for a non-HTTP record
//	postData / content: text is Body.Bytes() (decoded when it decoded),
//	      base64 with encoding "base64" when not UTF-8 (postData uses
//	      "_encoding", which HAR 1.2 lacks there); _raw holds the wire bytes
//	      when they differ; _size, _content_encoding, _decode_error,
//	      _truncated, _raw_truncated
//	response._missing (no response known), _error, _time
//
// Redaction replaces header and cookie values, never bodies.

// HARCreator names the tool in the HAR log.
const HARCreator = "telemetry-harness"

// RedactedValue replaces credential header values in redacted HAR output.
const RedactedValue = "[redacted]"

// redactedHeaders are the headers whose values WriteHAR hides when asked.
var redactedHeaders = map[string]bool{"authorization": true, "cookie": true, "proxy-authorization": true}

type harFile struct {
	Log harLog `json:"log"`
}

type harLog struct {
	Version string      `json:"version"`
	Creator harCreator  `json:"creator"`
	Entries []*harEntry `json:"entries"`
	Comment string      `json:"comment,omitempty"`
}

type harCreator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type harEntry struct {
	StartedDateTime string      `json:"startedDateTime"`
	Time            float64     `json:"time"`
	Request         harRequest  `json:"request"`
	Response        harResponse `json:"response"`
	Cache           struct{}    `json:"cache"`
	Timings         harTimings  `json:"timings"`
	Connection      string      `json:"connection,omitempty"`
	Comment         string      `json:"comment,omitempty"`

	Seq             int64  `json:"_seq"`
	Kind            Kind   `json:"_kind"`
	Path            Path   `json:"_path,omitempty"`
	Mono            int64  `json:"_mono_ns"`
	Conn            int64  `json:"_conn"`
	Host            string `json:"_host,omitempty"`
	TLS             *TLS   `json:"_tls,omitempty"`
	Note            string `json:"_note,omitempty"`
	BytesFromClient int64  `json:"_bytes_from_client,omitempty"`
	BytesToClient   int64  `json:"_bytes_to_client,omitempty"`
	Redacted        bool   `json:"_redacted,omitempty"`
	// Parent and FromServer are a WebSocket message's (its own entry, so
	// that the HAR reads back exactly); WebSocketMessages lists them on
	// the upgrade's entry as Chrome's HAR does, for HAR viewers: derived,
	// not read back.
	Parent            int64          `json:"_parent,omitempty"`
	FromServer        bool           `json:"_from_server,omitempty"`
	WebSocketMessages []harWSMessage `json:"_webSocketMessages,omitempty"`
}

// harWSMessage is one entry of Chrome's _webSocketMessages.
type harWSMessage struct {
	Type   string  `json:"type"` // send or receive
	Time   float64 `json:"time"` // unix seconds
	Opcode int     `json:"opcode"`
	Data   string  `json:"data"`
}

type harTimings struct {
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

type harNV struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type harRequest struct {
	Method      string       `json:"method"`
	URL         string       `json:"url"`
	HTTPVersion string       `json:"httpVersion"`
	Cookies     []harNV      `json:"cookies"`
	Headers     []harNV      `json:"headers"`
	QueryString []harNV      `json:"queryString"`
	PostData    *harPostData `json:"postData,omitempty"`
	HeadersSize int64        `json:"headersSize"`
	BodySize    int64        `json:"bodySize"`
	Synthetic   bool         `json:"_synthetic,omitempty"`
	// Trailers and ChunkExtensions are Exchange's, beyond HAR.
	Trailers        []harNV  `json:"_trailers,omitempty"`
	ChunkExtensions []string `json:"_chunk_extensions,omitempty"`
}

// harBodyExtra is what both postData and content carry beyond HAR.
type harBodyExtra struct {
	Raw             *harBlob `json:"_raw,omitempty"`
	Size            int64    `json:"_size"`
	ContentEncoding string   `json:"_content_encoding,omitempty"`
	DecodeError     string   `json:"_decode_error,omitempty"`
	Truncated       bool     `json:"_truncated,omitempty"`
	RawTruncated    bool     `json:"_raw_truncated,omitempty"`
}

type harPostData struct {
	MimeType string  `json:"mimeType"`
	Params   []harNV `json:"params"`
	Text     string  `json:"text"`
	Encoding string  `json:"_encoding,omitempty"`
	harBodyExtra
}

type harContent struct {
	Size     int64  `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	harBodyExtra
}

type harResponse struct {
	Status      int        `json:"status"`
	StatusText  string     `json:"statusText"`
	HTTPVersion string     `json:"httpVersion"`
	Cookies     []harNV    `json:"cookies"`
	Headers     []harNV    `json:"headers"`
	Content     harContent `json:"content"`
	RedirectURL string     `json:"redirectURL"`
	HeadersSize int64      `json:"headersSize"`
	BodySize    int64      `json:"bodySize"`
	Missing     bool       `json:"_missing,omitempty"`
	Error       string     `json:"_error,omitempty"`
	Time        string     `json:"_time,omitempty"`
}

type harBlob struct {
	Text     string `json:"text"`
	Encoding string `json:"encoding,omitempty"`
}

func encodeBlob(b []byte) (text, encoding string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

func decodeBlob(text, encoding string) ([]byte, error) {
	switch encoding {
	case "":
		if text == "" {
			return nil, nil
		}
		return []byte(text), nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return nil, fmt.Errorf("bad base64 text: %w", err)
		}
		if len(b) == 0 {
			return nil, nil
		}
		return b, nil
	default:
		return nil, fmt.Errorf("unknown text encoding %q (want base64 or none)", encoding)
	}
}

// WriteHAR writes exchanges as one HAR 1.2 log. With redact, the values of
// Authorization, Cookie and Proxy-Authorization headers (and the request
// cookies parsed from Cookie) are replaced by RedactedValue.
func WriteHAR(w io.Writer, exs []*Exchange, redact bool) error {
	f := harFile{Log: harLog{Version: "1.2", Creator: harCreator{Name: HARCreator, Version: "1"}, Entries: []*harEntry{}}}
	upgrades := map[int64]*harEntry{}
	for _, ex := range exs {
		e := toHAREntry(ex, redact)
		f.Log.Entries = append(f.Log.Entries, e)
		switch ex.Kind {
		case KindWebSocket:
			upgrades[ex.Seq] = e
		case KindWebSocketMessage:
			if up := upgrades[ex.Parent]; up != nil {
				up.WebSocketMessages = append(up.WebSocketMessages, wsMessage(ex))
			}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&f); err != nil {
		return fmt.Errorf("write HAR: %w", err)
	}
	return nil
}

func toHAREntry(ex *Exchange, redact bool) *harEntry {
	e := &harEntry{
		StartedDateTime: ex.Time.Format(time.RFC3339Nano),
		Seq:             ex.Seq,
		Kind:            ex.Kind,
		Path:            ex.Path,
		Mono:            ex.Mono,
		Conn:            ex.Conn,
		Host:            ex.Host,
		TLS:             ex.TLS,
		Note:            ex.Note,
		BytesFromClient: ex.BytesFromClient,
		BytesToClient:   ex.BytesToClient,
		Redacted:        redact,
		Parent:          ex.Parent,
		FromServer:      ex.FromServer,
	}
	if ex.Conn != 0 {
		e.Connection = strconv.FormatInt(ex.Conn, 10)
	}
	e.Request = harRequest{
		Method:      ex.Method,
		URL:         ex.URL,
		HTTPVersion: ex.Proto,
		Headers:     harHeaders(ex.Headers, redact),
		Cookies:     requestCookies(ex.Headers, redact),
		QueryString: queryString(ex.URL),
		HeadersSize: -1,
		BodySize:    ex.Body.Size,
		// Trailers are redacted like headers: a tool may move a credential there.
		Trailers:        harHeaders(ex.Trailers, redact),
		ChunkExtensions: ex.ChunkExtensions,
	}
	if len(ex.Trailers) == 0 {
		e.Request.Trailers = nil
	}
	if ex.Method == "" && ex.URL == "" {
		// HAR needs a request; a tunnel record has none of its own.
		e.Request.Method, e.Request.URL, e.Request.Synthetic = http.MethodConnect, "https://"+ex.Host, true
	}
	if e.Request.HTTPVersion == "" {
		e.Request.HTTPVersion = "HTTP/1.1"
	}
	if ex.Body.Size > 0 || len(ex.Body.Raw) > 0 {
		text, enc, extra := harBody(ex.Body)
		e.Request.PostData = &harPostData{MimeType: headerValue(ex.Headers, "Content-Type"), Params: []harNV{}, Text: text, Encoding: enc, harBodyExtra: extra}
	}
	if ex.Response == nil {
		e.Response = harResponse{Cookies: []harNV{}, Headers: []harNV{}, HeadersSize: -1, BodySize: -1, Missing: true}
		e.Timings = harTimings{Send: 0, Wait: 0, Receive: 0}
		return e
	}
	r := ex.Response
	text, enc, extra := harBody(r.Body)
	e.Response = harResponse{
		Status:      r.Status,
		StatusText:  http.StatusText(r.Status),
		HTTPVersion: "HTTP/1.1",
		Cookies:     []harNV{},
		Headers:     harHeaders(r.Headers, false),
		Content:     harContent{Size: int64(len(r.Body.Bytes())), MimeType: headerValue(r.Headers, "Content-Type"), Text: text, Encoding: enc, harBodyExtra: extra},
		RedirectURL: headerValue(r.Headers, "Location"),
		HeadersSize: -1,
		BodySize:    r.Body.Size,
		Error:       r.Error,
	}
	if !r.Time.IsZero() {
		e.Response.Time = r.Time.Format(time.RFC3339Nano)
		if d := r.Time.Sub(ex.Time); d > 0 {
			e.Time = float64(d) / float64(time.Millisecond)
		}
	}
	e.Timings = harTimings{Send: 0, Wait: e.Time, Receive: 0}
	return e
}

func harBody(b Body) (text, encoding string, extra harBodyExtra) {
	extra = harBodyExtra{Size: b.Size, ContentEncoding: b.Encoding, DecodeError: b.DecodeError, Truncated: b.Truncated, RawTruncated: b.RawTruncated}
	if b.Encoding != "" && b.Decoded != nil {
		t, e := encodeBlob(b.Raw)
		extra.Raw = &harBlob{Text: t, Encoding: e}
		text, encoding = encodeBlob(b.Decoded)
		return text, encoding, extra
	}
	text, encoding = encodeBlob(b.Raw)
	return text, encoding, extra
}

func harHeaders(hs []Header, redact bool) []harNV {
	out := make([]harNV, 0, len(hs))
	for _, h := range hs {
		v := h.Value
		if redact && redactedHeaders[strings.ToLower(h.Name)] {
			v = RedactedValue
		}
		out = append(out, harNV{Name: h.Name, Value: v})
	}
	return out
}

func requestCookies(hs []Header, redact bool) []harNV {
	out := []harNV{}
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		for _, part := range strings.Split(h.Value, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			if name == "" {
				continue
			}
			if redact {
				value = RedactedValue
			}
			out = append(out, harNV{Name: name, Value: value})
		}
	}
	return out
}

func queryString(raw string) []harNV {
	out := []harNV{}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		out = append(out, harNV{Name: k, Value: v})
	}
	return out
}

func headerValue(hs []Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// ReadHAR reads a HAR 1.2 log back into exchanges. Logs written by WriteHAR
// load into the same Exchange values (redacted values stay redacted); other
// HAR files load with what HAR has: method, URL, headers, bodies, status and
// times, numbered in file order.
func ReadHAR(r io.Reader, name string) ([]*Exchange, error) {
	var f harFile
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("read HAR %s: not a HAR JSON document: %w", name, err)
	}
	if f.Log.Version == "" {
		return nil, fmt.Errorf("read HAR %s: log.version missing (want a HAR 1.2 file with a top-level \"log\" object)", name)
	}
	out := make([]*Exchange, 0, len(f.Log.Entries))
	for i, e := range f.Log.Entries {
		ex, err := fromHAREntry(e)
		if err != nil {
			return nil, fmt.Errorf("read HAR %s: log.entries[%d]: %w", name, i, err)
		}
		if ex.Seq == 0 {
			ex.Seq = int64(i + 1)
		}
		out = append(out, ex)
	}
	return out, nil
}

func fromHAREntry(e *harEntry) (*Exchange, error) {
	if e == nil {
		return nil, fmt.Errorf("entry is null")
	}
	t, err := time.Parse(time.RFC3339Nano, e.StartedDateTime)
	if err != nil {
		return nil, fmt.Errorf("startedDateTime %q: want an ISO 8601 time like 2026-01-02T15:04:05.000Z", e.StartedDateTime)
	}
	ex := &Exchange{
		Seq:             e.Seq,
		Kind:            e.Kind,
		Path:            e.Path,
		Time:            t,
		Mono:            e.Mono,
		Conn:            e.Conn,
		Host:            e.Host,
		TLS:             e.TLS,
		Method:          e.Request.Method,
		URL:             e.Request.URL,
		Proto:           e.Request.HTTPVersion,
		Headers:         fromHARHeaders(e.Request.Headers),
		Trailers:        fromHARHeaders(e.Request.Trailers),
		ChunkExtensions: e.Request.ChunkExtensions,
		Note:            e.Note,
		BytesFromClient: e.BytesFromClient,
		BytesToClient:   e.BytesToClient,
		Parent:          e.Parent,
		FromServer:      e.FromServer,
	}
	if ex.Kind == "" {
		ex.Kind = KindHTTP
	}
	if ex.Conn == 0 && e.Connection != "" {
		ex.Conn, _ = strconv.ParseInt(e.Connection, 10, 64)
	}
	if e.Request.Synthetic {
		ex.Method, ex.URL, ex.Proto = "", "", ""
	}
	if ex.Host == "" {
		if u, err := url.Parse(ex.URL); err == nil {
			ex.Host = u.Host
		}
	}
	if pd := e.Request.PostData; pd != nil {
		ex.Body, err = fromHARBody(pd.Text, pd.Encoding, pd.harBodyExtra, e.Request.BodySize)
		if err != nil {
			return nil, fmt.Errorf("request.postData: %w", err)
		}
	} else if e.Request.BodySize > 0 {
		ex.Body.Size = e.Request.BodySize
	}
	if e.Response.Missing {
		return ex, nil
	}
	resp := &Response{Status: e.Response.Status, Headers: fromHARHeaders(e.Response.Headers), Error: e.Response.Error}
	c := e.Response.Content
	resp.Body, err = fromHARBody(c.Text, c.Encoding, c.harBodyExtra, e.Response.BodySize)
	if err != nil {
		return nil, fmt.Errorf("response.content: %w", err)
	}
	if e.Response.Time != "" {
		if resp.Time, err = time.Parse(time.RFC3339Nano, e.Response.Time); err != nil {
			return nil, fmt.Errorf("response._time %q: %w", e.Response.Time, err)
		}
	} else if e.Time > 0 {
		resp.Time = t.Add(time.Duration(e.Time * float64(time.Millisecond)))
	}
	ex.Response = resp
	return ex, nil
}

func fromHARBody(text, encoding string, extra harBodyExtra, bodySize int64) (Body, error) {
	b := Body{Size: extra.Size, Encoding: extra.ContentEncoding, DecodeError: extra.DecodeError, Truncated: extra.Truncated, RawTruncated: extra.RawTruncated}
	content, err := decodeBlob(text, encoding)
	if err != nil {
		return b, err
	}
	if extra.Raw != nil {
		if b.Raw, err = decodeBlob(extra.Raw.Text, extra.Raw.Encoding); err != nil {
			return b, fmt.Errorf("_raw: %w", err)
		}
		b.Decoded = content
		if b.Decoded == nil {
			b.Decoded = []byte{}
		}
	} else {
		b.Raw = content
	}
	if b.Size == 0 {
		// A HAR from elsewhere: bodySize, else the text's length.
		b.Size = max(bodySize, int64(len(b.Raw)))
	}
	return b, nil
}

func fromHARHeaders(nvs []harNV) []Header {
	if len(nvs) == 0 {
		return nil
	}
	out := make([]Header, 0, len(nvs))
	for _, nv := range nvs {
		out = append(out, Header(nv))
	}
	return out
}

// wsMessage is a WebSocket message as Chrome's _webSocketMessages lists
// it: binary data base64, as Chrome writes it.
func wsMessage(ex *Exchange) harWSMessage {
	m := harWSMessage{Type: "send", Time: float64(ex.Time.UnixNano()) / 1e9, Opcode: 1, Data: string(ex.Body.Raw)}
	if ex.FromServer {
		m.Type = "receive"
	}
	if !utf8.Valid(ex.Body.Raw) {
		m.Opcode, m.Data = 2, base64.StdEncoding.EncodeToString(ex.Body.Raw)
	}
	return m
}
