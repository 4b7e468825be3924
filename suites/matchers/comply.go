package matchers

import (
	"fmt"

	"github.com/onsi/gomega/types"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// ComplyWith succeeds when the judged scenario's verdict for clause is
// passed. actual is a *judge.Result (a judge.Result value is accepted too).
//
// Violated fails with one line per finding of that clause. Unobservable is
// an error (the harness could not see; neither To nor NotTo may pass), and
// so are not-exercised and not-testable: the caller Skips those specs
// before asserting. A wrong actual type, nil, or a clause the result does
// not contain is an error as well.
func ComplyWith(clause string) types.GomegaMatcher {
	return &complyMatcher{clause: clause}
}

var _ types.GomegaMatcher = (*complyMatcher)(nil)

type complyMatcher struct {
	clause string

	// Set by Match, read by the failure messages.
	verdict clauseVerdict
}

func (m *complyMatcher) Match(actual any) (bool, error) {
	m.verdict = clauseVerdict{}
	res, err := result("ComplyWith", actual)
	if err != nil {
		return false, err
	}
	m.verdict, err = verdictOf("ComplyWith", res, m.clause)
	if err != nil {
		return false, err
	}
	return m.verdict.passed(), nil
}

func (m *complyMatcher) FailureMessage(any) string {
	return message(m.verdict.summary(), "to comply with "+m.verdict.clauseRef(), m.verdict.lines())
}

func (m *complyMatcher) NegatedFailureMessage(any) string {
	return message(m.verdict.summary(), "not to comply with "+m.verdict.clauseRef(), m.verdict.lines())
}

func result(matcher string, actual any) (*judge.Result, error) {
	switch r := actual.(type) {
	case *judge.Result:
		if r == nil {
			return nil, fmt.Errorf("%s matcher expects a *judge.Result, got a nil *judge.Result", matcher)
		}
		return r, nil
	case judge.Result:
		return &r, nil
	}
	return nil, fmt.Errorf("%s matcher expects a *judge.Result, got %s", matcher, typeName(actual))
}

// clauseVerdict is one clause's verdict with its findings, as a matcher
// reports it.
type clauseVerdict struct {
	res      *judge.Result
	clause   judge.ClauseResult
	findings []judge.Finding
}

// verdictOf reads clause's verdict from res; every verdict but passed and
// violated is an error, because neither To nor NotTo can be right about a
// clause that was not judged.
func verdictOf(matcher string, res *judge.Result, clause string) (clauseVerdict, error) {
	cr, ok := res.Clause(clause)
	if !ok {
		ids := make([]string, len(res.Clauses))
		for i, c := range res.Clauses {
			ids[i] = c.Clause
		}
		return clauseVerdict{}, fmt.Errorf("%s matcher: the result of scenario %q has no clause %q (it has %d: %v); check the clause id against the policy", matcher, res.Scenario, clause, len(ids), ids)
	}
	v := clauseVerdict{res: res, clause: cr}
	for _, f := range res.Findings {
		if f.Clause == clause {
			v.findings = append(v.findings, f)
		}
	}
	what := fmt.Sprintf("clause %q in scenario %q", clause, res.Scenario)
	switch cr.Verdict {
	case judge.Passed:
		if len(v.findings) > 0 {
			return clauseVerdict{}, fmt.Errorf("%s matcher: %s is passed yet has %d findings: the result is inconsistent", matcher, what, len(v.findings))
		}
		return v, nil
	case judge.Violated:
		if len(v.findings) == 0 {
			return clauseVerdict{}, fmt.Errorf("%s matcher: %s is violated yet has no findings: the result is inconsistent", matcher, what)
		}
		return v, nil
	case judge.Unobservable:
		return clauseVerdict{}, fmt.Errorf("%s matcher: unobservable: %s: %s: the harness could not see what it needed, so neither To nor NotTo may pass", matcher, what, reason(cr))
	case judge.NotExercised:
		return clauseVerdict{}, fmt.Errorf("%s matcher: not-exercised: %s: %s: Skip the spec instead of asserting", matcher, what, reason(cr))
	case judge.NotTestable:
		return clauseVerdict{}, fmt.Errorf("%s matcher: not-testable: %s: %s: Skip the spec instead of asserting", matcher, what, reason(cr))
	}
	return clauseVerdict{}, fmt.Errorf("%s matcher: %s has unknown verdict %q", matcher, what, cr.Verdict)
}

func reason(cr judge.ClauseResult) string {
	if cr.Reason == "" {
		return "no reason given"
	}
	return cr.Reason
}

func (v clauseVerdict) passed() bool { return v.clause.Verdict == judge.Passed }

// summary is the stable one-line description of the judged result.
func (v clauseVerdict) summary() string {
	if v.res == nil {
		return "<no result>"
	}
	violated := 0
	for _, c := range v.res.Clauses {
		if c.Verdict == judge.Violated {
			violated++
		}
	}
	findings := 0
	for _, c := range v.res.Clauses {
		findings += c.Findings
	}
	return fmt.Sprintf("<judged scenario %q: %d of %d clauses violated, %s>", v.res.Scenario, violated, len(v.res.Clauses), plural(findings, "finding"))
}

func (v clauseVerdict) clauseRef() string {
	s := fmt.Sprintf("clause %q (", v.clause.Clause)
	scenario := ""
	if v.res != nil {
		scenario = v.res.Scenario
	}
	return s + fmt.Sprintf("scenario %q)", scenario)
}

// lines are the findings of a violated clause, or the note that qualified
// a pass.
func (v clauseVerdict) lines() []string {
	if len(v.findings) == 0 {
		if v.clause.Reason != "" {
			return []string{"passed: " + v.clause.Reason}
		}
		return []string{"passed"}
	}
	out := make([]string, len(v.findings), len(v.findings)+1)
	for i, f := range v.findings {
		out[i] = findingLine(f)
	}
	if v.clause.Omitted > 0 {
		out = append(out, fmt.Sprintf("and %s not listed (the judge keeps %d per clause)", plural(v.clause.Omitted, "more finding"), judge.MaxFindings))
	}
	return out
}
