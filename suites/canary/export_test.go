package canary

import (
	"fmt"

	"github.com/coregx/ahocorasick"
)

// NewReferenceSearcher is NewSearcher with the scan it replaced: one
// Aho-Corasick automaton over the anchors, run on a lower-cased copy of the
// text. Differential tests compare the two.
func NewReferenceSearcher(cs []Canary) (*Searcher, error) {
	s, err := NewSearcher(cs)
	if err != nil {
		return nil, err
	}
	ac, err := ahocorasick.NewBuilder().AddPatterns(s.anchors).Build()
	if err != nil {
		return nil, fmt.Errorf("canary search: build automaton: %w", err)
	}
	s.refScan = func(text []byte) []match { return s.referenceScan(ac, text) }
	return s, nil
}

// referenceScan is the scan as it was before the sampling filter.
func (s *Searcher) referenceScan(ac *ahocorasick.Automaton, text []byte) []match {
	buf := lowerInto(nil, text)
	var out []match
	for _, m := range ac.FindAllOverlapping(buf) {
		for _, pi := range s.byAnchor[m.PatternID] {
			out = s.verify(text, m.Start, len(s.anchors[m.PatternID]), pi, out)
		}
	}
	return out
}

// ScanMatch is one match of a scan, for differential tests.
type ScanMatch struct {
	Pat, Start, End int
	Form            string
	Matched         int
}

// ScanMatches runs the searcher's scan over text.
func (s *Searcher) ScanMatches(text []byte) []ScanMatch {
	var out []ScanMatch
	for _, m := range s.scan(text) {
		out = append(out, ScanMatch{Pat: m.pat, Start: m.start, End: m.end, Form: m.form, Matched: m.matched})
	}
	return out
}
