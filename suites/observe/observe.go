package observe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// Kinds of Value.
const (
	KindString = "string"
	KindNumber = "number"
	KindBool   = "bool"
	KindNull   = "null"
	KindHeader = "header"
	KindQuery  = "query"
	KindURL    = "url"
	KindTag    = "tag"
)

// DefaultMaxDepth is the nesting limit used when Options.MaxDepth is zero:
// deep enough for any real telemetry payload, shallow enough that a hostile
// body cannot exhaust the stack.
const DefaultMaxDepth = 64

// TagList names a JSON array whose string elements are "key<Sep>value" tags.
type TagList struct {
	// Path is the JSON path of the array, e.g. "$.tags"; wildcards are
	// allowed ("$[*].tags"). Required.
	Path string
	// Sep separates key from value; the first occurrence splits. Required.
	Sep string
	// Name is the list's name in tag paths (`tags[goal]`); empty means the
	// last key of Path.
	Name string
}

// Options carry what is specific to the tool being judged.
type Options struct {
	// TagLists are the arrays to split into tags; none by default.
	TagLists []TagList
	// MaxDepth limits JSON nesting (embedded JSON strings included); zero
	// means DefaultMaxDepth.
	MaxDepth int
}

// Value is one leaf of an observation.
type Value struct {
	// Path locates the value; see the package doc for the grammar.
	Path string
	// Text is the value as text: strings decoded, numbers as written,
	// true/false/null for the literals.
	Text string
	// Kind is one of the Kind constants.
	Kind string
	// Start and End are the byte span in Observation.Body of the JSON token
	// the value came from; for a value inside an embedded JSON string, the
	// span of that whole string. Both are -1 for values not from the body.
	Start, End int
}

// Tag is one element of a tag list.
type Tag struct {
	// List is the tag list's name.
	List string
	// Path is the JSON path of the element, e.g. "$.tags[13]".
	Path string
	// Index is the element's index in its array.
	Index int
	// Key and Value are the element split at the first separator.
	Key, Value string
	// HasSep is false when the element holds no separator; Key is then the
	// whole element and Value is empty.
	HasSep bool
}

// Observation is the normalised view of one Exchange.
type Observation struct {
	Exchange *capture.Exchange
	// Method, Scheme, Host, Port and Path come from the request URL (Host
	// and Scheme fall back to the exchange's Host and TLS state when the
	// URL is relative); Port is filled with the scheme's default.
	Method, Scheme, Host, Port, Path string
	// RawQuery is the URL's query string without '?'.
	RawQuery string
	// ContentType is the request's media type, lower-case, without
	// parameters; empty when absent or unparsable.
	ContentType string
	// Body is the decoded request body (capture.Body.Bytes()).
	Body []byte
	// JSON is the parsed body (map[string]any, []any, string, json.Number,
	// bool or nil) with embedded JSON strings parsed too; nil when the body
	// is not JSON.
	JSON any
	// IsJSON is true when Body parsed as JSON (JSON may still be nil for a
	// body that is the literal null).
	IsJSON bool
	// BodyError says why a body that claims to be JSON (by Content-Type) or
	// looks like it could not be parsed; empty otherwise.
	BodyError string
	// Values are every leaf, in order: url, headers, query, body.
	Values []Value
	// Embedded lists the paths of strings that held JSON and were parsed.
	Embedded []string
	// DuplicateKeys lists the paths of object members whose key repeats an
	// earlier key of the same object.
	DuplicateKeys []string

	tags    []Tag
	objects []object
}

type object struct {
	path string
	keys []string
}

// Observe builds the observation of ex. A body that is not JSON is not an
// error; an error means the options are unusable or ex is nil.
func Observe(ex *capture.Exchange, opts Options) (*Observation, error) {
	if ex == nil {
		return nil, errors.New("observe: nil exchange")
	}
	lists, err := compileTagLists(opts.TagLists)
	if err != nil {
		return nil, err
	}
	maxDepth := opts.MaxDepth
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	o := &Observation{Exchange: ex, Method: ex.Method, Body: ex.Body.Bytes()}
	o.request(ex)
	o.headers(ex)
	o.query()
	o.body(lists, maxDepth)
	return o, nil
}

// request fills the URL parts.
func (o *Observation) request(ex *capture.Exchange) {
	o.Host = ex.Host
	if ex.TLS != nil {
		o.Scheme = "https"
	} else {
		o.Scheme = "http"
	}
	if ex.URL != "" {
		o.Values = append(o.Values, Value{Path: "url", Text: ex.URL, Kind: KindURL, Start: -1, End: -1})
	}
	u, err := url.Parse(ex.URL)
	if err == nil {
		if u.Scheme != "" {
			o.Scheme = strings.ToLower(u.Scheme)
		}
		if u.Host != "" {
			o.Host = u.Host
		}
		o.Path = u.Path
		o.RawQuery = u.RawQuery
	} else if i := strings.IndexByte(ex.URL, '?'); i >= 0 {
		// Keep what can be kept of a URL Go refuses: rules still see the query.
		o.Path, o.RawQuery = ex.URL[:i], ex.URL[i+1:]
	} else {
		o.Path = ex.URL
	}
	if h, p, err := net.SplitHostPort(o.Host); err == nil {
		o.Host, o.Port = h, p
	} else {
		o.Host = strings.TrimSuffix(strings.TrimPrefix(o.Host, "["), "]")
	}
	o.Host = strings.ToLower(o.Host)
	if o.Port == "" {
		switch o.Scheme {
		case "https", "wss":
			o.Port = "443"
		case "http", "ws":
			o.Port = "80"
		}
	}
}

func (o *Observation) headers(ex *capture.Exchange) {
	for _, h := range ex.Headers {
		o.Values = append(o.Values, Value{Path: "header:" + h.Name, Text: h.Value, Kind: KindHeader, Start: -1, End: -1})
	}
	// A chunked body's trailers are headers sent late, and its chunk
	// extensions text beside the body: both are judged like what they mimic.
	for _, h := range ex.Trailers {
		o.Values = append(o.Values, Value{Path: "trailer:" + h.Name, Text: h.Value, Kind: KindHeader, Start: -1, End: -1})
	}
	for i, e := range ex.ChunkExtensions {
		o.Values = append(o.Values, Value{Path: fmt.Sprintf("chunk-ext[%d]", i), Text: e, Kind: KindString, Start: -1, End: -1})
	}
	if ct, ok := ex.Header("Content-Type"); ok {
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			o.ContentType = mt
		}
	}
}

// query splits RawQuery by hand rather than with url.ParseQuery so that wire
// order is kept and a malformed pair still yields its raw text.
func (o *Observation) query() {
	if o.RawQuery == "" {
		return
	}
	for _, pair := range strings.Split(o.RawQuery, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		o.Values = append(o.Values, Value{Path: "query:" + k, Text: v, Kind: KindQuery, Start: -1, End: -1})
	}
}

// claimsJSON reports whether the media type says JSON (application/json,
// application/vnd.x+json, text/json).
func claimsJSON(mt string) bool {
	return strings.HasSuffix(mt, "/json") || strings.HasSuffix(mt, "+json")
}

func looksJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

func (o *Observation) body(lists []tagList, maxDepth int) {
	claims := claimsJSON(o.ContentType)
	if len(o.Body) == 0 || !claims && !looksJSON(o.Body) {
		return
	}
	nValues := len(o.Values)
	p := &parser{
		dec:      newDecoder(o.Body),
		data:     o.Body,
		maxDepth: maxDepth,
		lists:    lists,
		o:        o,
	}
	v, _, err := p.value("$")
	if err == nil {
		err = p.end()
	}
	if err != nil {
		// A half-parsed body would let rules pass on what they cannot see:
		// drop it and say why.
		o.Values = o.Values[:nValues]
		o.tags, o.objects, o.Embedded, o.DuplicateKeys = nil, nil, nil, nil
		if claims || errors.Is(err, errTooDeep) {
			o.BodyError = "body is not valid JSON: " + err.Error()
		}
		return
	}
	o.JSON, o.IsJSON = v, true
}

var errTooDeep = errors.New("nesting too deep")

// end checks that nothing follows the JSON value.
func (p *parser) end() error {
	if _, err := p.dec.Token(); err == nil || !errors.Is(err, io.EOF) {
		return fmt.Errorf("offset %d: data after the JSON value", p.nextStart())
	}
	return nil
}

// Node is a JSON value with every object member in wire order, repeated
// keys included: what a printout of the body shows.
type Node struct {
	// Kind is '{' (object), '[' (array), 's' (string) or 'l' (a number,
	// true, false or null).
	Kind byte
	// Keys are an object's member keys, Kids its values or an array's
	// elements.
	Keys []string
	Kids []*Node
	// Lit is a string's text or a literal as written.
	Lit string
	// Inner is what a string that held JSON held (parsed as the
	// observation parses it, see Observation.Embedded); nil otherwise.
	Inner *Node
}

// Tree parses b as JSON with the parser observations use, keeping every
// member in wire order; an error when b is not one JSON value.
func Tree(b []byte) (*Node, error) {
	p := &parser{dec: newDecoder(b), data: b, maxDepth: DefaultMaxDepth, o: &Observation{}, tree: true}
	_, n, err := p.value("$")
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

func newDecoder(b []byte) *json.Decoder {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d
}

type tagList struct {
	TagList
	m pathMatcher
}

func compileTagLists(in []TagList) ([]tagList, error) {
	out := make([]tagList, 0, len(in))
	for i, tl := range in {
		if tl.Sep == "" {
			return nil, fmt.Errorf("observe: tag list %d (%s): empty separator; set Sep, e.g. \":\"", i, tl.Path)
		}
		m, err := newPathMatcher(tl.Path)
		if err != nil {
			return nil, fmt.Errorf("observe: tag list %d: %w", i, err)
		}
		if tl.Name == "" {
			segs, _ := parseJSONPath(tl.Path)
			for j := len(segs) - 1; j >= 0; j-- {
				if segs[j].kind == segKey {
					tl.Name = segs[j].key
					break
				}
			}
			if tl.Name == "" {
				return nil, fmt.Errorf("observe: tag list %d (%s): no key in path to name it; set Name", i, tl.Path)
			}
		}
		out = append(out, tagList{TagList: tl, m: m})
	}
	return out, nil
}

// parser walks JSON tokens; recursion depth is bounded by maxDepth.
type parser struct {
	dec      *json.Decoder
	data     []byte
	span     *[2]int // set for embedded JSON: every value gets this span
	depth    int
	maxDepth int
	lists    []tagList
	o        *Observation
	// tree asks every value for its Node too (Tree).
	tree bool
}

// nextStart is the offset where the next token starts.
func (p *parser) nextStart() int {
	i := int(p.dec.InputOffset())
	for i < len(p.data) {
		switch p.data[i] {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
			continue
		}
		break
	}
	return i
}

func (p *parser) value(path string) (any, *Node, error) {
	start := -1
	if p.span == nil {
		start = p.nextStart()
	}
	tok, err := p.dec.Token()
	if err != nil {
		return nil, nil, p.wrap(start, err)
	}
	end := int(p.dec.InputOffset())
	if p.span != nil {
		start, end = p.span[0], p.span[1]
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return p.object(path, start)
		case '[':
			return p.array(path, start)
		}
		return nil, nil, p.wrap(start, fmt.Errorf("unexpected %q", rune(t)))
	case string:
		return p.str(path, t, start, end)
	case json.Number:
		p.leaf(path, string(t), KindNumber, start, end)
		return t, p.literal(string(t)), nil
	case bool:
		text := "false"
		if t {
			text = "true"
		}
		p.leaf(path, text, KindBool, start, end)
		return t, p.literal(text), nil
	case nil:
		p.leaf(path, "null", KindNull, start, end)
		return nil, p.literal("null"), nil
	}
	return nil, nil, p.wrap(start, fmt.Errorf("unexpected token %T", tok))
}

// literal is the Node of a number, true, false or null; nil unless a tree
// is wanted.
func (p *parser) literal(text string) *Node {
	if !p.tree {
		return nil
	}
	return &Node{Kind: 'l', Lit: text}
}

func (p *parser) wrap(off int, err error) error {
	if errors.Is(err, errTooDeep) || p.span != nil {
		return err
	}
	return fmt.Errorf("offset %d: %w", off, err)
}

func (p *parser) leaf(path, text, kind string, start, end int) {
	p.o.Values = append(p.o.Values, Value{Path: path, Text: text, Kind: kind, Start: start, End: end})
}

func (p *parser) enter(start int) error {
	p.depth++
	if p.depth > p.maxDepth {
		return fmt.Errorf("offset %d: %w (more than %d levels)", start, errTooDeep, p.maxDepth)
	}
	return nil
}

func (p *parser) object(path string, start int) (any, *Node, error) {
	if err := p.enter(start); err != nil {
		return nil, nil, err
	}
	defer func() { p.depth-- }()
	m := map[string]any{}
	var keys []string
	var n *Node
	if p.tree {
		n = &Node{Kind: '{'}
	}
	for p.dec.More() {
		off := p.nextStart()
		kt, err := p.dec.Token()
		if err != nil {
			return nil, nil, p.wrap(off, err)
		}
		key, ok := kt.(string)
		if !ok {
			return nil, nil, p.wrap(off, errors.New("object key is not a string"))
		}
		child := ChildKey(path, key)
		if _, dup := m[key]; dup {
			p.o.DuplicateKeys = append(p.o.DuplicateKeys, child)
		}
		keys = append(keys, key)
		v, kid, err := p.value(child)
		if err != nil {
			return nil, nil, err
		}
		m[key] = v
		if n != nil {
			n.Keys, n.Kids = append(n.Keys, key), append(n.Kids, kid)
		}
	}
	off := p.nextStart()
	if _, err := p.dec.Token(); err != nil {
		return nil, nil, p.wrap(off, err)
	}
	p.o.objects = append(p.o.objects, object{path: path, keys: keys})
	return m, n, nil
}

func (p *parser) array(path string, start int) (any, *Node, error) {
	if err := p.enter(start); err != nil {
		return nil, nil, err
	}
	defer func() { p.depth-- }()
	var list *tagList
	for i := range p.lists {
		if p.lists[i].m.match(path) {
			list = &p.lists[i]
			break
		}
	}
	a := []any{}
	var n *Node
	if p.tree {
		n = &Node{Kind: '['}
	}
	for i := 0; p.dec.More(); i++ {
		child := childIndex(path, i)
		v, kid, err := p.value(child)
		if err != nil {
			return nil, nil, err
		}
		a = append(a, v)
		if n != nil {
			n.Kids = append(n.Kids, kid)
		}
		if s, ok := v.(string); ok && list != nil {
			p.tag(list, child, i, s)
		}
	}
	off := p.nextStart()
	if _, err := p.dec.Token(); err != nil {
		return nil, nil, p.wrap(off, err)
	}
	return a, n, nil
}

func (p *parser) tag(list *tagList, path string, i int, s string) {
	last := p.o.Values[len(p.o.Values)-1]
	k, v, ok := strings.Cut(s, list.Sep)
	p.o.tags = append(p.o.tags, Tag{List: list.Name, Path: path, Index: i, Key: k, Value: v, HasSep: ok})
	p.o.Values = append(p.o.Values, Value{Path: tagPath(list.Name, k), Text: v, Kind: KindTag, Start: last.Start, End: last.End})
}

// str records a string leaf, or parses it when it holds a JSON object or
// array (JSON sent inside a JSON string, as Pants' `content`).
func (p *parser) str(path, s string, start, end int) (any, *Node, error) {
	var n *Node
	if p.tree {
		n = &Node{Kind: 's', Lit: s}
	}
	b := []byte(s)
	if looksJSON(b) && json.Valid(b) {
		sub := &parser{
			dec:      newDecoder(b),
			data:     b,
			span:     &[2]int{start, end},
			depth:    p.depth,
			maxDepth: p.maxDepth,
			lists:    p.lists,
			o:        p.o,
			tree:     p.tree,
		}
		v, inner, err := sub.value(path)
		if err != nil {
			return nil, nil, err
		}
		p.o.Embedded = append(p.o.Embedded, path)
		if n != nil {
			n.Inner = inner
		}
		return v, n, nil
	}
	p.leaf(path, s, KindString, start, end)
	return s, n, nil
}
