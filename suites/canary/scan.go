package canary

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sort"
	"strings"
)

// The scan finds every occurrence of every anchor (the lower-cased first
// anchorLen bytes of each spelling) without copying or lower-casing the
// text, in two steps:
//
//  1. A sampling filter. Every anchor is at least minLen >= gramLen bytes
//     long, so an occurrence starting at p covers the gramLen-byte window
//     at some multiple q of step = minLen-gramLen+1 in [p, p+step-1], and
//     that window equals one of the anchor's first step grams. A bitset of
//     those grams (hashed, case folded by OR 0x20, a coarser fold than
//     lower-casing and so without false negatives) rejects most windows
//     with one load, one multiply and one bit test per step bytes.
//  2. At the step positions before a window that passed, a hash table per
//     anchor length looks up the lower-cased bytes (8 at a time, folded
//     with SWAR arithmetic).
//
// The automaton this replaces (Aho-Corasick over a lower-cased copy) read
// every byte through a transition table; on bodies without canaries the
// filter touches one window in step and a table of a few KiB.

// gramLen is the window the filter hashes. Four bytes keep the filter
// selective on hex text (where the hex and hash spellings' grams live):
// 2-byte grams of ~250 hex anchors cover nearly every hex pair.
const gramLen = 4

// A value of MinValueLen bytes has anchors of at least that many bytes, so
// the filter's windows fit inside every anchor.
const _ = uint(MinValueLen - gramLen)

// gramBits is log2 of the filter's bitset size: 2^16 bits (8 KiB) hold the
// ~2,750 grams of 550 spellings with about 4 % of windows passing by
// collision, and stay in L1.
const gramBits = 16

// finder locates anchors in a text.
type finder struct {
	step  int
	grams []uint64 // bitset over gramHash
	// offsets holds, by gramHash, a bit k for each anchor having the gram
	// at offset k: a window that passes is checked only at those starts.
	// 64 KiB, touched only by windows that pass the bitset.
	offsets []uint8
	lens    []int // distinct anchor lengths, longest first
	tables  [anchorLen + 1]anchorTable
	mixed   bool // anchors of several lengths: matches need sorting by end
}

func gramHash(x uint32) uint32 { return ((x | 0x20202020) * 0x9E3779B1) >> (32 - gramBits) }

// newFinder indexes anchors (lower-cased, distinct, 1..anchorLen bytes).
func newFinder(anchors [][]byte) *finder {
	f := &finder{grams: make([]uint64, 1<<gramBits/64), offsets: make([]uint8, 1<<gramBits)}
	minLen := anchorLen
	for _, a := range anchors {
		minLen = min(minLen, len(a))
	}
	f.step = minLen - gramLen + 1
	byLen := map[int][]int{}
	for id, a := range anchors {
		for off := 0; off < f.step; off++ {
			h := gramHash(binary.LittleEndian.Uint32(a[off:]))
			f.grams[h>>6] |= 1 << (h & 63)
			f.offsets[h] |= 1 << off
		}
		byLen[len(a)] = append(byLen[len(a)], id)
	}
	for l := anchorLen; l >= 1; l-- {
		if ids := byLen[l]; len(ids) > 0 {
			f.lens = append(f.lens, l)
			f.tables[l] = newAnchorTable(anchors, ids)
		}
	}
	f.mixed = len(f.lens) > 1
	return f
}

// anchorTable is an open-addressing hash table from an anchor's bytes
// (little-endian, zero-padded to 8) to its id.
type anchorTable struct {
	keys  []uint64
	ids   []int32 // id+1; 0 is an empty slot
	shift uint
	mask  uint64 // the key bits an anchor of this length uses
}

func newAnchorTable(anchors [][]byte, ids []int) anchorTable {
	size := 1 << bits.Len(uint(4*len(ids))) // load factor <= 1/4: short probes
	t := anchorTable{keys: make([]uint64, size), ids: make([]int32, size), shift: uint(64 - bits.Len(uint(size-1)))}
	l := len(anchors[ids[0]])
	t.mask = ^uint64(0) >> (64 - 8*l)
	for _, id := range ids {
		k := loadPartial(anchors[id])
		i := t.slot(k)
		for t.ids[i] != 0 {
			i = (i + 1) & (size - 1)
		}
		t.keys[i], t.ids[i] = k, int32(id)+1
	}
	return t
}

func (t *anchorTable) slot(k uint64) int { return int((k * 0x9E3779B97F4A7C15) >> t.shift) }

// get returns the id of the anchor whose bytes are key, or -1.
func (t *anchorTable) get(k uint64) int {
	m := len(t.ids) - 1
	for i := t.slot(k); ; i = (i + 1) & m {
		id := t.ids[i]
		if id == 0 {
			return -1
		}
		if t.keys[i] == k {
			return int(id) - 1
		}
	}
}

// loadPartial reads up to 8 bytes little-endian, zero-padded.
func loadPartial(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var k uint64
	for i := len(b) - 1; i >= 0; i-- {
		k = k<<8 | uint64(b[i])
	}
	return k
}

// lower8 lower-cases the ASCII capitals among 8 bytes, as lowerTable does.
func lower8(x uint64) uint64 {
	const ones = 0x0101010101010101
	h := x & (0x7f * ones)
	geA := h + (0x80-'A')*ones   // bit 7 set where h >= 'A'; no carry out of a byte
	gtZ := h + (0x80-'Z'-1)*ones // bit 7 set where h > 'Z'
	return x | (geA&^gtZ&^x&(0x80*ones))>>2
}

// scan finds every spelling in text, ordered as an Aho-Corasick automaton
// over the anchors reports them: by anchor end, then start; the spellings
// of one anchor in pattern order.
func (s *Searcher) scan(text []byte) []match {
	if s.refScan != nil {
		// A copy, so that text does not escape to the heap through the
		// call of an unknown function (which would cost every caller's
		// []byte conversions an allocation).
		return s.refScan(bytes.Clone(text))
	}
	f := s.find
	n := len(text)
	step := f.step
	var out []match
	for q := 0; q+gramLen <= n; q += step {
		h := gramHash(binary.LittleEndian.Uint32(text[q:]))
		if f.grams[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		// Highest offset first: starts in ascending order.
		for offs := f.offsets[h]; offs != 0; {
			k := bits.Len8(offs) - 1
			offs &^= 1 << k
			if p := q - k; p >= 0 {
				out = s.matchAt(text, p, out)
			}
		}
	}
	if f.mixed && len(out) > 1 {
		sort.SliceStable(out, func(i, j int) bool {
			ei := out[i].start + s.anchorLens[out[i].pat]
			ej := out[j].start + s.anchorLens[out[j].pat]
			if ei != ej {
				return ei < ej
			}
			return out[i].start < out[j].start
		})
	}
	return out
}

// matchAt appends the spellings found at text[p:].
func (s *Searcher) matchAt(text []byte, p int, out []match) []match {
	f := s.find
	rest := text[p:]
	var w uint64
	if len(rest) >= 8 {
		w = lower8(binary.LittleEndian.Uint64(rest))
	} else {
		w = lower8(loadPartial(rest))
	}
	for _, l := range f.lens {
		if l > len(rest) {
			continue
		}
		t := &f.tables[l]
		id := t.get(w & t.mask)
		if id < 0 {
			continue
		}
		for _, pi := range s.byAnchor[id] {
			out = s.verify(text, p, l, pi, out)
		}
	}
	return out
}

// verify appends spelling pi if text[p:] holds it; its first l bytes are
// known to match case-folded. The value's own spelling is classified by
// case, and a prefix of it of at least the canary's minimum is a truncated
// match.
func (s *Searcher) verify(text []byte, p, l, pi int, out []match) []match {
	pt := &s.pats[pi]
	end := p + len(pt.lower)
	if end > len(text) || !equalLower(text[p+l:end], pt.lower[l:]) {
		if pt.value {
			if n := s.prefixLen(text, p, l, pt); n > 0 {
				out = append(out, match{pat: pi, start: p, end: p + n, form: caseForm(text[p:p+n], pt.text[:n]), matched: n})
			}
		}
		return out
	}
	got := text[p:end]
	form := pt.form
	switch {
	case pt.exact:
		if string(got) != pt.text {
			return out
		}
	case pt.value:
		form = caseForm(got, pt.text)
	}
	return append(out, match{pat: pi, start: p, end: end, form: form})
}

// prefixLen is how many leading bytes of pt's value text[p:] holds, when
// that is at least the canary's minimum prefix (and less than the value);
// else 0.
func (s *Searcher) prefixLen(text []byte, p, l int, pt *pattern) int {
	minLen := s.minPrefix[pt.canary]
	if minLen == 0 || minLen >= len(pt.lower) || p+minLen > len(text) {
		return 0
	}
	n := l
	for p+n < len(text) && n < len(pt.lower) && lowerTable[text[p+n]] == pt.lower[n] {
		n++
	}
	if n < minLen {
		return 0
	}
	return n
}

// caseForm names how got spells v: as is, upper-case, title-case (Python's
// title() or capitalize(), JavaScript's first-letter idiom) or another mix.
func caseForm(got []byte, v string) string {
	g := string(got)
	switch {
	case g == v:
		return FormRaw
	case g == strings.ToUpper(v):
		return FormUpper
	case g == titleCase(v) || g == capitalize(v):
		return FormTitle
	}
	return FormCaseFolded
}

// titleCase is Python's str.title() on ASCII: a letter is upper-case after
// a non-letter, lower-case after a letter.
func titleCase(v string) string {
	b := []byte(strings.ToLower(v))
	prev := false
	for i, c := range b {
		letter := c >= 'a' && c <= 'z'
		if letter && !prev {
			b[i] = c - 'a' + 'A'
		}
		prev = letter || c >= 0x80
	}
	return string(b)
}

// capitalize upper-cases the first byte only.
func capitalize(v string) string {
	if v == "" || v[0] < 'a' || v[0] > 'z' {
		return v
	}
	return string(v[0]-'a'+'A') + v[1:]
}

// equalLower reports whether b lower-cased equals lower.
func equalLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		if lowerTable[b[i]] != lower[i] {
			return false
		}
	}
	return true
}
