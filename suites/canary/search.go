package canary

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/coregx/ahocorasick"

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
	canaries []Canary
	pats     []pattern
	ac       *ahocorasick.Automaton
}

// NewSearcher builds the automaton for cs.
func NewSearcher(cs []Canary) (*Searcher, error) {
	if len(cs) == 0 {
		return nil, errors.New("canary search: no canaries")
	}
	s := &Searcher{canaries: append([]Canary(nil), cs...)}
	var lowered [][]byte
	for i, c := range cs {
		if len(c.Value) < MinValueLen {
			return nil, fmt.Errorf("canary search: canary %d (role %s): value of %d bytes is shorter than %d and would match by chance; use Generate", i, c.Role, len(c.Value), MinValueLen)
		}
		for _, p := range spellings(i, c.Value) {
			s.pats = append(s.pats, p)
			lowered = append(lowered, lowerInto(nil, []byte(p.text)))
		}
	}
	ac, err := ahocorasick.NewBuilder().AddPatterns(lowered).Build()
	if err != nil {
		return nil, fmt.Errorf("canary search: build automaton: %w", err)
	}
	s.ac = ac
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

// scan finds every spelling in text; buf is scratch space for the
// lower-cased copy and is returned for reuse.
func (s *Searcher) scan(text, buf []byte) ([]match, []byte) {
	buf = lowerInto(buf, text)
	var out []match
	for _, m := range s.ac.FindAllOverlapping(buf) {
		p := s.pats[m.PatternID]
		got := text[m.Start:m.End]
		form := p.form
		switch {
		case p.exact:
			if string(got) != p.text {
				continue
			}
		case form == FormRaw && string(got) != p.text:
			form = FormCaseFolded
		}
		out = append(out, match{pat: m.PatternID, start: m.Start, end: m.End, form: form})
	}
	return out, buf
}

// collector gathers hits without repeats.
type collector struct {
	s    *Searcher
	seq  int64
	seen map[string]bool
	hits []Hit
	buf  []byte
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
	var ms []match
	ms, c.buf = c.s.scan(text, c.buf)
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
func (s *Searcher) Search(o *observe.Observation) []Hit {
	if o == nil || o.Exchange == nil {
		return nil
	}
	ex := o.Exchange
	c := &collector{s: s, seq: ex.Seq, seen: map[string]bool{}}

	// Decoded values first: they name the most precise location, and the
	// coarser raw views below defer to them.
	fine := map[string][]string{} // canary/form -> locations found in values
	var vals []observe.Value
	var joined []byte
	var starts []int
	for _, v := range o.Values {
		switch v.Kind {
		case observe.KindString, observe.KindNumber, observe.KindQuery:
			starts = append(starts, len(joined))
			vals = append(vals, v)
			joined = append(joined, v.Text...)
			joined = append(joined, 0)
		}
	}
	if len(joined) > 0 {
		var ms []match
		ms, c.buf = s.scan(joined, c.buf)
		for _, m := range ms {
			i := sort.SearchInts(starts, m.start+1) - 1
			vs, ve := starts[i], starts[i]+len(vals[i].Text)
			if m.end > ve {
				continue // spans two values: an artefact of joining
			}
			local := match{pat: m.pat, start: m.start - vs, end: m.end - vs, form: m.form}
			var localAll []match
			for _, o := range ms {
				if o.start >= vs && o.end <= ve {
					localAll = append(localAll, match{pat: o.pat, start: o.start - vs, end: o.end - vs, form: o.form})
				}
			}
			c.add(local, vals[i].Path, []byte(vals[i].Text), localAll)
			k := fineKey(s.pats[m.pat].canary, m.form)
			fine[k] = append(fine[k], vals[i].Path)
		}
	}
	explained := func(m match, in func(string) bool) bool {
		for _, l := range fine[fineKey(s.pats[m.pat].canary, m.form)] {
			if in(l) {
				return true
			}
		}
		return false
	}

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

	spans := bodySpans(o)
	c.region(o.Body, func(m match) string {
		path, ok := spans.at(m.start, m.end)
		if !ok {
			return "body@" + strconv.Itoa(m.start)
		}
		if explained(m, func(l string) bool { return under(l, path) }) {
			return ""
		}
		return path
	})
	if raw := ex.Body.Raw; len(raw) > 0 && !bytes.Equal(raw, o.Body) {
		c.region(raw, func(m match) string { return "raw-body@" + strconv.Itoa(m.start) })
	}
	return c.hits
}

func fineKey(canary int, form string) string { return strconv.Itoa(canary) + "\x00" + form }

// under reports whether path l is p or lies inside it.
func under(l, p string) bool {
	return l == p || strings.HasPrefix(l, p) && len(l) > len(p) && (l[len(p)] == '.' || l[len(p)] == '[')
}

// spanIndex maps a byte range of the body to the JSON value holding it.
type spanIndex struct {
	starts, ends []int
	paths        []string
}

// bodySpans indexes the body tokens of o's values. Values inside an
// embedded JSON string share that string's span, which is named by the
// string's own path (the outermost embedded path holding them).
func bodySpans(o *observe.Observation) spanIndex {
	var si spanIndex
	if !o.IsJSON {
		return si
	}
	last := -1
	for _, v := range o.Values {
		if v.Start < 0 || v.Kind == observe.KindTag || v.Start == last {
			continue
		}
		last = v.Start
		path := v.Path
		for _, e := range o.Embedded {
			if under(v.Path, e) && len(e) < len(path) {
				path = e
			}
		}
		si.starts = append(si.starts, v.Start)
		si.ends = append(si.ends, v.End)
		si.paths = append(si.paths, path)
	}
	return si
}

// at returns the path of the value whose token contains [start, end).
func (si spanIndex) at(start, end int) (string, bool) {
	i := sort.SearchInts(si.starts, start+1) - 1
	if i < 0 || end > si.ends[i] {
		return "", false
	}
	return si.paths[i], true
}
