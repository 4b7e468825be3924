package canary

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// MinValueLen is the shortest canary value a Searcher accepts: shorter
// values match ordinary text by chance.
const MinValueLen = 4

// Hit is one occurrence of a canary.
type Hit struct {
	Canary Canary
	// Form is one of the Form constants.
	Form string
	// Exchange is the exchange's Seq.
	Exchange int64
	// Location is a path from package observe (`$.content.user_id`,
	// `query:q`, `header:User-Agent`, `url`), `host`, `sni`,
	// `body@<offset>` (decoded body) or `raw-body@<offset>` (body as sent,
	// when it had a Content-Encoding); canaries in it are redacted.
	Location string
	// Excerpt is about 30 characters around the hit with every canary
	// replaced by «role» and other long tokens shortened.
	Excerpt string
}

// Searcher finds a fixed set of canaries; it is safe for concurrent use.
type Searcher struct {
	canaries   []Canary
	pats       []pattern
	anchors    [][]byte // distinct lower-cased spelling prefixes, by id
	byAnchor   [][]int  // anchor id -> patterns starting with it
	anchorLens []int    // pattern -> length of its anchor
	find       *finder
	// refScan, when set, replaces scan: tests compare the scan with the
	// Aho-Corasick implementation it replaced.
	refScan func(text []byte) []match
}

// anchorLen is how many leading bytes of each spelling are looked up; the
// rest is compared on a candidate. Small tables stay in cache, which is
// what makes the scan fast.
const anchorLen = 8

// NewSearcher indexes the spellings of cs.
func NewSearcher(cs []Canary) (*Searcher, error) {
	if len(cs) == 0 {
		return nil, errors.New("canary search: no canaries")
	}
	s := &Searcher{canaries: append([]Canary(nil), cs...)}
	anchorID := map[string]int{}
	for i, c := range cs {
		if len(c.Value) < MinValueLen {
			return nil, fmt.Errorf("canary search: canary %d (role %s): value of %d bytes is shorter than %d and would match by chance; use Generate", i, c.Role, len(c.Value), MinValueLen)
		}
		for _, p := range spellings(i, c.Value) {
			p.lower = lowerString(p.text)
			a := p.lower[:min(anchorLen, len(p.lower))]
			id, ok := anchorID[a]
			if !ok {
				id = len(s.anchors)
				anchorID[a] = id
				s.anchors = append(s.anchors, []byte(a))
				s.byAnchor = append(s.byAnchor, nil)
			}
			s.byAnchor[id] = append(s.byAnchor[id], len(s.pats))
			s.anchorLens = append(s.anchorLens, len(a))
			s.pats = append(s.pats, p)
		}
	}
	s.find = newFinder(s.anchors)
	return s, nil
}

// Patterns is the number of spellings searched (for benchmarks and reports).
func (s *Searcher) Patterns() int { return len(s.pats) }

// match is one verified pattern occurrence in a text.
type match struct {
	pat        int
	start, end int
	form       string
}

// collector gathers hits without repeats.
type collector struct {
	s    *Searcher
	seq  int64
	seen map[string]bool
	hits []Hit
}

func (c *collector) add(m match, location string, text []byte, all []match) {
	p := c.s.pats[m.pat]
	location = c.s.redactString(location)
	key := strconv.Itoa(p.canary) + "\x00" + m.form + "\x00" + location
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.hits = append(c.hits, Hit{
		Canary:   c.s.canaries[p.canary],
		Form:     m.form,
		Exchange: c.seq,
		Location: location,
		Excerpt:  c.s.excerpt(text, m, all),
	})
}

// region searches text and names each hit's location with loc.
func (c *collector) region(text []byte, loc func(m match) string) {
	if len(text) == 0 {
		return
	}
	ms := c.s.scan(text)
	for _, m := range ms {
		if l := loc(m); l != "" {
			c.add(m, l, text, ms)
		}
	}
}

// SearchBytes searches one text that is not part of an exchange (a log, a
// file); hits are located as location@offset.
func (s *Searcher) SearchBytes(data []byte, exchange int64, location string) []Hit {
	c := &collector{s: s, seq: exchange, seen: map[string]bool{}}
	c.region(data, func(m match) string { return location + "@" + strconv.Itoa(m.start) })
	return c.hits
}

// Search finds every canary in everything the exchange behind o sent.
//
// The body is scanned once. Decoded values are scanned again only where
// their text differs from the body bytes (a string token with escapes, a
// value inside an embedded JSON string that needed escaping) or where a
// body hit falls inside an embedded JSON string and needs its inner path;
// query values are always scanned decoded.
func (s *Searcher) Search(o *observe.Observation) []Hit {
	if o == nil || o.Exchange == nil {
		return nil
	}
	ex := o.Exchange
	c := &collector{s: s, seq: ex.Seq, seen: map[string]bool{}}

	// 1. The body, once.
	var bodyMatches []match
	if len(o.Body) > 0 {
		bodyMatches = s.scan(o.Body)
	}
	vs := o.Values
	// bodyFrom is the index of the first body value: url, header and query
	// values come first and have Start -1; body values follow with
	// non-decreasing Start, which makes the binary search below valid.
	bodyFrom := sort.Search(len(vs), func(i int) bool { return vs[i].Start >= 0 })
	containing := func(start, end int) int {
		i := sort.Search(len(vs)-bodyFrom, func(i int) bool { return vs[bodyFrom+i].Start > start }) - 1 + bodyFrom
		if i < bodyFrom || end > vs[i].End {
			return -1
		}
		for i > bodyFrom && vs[i-1].Start == vs[i].Start {
			i-- // the first value of a shared span
		}
		return i
	}
	shared := func(i int) bool {
		return i > bodyFrom && vs[i-1].Start == vs[i].Start && vs[i-1].Kind != observe.KindTag && vs[i].Kind != observe.KindTag ||
			i+1 < len(vs) && vs[i+1].Start == vs[i].Start && vs[i+1].Kind != observe.KindTag
	}
	hitSpans := map[int]bool{}
	if o.IsJSON {
		for _, m := range bodyMatches {
			if i := containing(m.start, m.end); i >= 0 && shared(i) {
				hitSpans[vs[i].Start] = true
			}
		}
	}

	// 2. Decoded values whose text the body scan could not see as such.
	var pick []int
	for i, v := range vs {
		switch v.Kind {
		case observe.KindQuery:
			pick = append(pick, i)
		case observe.KindString:
			if v.Start < 0 {
				continue
			}
			if hitSpans[v.Start] {
				pick = append(pick, i)
			} else if shared(i) {
				if needsEscape(v.Text) {
					pick = append(pick, i)
				}
			} else if bytes.IndexByte(o.Body[v.Start:v.End], '\\') >= 0 {
				pick = append(pick, i)
			}
		}
	}
	fine := map[string][]string{} // canary/form -> paths found in decoded values
	c.values(vs, pick, fine)
	explained := func(m match, in func(string) bool) bool {
		for _, l := range fine[fineKey(s.pats[m.pat].canary, m.form)] {
			if in(l) {
				return true
			}
		}
		return false
	}

	// 3. The request line, authority and headers.
	q := strings.IndexByte(ex.URL, '?')
	c.region([]byte(ex.URL), func(m match) string {
		if q >= 0 && m.start > q && explained(m, func(l string) bool { return strings.HasPrefix(l, "query:") }) {
			return ""
		}
		return "url"
	})
	c.region([]byte(ex.Host), func(match) string { return "host" })
	if ex.TLS != nil {
		c.region([]byte(ex.TLS.SNI), func(match) string { return "sni" })
	}
	for _, h := range ex.Headers {
		loc := "header:" + h.Name
		c.region([]byte(h.Name+": "+h.Value), func(match) string { return loc })
	}

	// 4. Body hits, located by the value holding them.
	var embedded map[string]bool
	for _, m := range bodyMatches {
		loc := "body@" + strconv.Itoa(m.start)
		if o.IsJSON {
			if i := containing(m.start, m.end); i >= 0 {
				path := vs[i].Path
				if shared(i) {
					if embedded == nil {
						embedded = make(map[string]bool, len(o.Embedded))
						for _, e := range o.Embedded {
							embedded[e] = true
						}
					}
					path = outermost(path, embedded)
				}
				if explained(m, func(l string) bool { return under(l, path) }) {
					continue
				}
				loc = path
			}
		}
		c.add(m, loc, o.Body, bodyMatches)
	}
	if raw := ex.Body.Raw; len(raw) > 0 && !bytes.Equal(raw, o.Body) {
		c.region(raw, func(m match) string { return "raw-body@" + strconv.Itoa(m.start) })
	}
	return c.hits
}

// values scans the picked values, joined with NUL separators so that one
// scan covers them, and records where each canary/form was found.
func (c *collector) values(vs []observe.Value, pick []int, fine map[string][]string) {
	if len(pick) == 0 {
		return
	}
	var joined []byte
	starts := make([]int, 0, len(pick))
	for _, i := range pick {
		starts = append(starts, len(joined))
		joined = append(joined, vs[i].Text...)
		joined = append(joined, 0)
	}
	ms := c.s.scan(joined)
	for _, m := range ms {
		k := sort.SearchInts(starts, m.start+1) - 1
		v := vs[pick[k]]
		vstart, vend := starts[k], starts[k]+len(v.Text)
		if m.end > vend {
			continue // spans two values: an artefact of joining
		}
		var local []match
		for _, o := range ms {
			if o.start >= vstart && o.end <= vend {
				local = append(local, match{pat: o.pat, start: o.start - vstart, end: o.end - vstart, form: o.form})
			}
		}
		c.add(match{pat: m.pat, start: m.start - vstart, end: m.end - vstart, form: m.form}, v.Path, []byte(v.Text), local)
		key := fineKey(c.s.pats[m.pat].canary, m.form)
		fine[key] = append(fine[key], v.Path)
	}
}

// needsEscape reports whether a JSON encoder may have written s differently
// from its text: quotes, backslashes, control and non-ASCII characters,
// HTML-special characters (Go) and '/' (some encoders).
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if escaped[s[i]] {
			return true
		}
	}
	return false
}

// escaped is needsEscape's byte table; a table lookup is several times
// faster than a switch on this hot path.
var escaped = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c >= 0x7f || strings.IndexByte(`"\<>&/`, byte(c)) >= 0
	}
	return t
}()

func fineKey(canary int, form string) string { return strconv.Itoa(canary) + "\x00" + form }

// under reports whether path l is p or lies inside it.
func under(l, p string) bool {
	return l == p || strings.HasPrefix(l, p) && len(l) > len(p) && (l[len(p)] == '.' || l[len(p)] == '[')
}

// outermost returns the shortest prefix of path (cut at a segment
// boundary) that is an embedded JSON string, else path itself. A '.' or '['
// inside a quoted key makes a prefix that is no valid path, so it is never
// in the set and needs no special case.
func outermost(path string, embedded map[string]bool) string {
	for i := 1; i < len(path); i++ {
		if (path[i] == '.' || path[i] == '[') && embedded[path[:i]] {
			return path[:i]
		}
	}
	return path
}
