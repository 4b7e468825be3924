package policy

// everywhereKinds are the check kinds that hold of any traffic, whatever
// the scenario: what may never be sent (planted values, forbidden
// patterns, undocumented fields or headers, goals outside the vocabulary)
// and where it may never go (destination, egress). A scenario's clause
// list cannot switch them off: a leak in two-repos or in the second run
// of repeated-runs is the same leak. The other kinds depend on what the
// scenario sets up (consent and nothing-sent only where sending is not
// expected, required fields and id formats only where ids are promised,
// counts, timing, failures), so they run only where a scenario lists
// their clause.
var everywhereKinds = map[string]bool{
	KindCanaryAbsent:     true,
	KindForbiddenPattern: true,
	KindAllowedFields:    true,
	KindAllowedHeaders:   true,
	KindGoalsSubset:      true,
	KindDestination:      true,
	KindEgress:           true,
}

// Everywhere reports whether checks of kind are judged in every scenario,
// listed or not.
func Everywhere(kind string) bool { return everywhereKinds[kind] }

// JudgedEverywhere reports whether the clause has a check judged in every
// scenario; a server-side clause has none.
func (c *Clause) JudgedEverywhere() bool {
	if c.Testable == TestableServerSide {
		return false
	}
	for _, ch := range c.Checks {
		if Everywhere(ch.Kind) {
			return true
		}
	}
	return false
}

// JudgedClauses lists the clauses judged in scenario s: those it lists,
// in its order, then every clause judged everywhere that it does not
// list, in policy order.
func (p *Policy) JudgedClauses(s *Scenario) []string {
	out := append([]string(nil), s.Clauses...)
	for i := range p.Clauses {
		c := &p.Clauses[i]
		if !s.Exercises(c.ID) && c.JudgedEverywhere() {
			out = append(out, c.ID)
		}
	}
	return out
}
