package textmatch

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sync/atomic"
	"unsafe"
)

// Regexp is a regexp.Regexp behind a literal prefilter. It is safe for
// concurrent use.
type Regexp struct {
	re *regexp.Regexp
	// pre holds the literals one of which every match contains; with
	// always set, the regexp runs on every text.
	pre    []searcher
	always bool
	// ran counts regexp runs, so tests can prove the prefilter skips.
	ran atomic.Uint64
}

// Compile parses expr with regexp's syntax (RE2, Perl flags) and derives
// its literal prefilter. Errors are regexp's, wrapped with the expression.
func Compile(expr string) (*Regexp, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("compile %q: %w", expr, err)
	}
	// regexp.Compile parses with syntax.Perl too; it already accepted expr.
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("compile %q: %w", expr, err)
	}
	r := &Regexp{re: re}
	set, ok := analyze(tree.Simplify()).requirement()
	if !ok {
		r.always = true
		return r, nil
	}
	r.pre = make([]searcher, len(set))
	for i, l := range set {
		r.pre[i] = newSearcher(l)
	}
	return r, nil
}

// MustCompile is Compile for expressions known to be valid; it panics
// otherwise, like regexp.MustCompile.
func MustCompile(expr string) *Regexp {
	r, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return r
}

// String returns the source text of the expression.
func (r *Regexp) String() string { return r.re.String() }

// Regexp returns the underlying regexp, for the methods not wrapped here.
func (r *Regexp) Regexp() *regexp.Regexp { return r.re }

// Prefilter describes the literals one of which a match needs, "" when the
// regexp runs on every text (for messages and tests).
func (r *Regexp) Prefilter() string {
	if r.always {
		return ""
	}
	set := make([]lit, len(r.pre))
	for i, s := range r.pre {
		set[i] = s.lit
	}
	return describe(set)
}

// mayMatch is false only when no required literal occurs in text.
func (r *Regexp) mayMatch(text string) bool {
	if r.always {
		r.ran.Add(1)
		return true
	}
	for i := range r.pre {
		if r.pre[i].in(text) {
			r.ran.Add(1)
			return true
		}
	}
	return false
}

// view reads b as a string without copying; the string does not outlive
// the call and b is not written meanwhile.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// MatchString is regexp.Regexp.MatchString.
func (r *Regexp) MatchString(s string) bool { return r.mayMatch(s) && r.re.MatchString(s) }

// Match is regexp.Regexp.Match.
func (r *Regexp) Match(b []byte) bool { return r.mayMatch(view(b)) && r.re.Match(b) }

// FindStringIndex is regexp.Regexp.FindStringIndex.
func (r *Regexp) FindStringIndex(s string) []int {
	if !r.mayMatch(s) {
		return nil
	}
	return r.re.FindStringIndex(s)
}

// FindIndex is regexp.Regexp.FindIndex.
func (r *Regexp) FindIndex(b []byte) []int {
	if !r.mayMatch(view(b)) {
		return nil
	}
	return r.re.FindIndex(b)
}

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string {
	if !r.mayMatch(s) {
		return nil
	}
	return r.re.FindStringSubmatch(s)
}

// Set is several expressions matched against one text together: each
// distinct literal is searched once per text, for every expression that
// needs it. It is safe for concurrent use.
type Set struct {
	res  []*Regexp
	lits []searcher
	// need[i] are the indexes in lits one of which expression i needs;
	// nil when it always runs.
	need [][]int
}

// CompileSet compiles every expression; the first error names it.
func CompileSet(exprs []string) (*Set, error) {
	s := &Set{}
	index := map[lit]int{}
	for _, e := range exprs {
		r, err := Compile(e)
		if err != nil {
			return nil, err
		}
		var need []int
		if !r.always {
			need = make([]int, 0, len(r.pre))
			for _, p := range r.pre {
				id, ok := index[p.lit]
				if !ok {
					id = len(s.lits)
					index[p.lit] = id
					s.lits = append(s.lits, p)
				}
				need = append(need, id)
			}
		}
		s.res = append(s.res, r)
		s.need = append(s.need, need)
	}
	return s, nil
}

// Len is the number of expressions.
func (s *Set) Len() int { return len(s.res) }

// Regexp returns expression i, to find where it matches.
func (s *Set) Regexp(i int) *Regexp { return s.res[i] }

// MatchString returns, in order, the indexes of the expressions that match
// text (nil when none does).
func (s *Set) MatchString(text string) []int {
	var out []int
	s.candidates(text, func(i int) {
		if s.res[i].re.MatchString(text) {
			out = append(out, i)
		}
	})
	return out
}

// Match is MatchString for a byte slice.
func (s *Set) Match(b []byte) []int {
	var out []int
	s.candidates(view(b), func(i int) {
		if s.res[i].re.Match(b) {
			out = append(out, i)
		}
	})
	return out
}

// FindStringIndexes returns, per expression, its FindStringIndex in text;
// nil when none matches, so a text without hits costs no allocation.
func (s *Set) FindStringIndexes(text string) [][]int {
	var out [][]int
	s.candidates(text, func(i int) {
		if loc := s.res[i].re.FindStringIndex(text); loc != nil {
			if out == nil {
				out = make([][]int, len(s.res))
			}
			out[i] = loc
		}
	})
	return out
}

// FindIndexes is FindStringIndexes for a byte slice.
func (s *Set) FindIndexes(b []byte) [][]int {
	var out [][]int
	s.candidates(view(b), func(i int) {
		if loc := s.res[i].re.FindIndex(b); loc != nil {
			if out == nil {
				out = make([][]int, len(s.res))
			}
			out[i] = loc
		}
	})
	return out
}

// candidates calls run, in order, for each expression one of whose
// literals occurs in text (or that needs none).
func (s *Set) candidates(text string, run func(i int)) {
	// found[i]: 0 not searched yet, 1 absent, 2 present.
	var small [32]uint8
	var found []uint8
	if len(s.lits) <= len(small) {
		found = small[:len(s.lits)]
	} else {
		found = make([]uint8, len(s.lits))
	}
	for i, r := range s.res {
		may := s.need[i] == nil
		for _, id := range s.need[i] {
			if found[id] == 0 {
				found[id] = 1
				if s.lits[id].in(text) {
					found[id] = 2
				}
			}
			if found[id] == 2 {
				may = true
				break
			}
		}
		if may {
			r.ran.Add(1)
			run(i)
		}
	}
}
