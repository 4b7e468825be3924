package matchers

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// ContainNoCanary succeeds when no canary of cs appears, in any form the
// canary package searches, anywhere in a capture ([]*capture.Exchange):
// URL, host, SNI, headers, body (raw and decoded) and every value inside it.
//
// The failure lists every hit on its own line: exchange number, location,
// role, form, the value's length and a redacted excerpt (each canary shown
// as «role»). Empty cs, a value too short to search, or a capture with a
// rejected or opaque tunnel and no hit elsewhere is an error.
//
// It does not know which hits a promise allows (the sha256 of the repo id
// is the promised repo_id): pass only the canaries that must not appear,
// or use ComplyWith, which applies the policy's ignore_forms.
func ContainNoCanary(cs []canary.Canary) types.GomegaMatcher {
	return &canaryMatcher{canaries: cs}
}

var _ types.GomegaMatcher = (*canaryMatcher)(nil)

type canaryMatcher struct {
	canaries []canary.Canary

	summary string
	lines   []string
}

func (m *canaryMatcher) Match(actual any) (bool, error) {
	m.summary, m.lines = "", nil
	exs, err := exchanges("ContainNoCanary", actual)
	if err != nil {
		return false, err
	}
	if len(m.canaries) == 0 {
		return false, fmt.Errorf("ContainNoCanary matcher: no canaries to search for: pass the canaries planted in the run")
	}
	s, err := canary.NewSearcher(m.canaries)
	if err != nil {
		return false, fmt.Errorf("ContainNoCanary matcher: %w", err)
	}
	var hits []canary.Hit
	var blinds []string
	for _, ex := range exs {
		if blind(ex) {
			blinds = append(blinds, blindLine(ex))
		}
		// A tunnel record still has a host and SNI worth searching.
		o, err := observe.Observe(ex, observe.Options{})
		if err != nil {
			return false, fmt.Errorf("ContainNoCanary matcher: exchange #%d: %w", ex.Seq, err)
		}
		hits = append(hits, s.Search(o)...)
	}
	if len(hits) == 0 && len(blinds) > 0 {
		return false, unobservable("ContainNoCanary", blinds)
	}
	// Search order is deterministic already; sorting by exchange keeps the
	// lines grouped when callers concatenate captures out of order.
	slices.SortStableFunc(hits, func(a, b canary.Hit) int { return cmp.Compare(a.Exchange, b.Exchange) })
	m.summary = captureSummary(exs)
	for _, h := range hits {
		m.lines = append(m.lines, fmt.Sprintf("exchange #%d %s: %s canary found (%s form, value of %d chars, excerpt %q)",
			h.Exchange, h.Location, h.Canary.Role, h.Form, len(h.Canary.Value), h.Excerpt))
	}
	return len(hits) == 0, nil
}

func (m *canaryMatcher) FailureMessage(any) string {
	return message(m.summary, "to contain no canary "+m.planted(), m.lines)
}

func (m *canaryMatcher) NegatedFailureMessage(any) string {
	return message(m.summary, "not to contain no canary "+m.planted(), m.lines)
}

// planted names the searched roles, never the values.
func (m *canaryMatcher) planted() string {
	var roles []string
	for _, c := range m.canaries {
		if !slices.Contains(roles, c.Role) {
			roles = append(roles, c.Role)
		}
	}
	slices.Sort(roles)
	n := fmt.Sprintf("%d canaries", len(m.canaries))
	if len(m.canaries) == 1 {
		n = "1 canary"
	}
	return fmt.Sprintf("(%s planted: %s)", n, strings.Join(roles, ", "))
}
