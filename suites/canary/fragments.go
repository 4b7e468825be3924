package canary

import "sort"

// MinFragment is the shortest piece of a value the fragment search looks
// for: a value split over fields or positions in pieces of at least this
// many bytes is found when every piece is present in one exchange.
const MinFragment = 6

// fragIndex finds the pieces a value may be split in: its first
// MinFragment bytes, and the MinFragment bytes at every later offset where
// a piece may start. A found piece is extended as far as the text goes on
// spelling the value.
type fragIndex struct {
	s *Searcher // pats are the pieces' starts; pattern.off their offset
}

func newFragIndex(cs []Canary) *fragIndex {
	var pats []pattern
	for i, c := range cs {
		v := c.Value
		if len(v) < 2*MinFragment {
			continue
		}
		pats = append(pats, pattern{canary: i, form: FormFragments, text: v[:MinFragment]})
		for k := MinFragment; k+MinFragment <= len(v); k++ {
			pats = append(pats, pattern{canary: i, form: FormFragments, text: v[k : k+MinFragment], off: k})
		}
	}
	if len(pats) == 0 {
		return nil
	}
	f := &fragIndex{s: &Searcher{canaries: cs}}
	f.s.index(pats)
	return f
}

// piece is a stretch [from, to) of a value found at one place.
type piece struct {
	canary   int
	from, to int
	location string
}

// pieces returns the pieces text holds, located by loc(offset).
func (f *fragIndex) pieces(text []byte, loc func(start int) string, out []piece) []piece {
	if f == nil || len(text) == 0 {
		return out
	}
	for _, m := range f.s.scan(text) {
		p := f.s.pats[m.pat]
		lower := lowerString(f.s.canaries[p.canary].Value)
		to := p.off + MinFragment
		for j := m.end; j < len(text) && to < len(lower) && lowerTable[text[j]] == lower[to]; j++ {
			to++
		}
		out = append(out, piece{canary: p.canary, from: p.off, to: to, location: loc(m.start)})
	}
	return out
}

// cover returns, for each canary whose pieces join up to the whole value
// from at least two places, the pieces used (in value order).
func cover(ps []piece, lens func(canary int) int) map[int][]piece {
	by := map[int][]piece{}
	for _, p := range ps {
		by[p.canary] = append(by[p.canary], p)
	}
	out := map[int][]piece{}
	for c, list := range by {
		n := lens(c)
		sort.Slice(list, func(i, j int) bool {
			if list[i].from != list[j].from {
				return list[i].from < list[j].from
			}
			return list[i].to > list[j].to
		})
		var used []piece
		reach, i := 0, 0
		for reach < n {
			// Greedy: of the pieces starting within what is covered
			// (and after the last piece's start), the one reaching
			// furthest.
			best := -1
			for ; i < len(list) && list[i].from <= reach; i++ {
				if list[i].to > reach && (best < 0 || list[i].to > list[best].to) && (len(used) == 0 && list[i].from == 0 || len(used) > 0) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			used = append(used, list[best])
			reach = list[best].to
		}
		if reach >= n && len(used) >= 2 {
			out[c] = used
		}
	}
	return out
}
