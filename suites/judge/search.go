package judge

import (
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// hit is one occurrence of a canary in a captured exchange.
type hit struct {
	Role, Form string
	Exchange   int64
	// Path is the canary package's location: an observe path, host, sni,
	// url or body@offset.
	Path string
	// Length is the canary value's length (the value itself is never kept).
	Length int
}

// searcher adapts canary.Searcher to the roles a check asks for.
type searcher struct {
	s *canary.Searcher
}

func newSearcher(cs []canary.Canary) (*searcher, error) {
	if len(cs) == 0 {
		return &searcher{}, nil
	}
	s, err := canary.NewSearcher(cs)
	if err != nil {
		return nil, err
	}
	return &searcher{s: s}, nil
}

// find returns the hits of every planted role in everything o's exchange
// sent: one search per exchange, which the checks then filter by role.
func (s *searcher) find(o *observe.Observation) []hit {
	if s.s == nil {
		return nil
	}
	var out []hit
	for _, h := range s.s.Search(o) {
		out = append(out, hit{Role: h.Canary.Role, Form: h.Form, Exchange: h.Exchange, Path: h.Location, Length: len(h.Canary.Value)})
	}
	return out
}
