package matchers

import (
	"errors"
	"fmt"

	"github.com/onsi/gomega/types"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// ClauseDocumentedOnly is the clause HaveOnlyDocumentedFields judges.
const ClauseDocumentedOnly = "fields.documented-only"

// HaveOnlyDocumentedFields succeeds when the runs (a []judge.Run, a
// judge.Run or a *judge.Run) send only what policy p documents, judged as
// scenario: it calls judge.Judge and reads clause "fields.documented-only"
// (allowed fields, allowed headers, field formats) exactly as ComplyWith
// does, so the policy's checks live in one place. Runs must carry their
// Name and Set as the scenario lists them.
//
// A nil policy, an unknown scenario, a capture the judge cannot read, or a
// verdict other than passed or violated (unobservable, not-exercised) is
// an error.
func HaveOnlyDocumentedFields(p *policy.Policy, scenario string) types.GomegaMatcher {
	return &documentedMatcher{p: p, scenario: scenario}
}

var _ types.GomegaMatcher = (*documentedMatcher)(nil)

type documentedMatcher struct {
	p        *policy.Policy
	scenario string

	summary string
	verdict clauseVerdict
}

func (m *documentedMatcher) Match(actual any) (bool, error) {
	m.summary, m.verdict = "", clauseVerdict{}
	if m.p == nil {
		return false, errors.New("HaveOnlyDocumentedFields matcher: no policy: pass the loaded *policy.Policy")
	}
	var runs []judge.Run
	switch r := actual.(type) {
	case []judge.Run:
		runs = r
	case judge.Run:
		runs = []judge.Run{r}
	case *judge.Run:
		if r == nil {
			return false, errors.New("HaveOnlyDocumentedFields matcher expects runs, got a nil *judge.Run")
		}
		runs = []judge.Run{*r}
	default:
		return false, fmt.Errorf("HaveOnlyDocumentedFields matcher expects a []judge.Run or judge.Run, got %s", typeName(actual))
	}
	n := 0
	for i, r := range runs {
		if _, err := exchanges("HaveOnlyDocumentedFields", r.Exchanges); err != nil {
			return false, fmt.Errorf("%w (in run %d)", err, i+1)
		}
		n += len(r.Exchanges)
	}
	res, err := judge.Judge(judge.Input{Policy: m.p, Scenario: m.scenario, Runs: runs})
	if err != nil {
		return false, fmt.Errorf("HaveOnlyDocumentedFields matcher: %w", err)
	}
	v, err := verdictOf("HaveOnlyDocumentedFields", res, ClauseDocumentedOnly)
	if err != nil {
		return false, err
	}
	v.policy = policyName(m.p.File)
	m.verdict = v
	m.summary = fmt.Sprintf("<%s of scenario %q: %s>", plural(len(runs), "run"), m.scenario, plural(n, "exchange"))
	return v.passed(), nil
}

func (m *documentedMatcher) FailureMessage(any) string {
	return message(m.summary, "to have only documented fields: "+m.verdict.clauseRef(), m.verdict.lines())
}

func (m *documentedMatcher) NegatedFailureMessage(any) string {
	return message(m.summary, "not to have only documented fields: "+m.verdict.clauseRef(), m.verdict.lines())
}
