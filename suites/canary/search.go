package canary

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// MinValueLen is the shortest canary value a Searcher accepts: shorter
// values match ordinary text by chance.
const MinValueLen = 4

// DefaultMinPrefix is how many leading characters of a planted value are a
// hit when the rest is cut off (a tool that keeps the first 20 characters of
// an error message): the 12, enough random characters that ordinary
// text does not hold them by chance.
const DefaultMinPrefix = policy.DefaultMinPrefix

// MinPrefixFloor is the lowest minimum prefix a policy may set: the scan
// looks values up by their first anchorLen bytes.
const MinPrefixFloor = policy.MinPrefixFloor

// A prefix match starts from a whole anchor.
const _ = uint(MinPrefixFloor - anchorLen)

// Options tune a Searcher beyond its canaries.
type Options struct {
	// MinPrefix is the shortest leading part of a value that is a hit
	// (truncated) when the rest is missing; 0 means DefaultMinPrefix, -1
	// turns truncation off. MinPrefixByRole overrides it per role.
	MinPrefix       int
	MinPrefixByRole map[string]int
	// Constants are further salts for the salted-hash search besides the
	// other planted values (a policy's constant values).
	Constants []string
}

// Hit is one occurrence of a canary.
type Hit struct {
	Canary Canary
	// Form is a Form constant or a chain of them, outermost first:
	// "base64(gzip)" is base64 of the gzip of the value (Chain spells it
	// with the role). A salted hash is SaltedPrefix + the hash.
	Form string
	// Salt is the salt of a salted hash: another canary's role, or a
	// policy constant in quotes; Sep joins it to the value, before it
	// unless SaltAfter.
	Salt, Sep string
	SaltAfter bool
	// Matched is, for a truncated value, how many of its leading
	// characters were present; 0 when the whole value was.
	Matched int
	// Pieces is how many pieces a fragmented value was found in (Form
	// FormFragments).
	Pieces int
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

// Chain names how the value was sent, e.g. "base64(gzip(user))",
// "sha256(repo-id + \".\" + user)", "user" (as is), "truncated(user, 12 of
// 18 chars)".
func (h Hit) Chain() string {
	inner := h.Canary.Role
	form := h.Form
	switch {
	case h.Matched > 0:
		inner = fmt.Sprintf("truncated(%s, %d of %d chars)", inner, h.Matched, len(h.Canary.Value))
	case h.Salt != "":
		// Values joined directly read as two terms, not three.
		sep := " + "
		if h.Sep != "" {
			sep = " + " + strconv.Quote(h.Sep) + " + "
		}
		if h.SaltAfter {
			inner = inner + sep + h.Salt
		} else {
			inner = h.Salt + sep + inner
		}
		form = strings.ReplaceAll(form, SaltedPrefix, "")
	case h.Form == FormFragments:
		return fmt.Sprintf("fragments(%s, %d pieces)", inner, h.Pieces)
	}
	if form == FormRaw {
		return inner
	}
	return wrap(form, inner)
}

// Searcher finds a fixed set of canaries; it is safe for concurrent use.
type Searcher struct {
	canaries   []Canary
	minPrefix  []int // by canary; 0: no truncated hits
	salts      []salt
	digests    digestIndex
	decoders   decoders
	frag       *fragIndex
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

// NewSearcher indexes the spellings of cs, with the default Options.
func NewSearcher(cs []Canary) (*Searcher, error) { return NewSearcherWith(cs, Options{}) }

// NewSearcherWith indexes the spellings of cs.
func NewSearcherWith(cs []Canary, opts Options) (*Searcher, error) {
	if len(cs) == 0 {
		return nil, errors.New("canary search: no canaries")
	}
	s := &Searcher{canaries: append([]Canary(nil), cs...)}
	var pats []pattern
	for i, c := range cs {
		if len(c.Value) < MinValueLen {
			return nil, fmt.Errorf("canary search: canary %d (role %s): value of %d bytes is shorter than %d and would match by chance; use Generate", i, c.Role, len(c.Value), MinValueLen)
		}
		mp := opts.MinPrefix
		if v, ok := opts.MinPrefixByRole[c.Role]; ok {
			mp = v
		}
		switch {
		case mp == 0:
			mp = DefaultMinPrefix
		case mp < 0:
			mp = 0
		case mp < MinPrefixFloor:
			return nil, fmt.Errorf("canary search: role %s: minimum prefix %d is below %d; set min_prefix to %d or more", c.Role, mp, MinPrefixFloor, MinPrefixFloor)
		}
		s.minPrefix = append(s.minPrefix, mp)
		pats = append(pats, spellings(i, c.Value)...)
	}
	s.index(pats)
	s.salts = saltsOf(cs, opts.Constants)
	s.frag = newFragIndex(cs)
	return s, nil
}

// index builds the scan's tables over pats.
func (s *Searcher) index(pats []pattern) {
	anchorID := map[string]int{}
	{
		for _, p := range pats {
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
}

// Patterns is the number of spellings searched (for benchmarks and reports).
func (s *Searcher) Patterns() int { return len(s.pats) }

// match is one verified pattern occurrence in a text.
type match struct {
	pat        int
	start, end int
	form       string
	matched    int // a truncated value's length; 0 when whole
}

// collector gathers hits without repeats.
type collector struct {
	s    *Searcher
	seq  int64
	seen map[string]bool
	// forms holds canary/form pairs found: a decoded run adds a pair only
	// when no spelling found it already (with a more precise location).
	forms map[string]bool
	hits  []Hit
}

func (c *collector) add(m match, location string, text []byte, all []match) {
	p := c.s.pats[m.pat]
	location = c.s.redactString(location)
	key := strconv.Itoa(p.canary) + "\x00" + m.form + "\x00" + strconv.Itoa(m.matched) + "\x00" + location
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.found(p.canary, m.form)
	c.hits = append(c.hits, Hit{
		Canary:   c.s.canaries[p.canary],
		Form:     m.form,
		Matched:  m.matched,
		Exchange: c.seq,
		Location: location,
		Excerpt:  c.s.excerpt(text, m, all),
	})
}

func (c *collector) found(canary int, form string) {
	if c.forms == nil {
		c.forms = map[string]bool{}
	}
	c.forms[fineKey(canary, form)] = true
}

// deep searches the encoded runs of text; loc names a run by its span.
func (c *collector) deep(text []byte, loc func(start, end int) string) {
	if len(text) < minB64Run {
		return
	}
	var all []match
	scanned := false
	c.s.deep(text, func(h deepHit) {
		k := fineKey(h.canary, h.form)
		if h.salt >= 0 {
			k += "\x00" + strconv.Itoa(h.salt) + "\x00" + h.sep + strconv.FormatBool(h.after)
		}
		if c.forms[k] {
			return
		}
		if c.forms == nil {
			c.forms = map[string]bool{}
		}
		c.forms[k] = true
		if !scanned {
			all, scanned = c.s.scan(text), true
		}
		hit := Hit{
			Canary:   c.s.canaries[h.canary],
			Form:     h.form,
			Matched:  h.matched,
			Exchange: c.seq,
			Location: c.s.redactString(loc(h.start, h.end)),
			Excerpt:  c.s.excerpt(text, match{start: h.start, end: h.end}, all),
		}
		if h.salt >= 0 {
			hit.Salt, hit.Sep, hit.SaltAfter = c.s.salts[h.salt].label, h.sep, h.after
		}
		c.hits = append(c.hits, hit)
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
	c.deep(data, func(start, _ int) string { return location + "@" + strconv.Itoa(start) })
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
		for _, l := range fine[matchKey(s, m)] {
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

	// 5. Encoded runs, decoded up to maxLayers deep (layers.go).
	bodyLoc := func(start, end int) string {
		if o.IsJSON {
			if i := containing(start, end); i >= 0 {
				if shared(i) {
					if embedded == nil {
						embedded = make(map[string]bool, len(o.Embedded))
						for _, e := range o.Embedded {
							embedded[e] = true
						}
					}
					return outermost(vs[i].Path, embedded)
				}
				return vs[i].Path
			}
		}
		return "body@" + strconv.Itoa(start)
	}
	c.deep(o.Body, bodyLoc)
	c.deep([]byte(ex.URL), func(int, int) string { return "url" })
	for _, h := range ex.Headers {
		c.deep([]byte(h.Value), func(int, int) string { return "header:" + h.Name })
	}

	// 6. A value split in pieces over the exchange (fragments.go).
	if s.frag != nil {
		var ps []piece
		ps = s.frag.pieces(o.Body, func(start int) string { return bodyLoc(start, start+MinFragment) }, ps)
		ps = s.frag.pieces([]byte(ex.URL), func(int) string { return "url" }, ps)
		for _, h := range ex.Headers {
			ps = s.frag.pieces([]byte(h.Value), func(int) string { return "header:" + h.Name }, ps)
		}
		c.fragments(ps)
	}
	return c.hits
}

// fragments adds a hit for each canary whose pieces join up to the whole
// value from two or more places and that no spelling found whole.
func (c *collector) fragments(ps []piece) {
	if len(ps) < 2 {
		return
	}
	whole := map[int]bool{}
	for _, h := range c.hits {
		if h.Matched == 0 {
			switch h.Form {
			case FormRaw, FormCaseFolded, FormUpper, FormTitle:
				for i := range c.s.canaries {
					if c.s.canaries[i] == h.Canary {
						whole[i] = true
					}
				}
			}
		}
	}
	found := cover(ps, func(i int) int { return len(c.s.canaries[i].Value) })
	ids := make([]int, 0, len(found))
	for i := range found {
		if !whole[i] {
			ids = append(ids, i)
		}
	}
	sort.Ints(ids)
	for _, i := range ids {
		used := found[i]
		var locs []string
		for _, p := range used {
			if l := c.s.redactString(p.location); !slices.Contains(locs, l) {
				locs = append(locs, l)
			}
		}
		c.hits = append(c.hits, Hit{
			Canary:   c.s.canaries[i],
			Form:     FormFragments,
			Pieces:   len(used),
			Exchange: c.seq,
			Location: strings.Join(locs, " + "),
			Excerpt:  fmt.Sprintf("%d pieces of «%s»", len(used), c.s.canaries[i].Role),
		})
	}
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
				local = append(local, match{pat: o.pat, start: o.start - vstart, end: o.end - vstart, form: o.form, matched: o.matched})
			}
		}
		c.add(match{pat: m.pat, start: m.start - vstart, end: m.end - vstart, form: m.form, matched: m.matched}, v.Path, []byte(v.Text), local)
		key := matchKey(c.s, m)
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

// matchKey is fineKey with a truncated match told apart from a whole one.
func matchKey(s *Searcher, m match) string {
	k := fineKey(s.pats[m.pat].canary, m.form)
	if m.matched > 0 {
		k += "\x00" + strconv.Itoa(m.matched)
	}
	return k
}

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
