package textmatch

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds that keep literal sets small: a set that would grow past them is
// dropped (no requirement), never truncated, so the condition stays
// necessary.
const (
	maxSet   = 32 // literals in one set
	maxClass = 8  // runes of a character class expanded into literals
)

// lit is a literal string. With fold, s is lower-case and ASCII letters in
// the text may be in either case; every other byte must be equal.
type lit struct {
	s    string
	fold bool
}

func newLit(s string, fold bool) lit {
	if !fold {
		return lit{s: s}
	}
	low := []byte(s)
	letters := false
	for i, c := range low {
		if 'A' <= c && c <= 'Z' {
			low[i] = c + 'a' - 'A'
		}
		if 'a' <= low[i] && low[i] <= 'z' {
			letters = true
		}
	}
	// Without ASCII letters folding changes nothing; an exact search is faster.
	return lit{s: string(low), fold: letters}
}

// info is what one syntax node tells about the texts it matches.
//
// With exact, every text the node matches is spelled by one of set (equal,
// or equal in ASCII case for a fold literal); the set may be wider than the
// node's language, never narrower. Otherwise req, when hasReq, is a set one
// of which occurs in every text the node matches (an empty req: the node
// never matches).
type info struct {
	exact  bool
	set    []lit
	hasReq bool
	req    []lit
}

func exactInfo(set []lit) info { return info{exact: true, set: set} }

var (
	unknown   = info{}
	emptyOnly = exactInfo([]lit{{}})
)

// requirement returns the best necessary set of a node, if any.
func (in info) requirement() ([]lit, bool) {
	var cands [][]lit
	if in.exact {
		cands = append(cands, in.set)
	}
	if in.hasReq {
		cands = append(cands, in.req)
	}
	return best(cands)
}

// best picks the most selective usable set: none may hold the empty
// literal (it occurs in every text); longer shortest literals first, then
// fewer literals.
func best(cands [][]lit) ([]lit, bool) {
	var out []lit
	found := false
	outMin := 0
	for _, c := range cands {
		if len(c) > maxSet {
			continue
		}
		m := -1
		for _, l := range c {
			if m < 0 || len(l.s) < m {
				m = len(l.s)
			}
		}
		if m == 0 {
			continue
		}
		if m < 0 { // an empty set: the node never matches
			m = int(^uint(0) >> 1)
		}
		if !found || m > outMin || (m == outMin && len(c) < len(out)) {
			out, outMin, found = c, m, true
		}
	}
	return out, found
}

// analyze derives the info of a simplified syntax tree.
func analyze(re *syntax.Regexp) info {
	switch re.Op {
	case syntax.OpNoMatch:
		return exactInfo([]lit{})
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		// Zero-width: they add nothing to the spelled text.
		return emptyOnly
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		parts := make([]info, len(re.Rune))
		for i, r := range re.Rune {
			parts[i] = runeInfo(r, fold)
		}
		return concat(parts)
	case syntax.OpCharClass:
		return classInfo(re.Rune)
	case syntax.OpCapture:
		return analyze(re.Sub[0])
	case syntax.OpConcat:
		parts := make([]info, len(re.Sub))
		for i, s := range re.Sub {
			parts[i] = analyze(s)
		}
		return concat(parts)
	case syntax.OpAlternate:
		return alternate(re.Sub)
	case syntax.OpQuest:
		sub := analyze(re.Sub[0])
		if sub.exact {
			return exactInfo(union(sub.set, []lit{{}}))
		}
		return unknown
	case syntax.OpPlus:
		req, ok := analyze(re.Sub[0]).requirement()
		return info{hasReq: ok, req: req}
	case syntax.OpRepeat:
		// Simplify rewrites repeats; kept for safety.
		if re.Min < 1 {
			return unknown
		}
		req, ok := analyze(re.Sub[0]).requirement()
		return info{hasReq: ok, req: req}
	}
	// OpAnyChar, OpAnyCharNotNL, OpStar and anything new: no requirement.
	return unknown
}

// runeInfo spells one literal rune. Under (?i) it stands for its whole
// Unicode fold orbit (k, K and the Kelvin sign U+212A): the ASCII members
// become one folding literal, the others literals of their own.
func runeInfo(r rune, fold bool) info {
	if r == utf8.RuneError {
		// regexp reads every invalid UTF-8 byte as U+FFFD.
		return unknown
	}
	if !fold || unicode.SimpleFold(r) == r {
		return exactInfo([]lit{newLit(string(r), false)})
	}
	var set []lit
	ascii := false
	for f := r; ; {
		if f < utf8.RuneSelf {
			if !ascii {
				set = append(set, newLit(string(f), true))
				ascii = true
			}
		} else {
			set = append(set, lit{s: string(f)})
		}
		if f = unicode.SimpleFold(f); f == r {
			break
		}
	}
	return exactInfo(set)
}

// classInfo expands a small class into its runes; an ASCII letter whose
// two cases are both in the class becomes one folding literal.
func classInfo(ranges []rune) info {
	n := 0
	for i := 0; i < len(ranges); i += 2 {
		n += int(ranges[i+1]-ranges[i]) + 1
		if n > maxClass {
			return unknown
		}
	}
	var runes []rune
	for i := 0; i < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			runes = append(runes, r)
		}
	}
	var set []lit
	for _, r := range runes {
		if r == utf8.RuneError {
			return unknown
		}
		if 'a' <= r && r <= 'z' && slices.Contains(runes, r-'a'+'A') {
			set = append(set, newLit(string(r), true))
			continue
		}
		if 'A' <= r && r <= 'Z' && slices.Contains(runes, r-'A'+'a') {
			continue // spelled by its lower-case partner
		}
		set = append(set, lit{s: string(r)})
	}
	return exactInfo(set)
}

// concat joins adjacent exact parts into longer literals (a cross product
// while it stays small) and keeps the best necessary set among the runs
// and the parts that are not exact.
func concat(parts []info) info {
	run := []lit{{}}
	allExact := true
	var cands [][]lit
	for _, p := range parts {
		if p.exact {
			if joined, ok := cross(run, p.set); ok {
				run = joined
				continue
			}
			allExact = false
			cands = append(cands, run)
			run = p.set
			continue
		}
		allExact = false
		cands = append(cands, run)
		if req, ok := p.requirement(); ok {
			cands = append(cands, req)
		}
		run = []lit{{}}
	}
	if allExact {
		return exactInfo(run)
	}
	cands = append(cands, run)
	req, ok := best(cands)
	return info{hasReq: ok, req: req}
}

func cross(a, b []lit) ([]lit, bool) {
	if len(a)*len(b) > maxSet {
		return nil, false
	}
	out := make([]lit, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			// A folding half makes the whole literal fold: wider, still a cover.
			out = append(out, newLit(x.s+y.s, x.fold || y.fold))
		}
	}
	return union(out, nil), true
}

func alternate(subs []*syntax.Regexp) info {
	infos := make([]info, len(subs))
	allExact := true
	for i, s := range subs {
		infos[i] = analyze(s)
		allExact = allExact && infos[i].exact
	}
	if allExact {
		var set []lit
		for _, in := range infos {
			set = union(set, in.set)
		}
		if len(set) <= maxSet {
			return exactInfo(set)
		}
	}
	// Every branch must require something; the union is then required.
	var req []lit
	for _, in := range infos {
		r, ok := in.requirement()
		if !ok {
			return unknown
		}
		req = union(req, r)
	}
	if len(req) > maxSet {
		return unknown
	}
	return info{hasReq: true, req: req}
}

// union merges two sets without duplicates; a folding literal absorbs the
// exact literal it also spells.
func union(a, b []lit) []lit {
	out := make([]lit, 0, len(a)+len(b))
	for _, l := range slices.Concat(a, b) {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return slices.DeleteFunc(out, func(l lit) bool {
		return !l.fold && newLit(l.s, true).fold && slices.Contains(out, newLit(l.s, true))
	})
}

// describe renders a set for tests and messages.
func describe(set []lit) string {
	parts := make([]string, len(set))
	for i, l := range set {
		parts[i] = l.s
		if l.fold {
			parts[i] = "(?i)" + l.s
		}
	}
	return strings.Join(parts, " | ")
}
