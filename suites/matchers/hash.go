package matchers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/telemetry-harness/telemetry-harness/suites/oracle"
)

// BeSaltedHashOf succeeds when an observed id (a string) is one of the
// salted formulas of the oracle package computed from in: sha256(R),
// sha256(R.v) or sha256(Rv), R being in.RepoID and v a planted value.
//
// The failure says "matches no formula" or names the unsalted hash it is
// ("unsalted sha256 of user"); the negated failure names the formula it
// matched. Neither prints the id, R or any value, only lengths and roles.
// A non-string actual or inputs without a repo id are an error.
func BeSaltedHashOf(in oracle.Inputs) types.GomegaMatcher {
	return &saltedMatcher{in: in}
}

var _ types.GomegaMatcher = (*saltedMatcher)(nil)

type saltedMatcher struct {
	in oracle.Inputs

	summary string
	line    string
}

func (m *saltedMatcher) Match(actual any) (bool, error) {
	m.summary, m.line = "", ""
	id, ok := actual.(string)
	if !ok {
		return false, fmt.Errorf("BeSaltedHashOf matcher expects the observed id as a string, got %s", typeName(actual))
	}
	if m.in.RepoID == "" {
		return false, fmt.Errorf("BeSaltedHashOf matcher: oracle.Inputs has no RepoID: nothing can be salted without the repo id that was configured")
	}
	m.summary = idSummary(id)
	match, ok := oracle.Classify(id, m.in)
	switch {
	case !ok:
		m.line = "matches no formula (tried sha256(R), sha256(R.v) and sha256(Rv) for every planted value)"
	case !match.Salted:
		m.line = "unsalted " + strings.TrimSuffix(match.Formula, "(v)") + " of " + match.Role
	default:
		m.line = "matches " + match.Formula + " with v the " + match.Role + " value"
		if match.Formula == oracle.FormulaRepo {
			m.line = "matches " + match.Formula + ", the repo id alone"
		}
	}
	return ok && match.Salted, nil
}

func (m *saltedMatcher) FailureMessage(any) string {
	return message(m.summary, "to be a salted hash of "+m.inputs(), []string{m.line})
}

func (m *saltedMatcher) NegatedFailureMessage(any) string {
	return message(m.summary, "not to be a salted hash of "+m.inputs(), []string{m.line})
}

// idSummary describes an id by length and shape only: a wrong id may be
// the raw personal value itself.
func idSummary(id string) string {
	shape := "not lowercase sha256 hex"
	if oracle.IsSHA256Hex(id) {
		shape = "lowercase sha256 hex"
	}
	return fmt.Sprintf("<id of %d chars, %s>", len(id), shape)
}

// inputs names what was planted by role and count, never by value.
func (m *saltedMatcher) inputs() string {
	roles := make([]string, 0, len(m.in.Values))
	for r, vs := range m.in.Values {
		roles = append(roles, fmt.Sprintf("%s (%d)", r, len(vs)))
	}
	sort.Strings(roles)
	s := fmt.Sprintf("repo id R of %d chars", len(m.in.RepoID))
	if len(roles) > 0 {
		s += " and planted values v: " + strings.Join(roles, ", ")
	}
	return s
}
