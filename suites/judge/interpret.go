package judge

import (
	"slices"
)

// interpreted reports whether an interpretation of the policy accepts value
// of field for clause, and counts the use: a value the clause's words
// would flag, accepted by a reading the report names. A strict run judges
// with a policy whose interpretations were dropped (policy.Strict).
func (j *judgement) interpreted(clause, field, value string) bool {
	for _, in := range j.p.Interpretations {
		if in.Clause == clause && in.Accepts.Field == field && slices.Contains(in.Accepts.Values, value) {
			if j.used == nil {
				j.used = map[string]int{}
			}
			j.used[in.ID]++
			return true
		}
	}
	return false
}
