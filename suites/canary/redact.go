package canary

import (
	"sort"
	"strings"
)

// excerptContext is how many bytes of context an excerpt shows each side.
const excerptContext = 15

// longToken is the length from which a token in an excerpt is shortened: a
// hash or token next to a canary may itself be personal.
const longToken = 12

// excerpt shows the text around m with every canary in all replaced.
func (s *Searcher) excerpt(text []byte, m match, all []match) string {
	ws := max(0, m.start-excerptContext)
	we := min(len(text), m.end+excerptContext)
	var b strings.Builder
	if ws > 0 {
		b.WriteString("…")
	}
	b.WriteString(s.render(text[ws:we], ws, all))
	if we < len(text) {
		b.WriteString("…")
	}
	return b.String()
}

// redactString replaces every canary in t with «role».
func (s *Searcher) redactString(t string) string {
	ms := s.scan([]byte(t))
	if len(ms) == 0 {
		return t
	}
	return s.render([]byte(t), 0, ms)
}

// render writes window (which starts at offset base of the text that all
// indexes) with the matches replaced, merged where they overlap, and the
// rest made printable and shortened.
func (s *Searcher) render(window []byte, base int, all []match) string {
	type cover struct {
		start, end int
		role       string
	}
	var cs []cover
	for _, m := range all {
		st, en := max(m.start-base, 0), min(m.end-base, len(window))
		if st < en {
			cs = append(cs, cover{st, en, s.canaries[s.pats[m.pat].canary].Role})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].start < cs[j].start })
	var b strings.Builder
	pos := 0
	for _, c := range cs {
		if c.end <= pos {
			continue
		}
		if c.start > pos {
			plain(&b, window[pos:c.start])
		}
		if c.start >= pos {
			b.WriteString("«" + c.role + "»")
		}
		pos = c.end
	}
	if pos < len(window) {
		plain(&b, window[pos:])
	}
	return b.String()
}

// plain writes t printable, with long tokens cut to their first 4 bytes.
func plain(b *strings.Builder, t []byte) {
	for i := 0; i < len(t); {
		j := i
		for j < len(t) && isTokenByte(t[j]) {
			j++
		}
		if j-i >= longToken {
			b.Write(t[i : i+4])
			b.WriteString("…")
			i = j
			continue
		}
		if j > i {
			b.Write(t[i:j])
			i = j
			continue
		}
		c := t[i]
		if c < 0x20 || c >= 0x7f {
			c = '.'
		}
		b.WriteByte(c)
		i++
	}
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '=' || c == '_' || c == '-' || c == '%' || c == '\\'
}
