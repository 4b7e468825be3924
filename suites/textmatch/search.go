package textmatch

import (
	"strings"
)

// searcher finds one literal in a text.
type searcher struct {
	lit lit
	// For a folding literal: the index of its rarest byte and that byte in
	// both ASCII cases (equal when it is no letter).
	rare     int
	lo, up   byte
	hasUpper bool
}

func newSearcher(l lit) searcher {
	s := searcher{lit: l}
	if !l.fold {
		return s
	}
	bestF := -1
	for i := 0; i < len(l.s); i++ {
		c := l.s[i]
		f := byteFreq(c)
		if 'a' <= c && c <= 'z' {
			f += byteFreq(c - 'a' + 'A')
		}
		if bestF < 0 || f < bestF {
			s.rare, bestF = i, f
		}
	}
	s.lo, s.up = l.s[s.rare], l.s[s.rare]
	if 'a' <= s.lo && s.lo <= 'z' {
		s.up = s.lo - 'a' + 'A'
		s.hasUpper = true
	}
	return s
}

// in reports whether the literal occurs in text.
func (s *searcher) in(text string) bool {
	if !s.lit.fold {
		return strings.Contains(text, s.lit.s)
	}
	n := len(s.lit.s)
	if len(text) < n {
		return false
	}
	// hay[p] is the byte at text[p+rare]; a hit at p is a literal starting at p.
	hay := text[s.rare : len(text)-n+s.rare+1]
	if !s.hasUpper {
		for off := 0; ; {
			i := strings.IndexByte(hay[off:], s.lo)
			if i < 0 {
				return false
			}
			p := off + i
			if equalFold(text[p:p+n], s.lit.s) {
				return true
			}
			off = p + 1
		}
	}
	// Two cursors, one per case, each moving forward only: two SIMD scans in
	// total however often the candidates fail.
	nextLo := indexFrom(hay, s.lo, 0)
	nextUp := indexFrom(hay, s.up, 0)
	for {
		p := min(nextLo, nextUp)
		if p == len(hay) {
			return false
		}
		if equalFold(text[p:p+n], s.lit.s) {
			return true
		}
		if p == nextLo {
			nextLo = indexFrom(hay, s.lo, p+1)
		} else {
			nextUp = indexFrom(hay, s.up, p+1)
		}
	}
}

// indexFrom is the index of c in s at or after from, or len(s).
func indexFrom(s string, c byte, from int) int {
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return len(s)
}

// equalFold compares a text window with a lower-case literal, ignoring
// ASCII case only.
func equalFold(text, low string) bool {
	for i := 0; i < len(low); i++ {
		c := text[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != low[i] {
			return false
		}
	}
	return true
}

// byteFreq is a rough rank of how common a byte is in JSON, logs and
// English text (higher is more common); it only steers which byte a
// folding search scans for.
func byteFreq(c byte) int {
	switch {
	case c == ' ' || c == '"' || c == 'e':
		return 250
	case strings.IndexByte("taoinsr", c) >= 0:
		return 220
	case strings.IndexByte("hldcum:,", c) >= 0:
		return 200
	case '0' <= c && c <= '9':
		return 190
	case strings.IndexByte("fpgwybv_-./{}\n", c) >= 0:
		return 170
	case strings.IndexByte("kxjqz", c) >= 0:
		return 120
	case 'A' <= c && c <= 'Z':
		return 100
	case c < 0x80:
		return 60
	}
	return 40
}
