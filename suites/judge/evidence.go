package judge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Missing is an evidence requirement (policy.Evidence) that no run of the
// scenario met: the clauses it names could not pass.
type Missing struct {
	ID      string   `json:"id"`
	What    string   `json:"what"`
	Clauses []string `json:"clauses"`
}

// String says what was missing, for reasons and logs.
func (m Missing) String() string {
	return fmt.Sprintf("%s (evidence %s) never arrived", m.What, m.ID)
}

// evidence streams the runs like a check and records whether some report
// carried the required field, with a value derived from the required
// role when one is named: the planted value in any form, or its declared
// salted id recomputed with the run's salt.
func (j *judgement) evidence(e policy.Evidence) (*checker, *bool) {
	met := new(bool)
	k := &checker{}
	f, ok := j.p.Field(e.Field)
	if !ok {
		return k, met // the loader rejects it; a policy built in code may not
	}
	var want []string
	k.start = func(rv *runView) {
		want = nil
		if e.From == "" || j.p.IDs == nil {
			return
		}
		ids := j.p.IDs
		salt := ""
		if ids.SaltFrom != nil {
			salt, _ = stateValue(rv, ids.SaltFrom)
		} else if v := rv.canaryValues[ids.Salt]; len(v) > 0 {
			salt = v[0]
		}
		if salt == "" {
			return
		}
		for _, idf := range ids.Fields {
			if idf.Field == e.Field && idf.Input == e.From && idf.State == nil {
				want = append(want, expectedIDs(salt, e.From, rv.canaryValues[e.From], ids.Separators)...)
			}
		}
	}
	from := map[string]bool{e.From: true}
	k.each = func(rv *runView, x *item) {
		if *met || x.o == nil {
			return
		}
		vals := x.o.Get(f.Path)
		if len(vals) == 0 {
			return
		}
		if e.From == "" {
			*met = true
			return
		}
		for _, v := range vals {
			if slices.Contains(want, v.Text) {
				*met = true
				return
			}
		}
		// A leak of the value itself is evidence too: the event arrived.
		for _, h := range x.hitsOf(from) {
			for _, v := range vals {
				if h.Path == v.Path || strings.HasPrefix(h.Path, v.Path+".") || strings.HasPrefix(h.Path, v.Path+"[") {
					*met = true
					return
				}
			}
		}
	}
	return k, met
}
