package judge

import (
	"fmt"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Planted are the values one scenario planted.
type Planted struct {
	Scenario string
	Canaries []canary.Canary
}

// Elsewhere indexes the values every scenario of an invocation planted,
// once, for every scenario's judgement (Input.Elsewhere): one searcher
// per scenario, because the salted-hash index pairs every value with
// every other and one searcher over all scenarios' values grows with
// their square (16 s instead of 0.6 s to judge the reference's run).
// Safe for concurrent use, like canary.Searcher.
type Elsewhere struct {
	scenarios []elsewhereScenario
}

type elsewhereScenario struct {
	name     string
	canaries []canary.Canary
	s        *canary.Searcher
}

// NewElsewhere indexes planted (scenarios without values are left out).
func NewElsewhere(p *policy.Policy, planted []Planted) (*Elsewhere, error) {
	e := &Elsewhere{}
	for _, pl := range planted {
		if len(pl.Canaries) == 0 {
			continue
		}
		s, err := canary.NewSearcherWith(pl.Canaries, searchOptions(p))
		if err != nil {
			return nil, fmt.Errorf("values planted in scenario %s: %w", pl.Scenario, err)
		}
		e.scenarios = append(e.scenarios, elsewhereScenario{name: pl.Scenario, canaries: pl.Canaries, s: s})
	}
	return e, nil
}

// others are the searchers of the scenarios other than name, and the
// values they planted that name did not (own holds name's values: the
// host's real MAC is every scenario's node canary), mapped to where they
// were planted.
func (e *Elsewhere) others(name string, own map[string]bool) ([]*canary.Searcher, []canary.Canary, map[string]string) {
	if e == nil {
		return nil, nil, nil
	}
	var ss []*canary.Searcher
	var vals []canary.Canary
	origin := map[string]string{}
	for _, es := range e.scenarios {
		if es.name == name {
			continue
		}
		ss = append(ss, es.s)
		for _, c := range es.canaries {
			if own[c.Value] || origin[c.Value] != "" {
				continue
			}
			origin[c.Value] = es.name
			vals = append(vals, c)
		}
	}
	return ss, vals, origin
}
