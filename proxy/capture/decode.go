package capture

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// decodeRecord decodes one JSON Lines record into rec exactly as
// json.Unmarshal(line, rec) does on a zero rec: same values, same errors.
// encoding/json spends most of a 14 KB line validating and unquoting the
// base64 body byte by byte, so a fast path decodes what our Writer
// produces (plain strings, the fields we know, each once, integers) and
// hands anything else (escapes, unknown or repeated keys, nulls, numbers
// with fractions, a syntax error) to encoding/json from scratch, which
// then decides. line is not retained: every string and body is copied.
func decodeRecord(line []byte, rec *Record, in *interner) error {
	d := fastDecoder{b: line, in: in}
	if d.record(rec) {
		d.ws()
		if d.i == len(d.b) {
			return nil
		}
	}
	*rec = Record{}
	return json.Unmarshal(line, rec)
}

// fastDecoder reads the JSON subset described on decodeRecord. Every
// method returns false on anything outside it; the caller then falls back.
type fastDecoder struct {
	b  []byte
	i  int
	in *interner
}

func (d *fastDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// eat consumes c after optional white space.
func (d *fastDecoder) eat(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads an object, calling field with each key (a plain string,
// not retained) once the colon is read; field reads the value. bit maps
// a key to a distinct bit so that a repeated key (which encoding/json
// merges or overwrites) falls back.
func (d *fastDecoder) object(field func(key []byte) (bit uint32, ok bool)) bool {
	if !d.eat('{') {
		return false
	}
	if d.eat('}') {
		return true
	}
	var seen uint32
	for {
		k, ok := d.plain()
		if !ok || !d.eat(':') {
			return false
		}
		bit, ok := field(k)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if d.eat(',') {
			continue
		}
		return d.eat('}')
	}
}

// plain returns the contents of a string token made of printable ASCII
// without escapes, which are its value as is.
func (d *fastDecoder) plain() ([]byte, bool) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	for j := d.i + 1; j < len(d.b); j++ {
		c := d.b[j]
		if c == '"' {
			s := d.b[d.i+1 : j]
			d.i = j + 1
			return s, true
		}
		if c < 0x20 || c == '\\' || c >= 0x80 {
			return nil, false
		}
	}
	return nil, false
}

// str reads a string value: plain ones directly, others (escapes,
// non-ASCII) through encoding/json's own unquoting of just that token.
func (d *fastDecoder) str(dst *string) bool {
	start := d.i
	if s, ok := d.plain(); ok {
		*dst = d.in.str(s)
		return true
	}
	d.i = start
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false
	}
	j := d.i + 1
	for ; j < len(d.b); j++ {
		c := d.b[j]
		if c == '\\' {
			j++
			continue
		}
		if c == '"' {
			break
		}
		if c < 0x20 {
			return false
		}
	}
	if j >= len(d.b) {
		return false
	}
	var s string
	if json.Unmarshal(d.b[d.i:j+1], &s) != nil {
		return false
	}
	*dst = s
	d.i = j + 1
	return true
}

// int reads an integer literal (no fraction, no exponent) that fits
// int64, as encoding/json's strconv.ParseInt does for an int64 field.
func (d *fastDecoder) int(dst *int64) bool {
	d.ws()
	start := d.i
	j := d.i
	neg := j < len(d.b) && d.b[j] == '-'
	if neg {
		j++
	}
	digits := j
	var n int64
	for j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9' {
		n = n*10 + int64(d.b[j]-'0')
		j++
	}
	switch {
	case j == digits || (d.b[digits] == '0' && j-digits > 1):
		return false
	case j-digits > 18: // might overflow: let strconv decide
		v, err := strconv.ParseInt(string(d.b[start:j]), 10, 64)
		if err != nil {
			return false
		}
		n = v
	case neg:
		n = -n
	}
	*dst = n
	d.i = j
	return true
}

func (d *fastDecoder) bool(dst *bool) bool {
	d.ws()
	switch {
	case bytes.HasPrefix(d.b[d.i:], []byte("true")):
		*dst = true
		d.i += 4
	case bytes.HasPrefix(d.b[d.i:], []byte("false")):
		*dst = false
		d.i += 5
	default:
		return false
	}
	return true
}

// time reads a plain string token through time.Time's UnmarshalJSON,
// which is what encoding/json calls with the same token.
func (d *fastDecoder) time(dst *time.Time) bool {
	d.ws()
	start := d.i
	if _, ok := d.plain(); !ok {
		return false
	}
	if dst.UnmarshalJSON(d.b[start:d.i]) != nil {
		return false
	}
	return true
}

// bytes reads a base64 string as encoding/json does for a []byte field,
// when decodeBase64 takes it: an escape, CR or LF (which JSON forbids raw
// and base64 would skip) or the empty string fall back.
func (d *fastDecoder) bytes(dst *[]byte) bool {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false
	}
	rest := d.b[d.i+1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return false
	}
	out, ok := decodeBase64(rest[:end])
	if !ok {
		return false
	}
	*dst = out
	d.i += 1 + end + 1
	return true
}

func (d *fastDecoder) record(r *Record) bool {
	return d.object(func(k []byte) (uint32, bool) {
		switch string(k) {
		case "type":
			return 1, d.str(&r.Type)
		case "exchange":
			r.Exchange = new(Exchange)
			return 2, d.exchange(r.Exchange)
		case "seq":
			return 4, d.int(&r.Seq)
		case "response":
			r.Response = new(Response)
			return 8, d.response(r.Response)
		}
		return 0, false
	})
}

func (d *fastDecoder) exchange(e *Exchange) bool {
	return d.object(func(k []byte) (uint32, bool) {
		switch string(k) {
		case "seq":
			return 1 << 0, d.int(&e.Seq)
		case "kind":
			var s string
			ok := d.str(&s)
			e.Kind = Kind(s)
			return 1 << 1, ok
		case "path":
			var s string
			ok := d.str(&s)
			e.Path = Path(s)
			return 1 << 2, ok
		case "time":
			return 1 << 3, d.time(&e.Time)
		case "mono_ns":
			return 1 << 4, d.int(&e.Mono)
		case "conn":
			return 1 << 5, d.int(&e.Conn)
		case "host":
			return 1 << 6, d.str(&e.Host)
		case "tls":
			e.TLS = new(TLS)
			return 1 << 7, d.tls(e.TLS)
		case "method":
			return 1 << 8, d.str(&e.Method)
		case "url":
			return 1 << 9, d.str(&e.URL)
		case "proto":
			return 1 << 10, d.str(&e.Proto)
		case "headers":
			return 1 << 11, d.headers(&e.Headers)
		case "body":
			return 1 << 12, d.body(&e.Body)
		case "response":
			e.Response = new(Response)
			return 1 << 13, d.response(e.Response)
		case "bytes_from_client":
			return 1 << 14, d.int(&e.BytesFromClient)
		case "bytes_to_client":
			return 1 << 15, d.int(&e.BytesToClient)
		case "note":
			return 1 << 16, d.str(&e.Note)
		case "trailers":
			return 1 << 17, d.headers(&e.Trailers)
		case "chunk_extensions":
			return 1 << 18, d.strs(&e.ChunkExtensions)
		case "parent":
			return 1 << 19, d.int(&e.Parent)
		case "from_server":
			return 1 << 20, d.bool(&e.FromServer)
		}
		return 0, false
	})
}

func (d *fastDecoder) tls(t *TLS) bool {
	return d.object(func(k []byte) (uint32, bool) {
		switch string(k) {
		case "sni":
			return 1, d.str(&t.SNI)
		case "alpn":
			return 2, d.str(&t.ALPN)
		case "version":
			return 4, d.str(&t.Version)
		}
		return 0, false
	})
}

func (d *fastDecoder) response(r *Response) bool {
	return d.object(func(k []byte) (uint32, bool) {
		switch string(k) {
		case "status":
			var n int64
			ok := d.int(&n)
			r.Status = int(n)
			return 1, ok && int64(r.Status) == n
		case "headers":
			return 2, d.headers(&r.Headers)
		case "body":
			return 4, d.body(&r.Body)
		case "time":
			return 8, d.time(&r.Time)
		case "error":
			return 16, d.str(&r.Error)
		}
		return 0, false
	})
}

func (d *fastDecoder) body(b *Body) bool {
	return d.object(func(k []byte) (uint32, bool) {
		switch string(k) {
		case "raw":
			return 1, d.bytes(&b.Raw)
		case "size":
			return 2, d.int(&b.Size)
		case "encoding":
			return 4, d.str(&b.Encoding)
		case "decoded":
			return 8, d.bytes(&b.Decoded)
		case "decode_error":
			return 16, d.str(&b.DecodeError)
		case "truncated":
			return 32, d.bool(&b.Truncated)
		case "raw_truncated":
			return 64, d.bool(&b.RawTruncated)
		}
		return 0, false
	})
}

// headers reads an array of header objects; "[]" gives an empty, non-nil
// slice as encoding/json does.
func (d *fastDecoder) headers(dst *[]Header) bool {
	if !d.eat('[') {
		return false
	}
	hs := make([]Header, 0, 8)
	if !d.eat(']') {
		for {
			var h Header
			if !d.object(func(k []byte) (uint32, bool) {
				switch string(k) {
				case "name":
					return 1, d.str(&h.Name)
				case "value":
					return 2, d.str(&h.Value)
				}
				return 0, false
			}) {
				return false
			}
			hs = append(hs, h)
			if d.eat(',') {
				continue
			}
			if !d.eat(']') {
				return false
			}
			break
		}
	}
	*dst = hs[:len(hs):len(hs)]
	return true
}

// interner shares the strings that repeat on every line (header names and
// values, hosts, methods, URLs) instead of allocating each again: strings
// are immutable, so sharing is invisible to callers. It is per decoding
// goroutine and bounded.
type interner struct {
	m map[string]string
}

const (
	maxInterned    = 4096
	maxInternedLen = 256
)

func (in *interner) str(b []byte) string {
	if in == nil || len(b) > maxInternedLen {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

// strs reads an array of strings; "[]" gives an empty, non-nil slice, as
// encoding/json does.
func (d *fastDecoder) strs(dst *[]string) bool {
	if !d.eat('[') {
		return false
	}
	out := []string{}
	if !d.eat(']') {
		for {
			var v string
			if !d.str(&v) {
				return false
			}
			out = append(out, v)
			if d.eat(',') {
				continue
			}
			if !d.eat(']') {
				return false
			}
			break
		}
	}
	*dst = out
	return true
}
