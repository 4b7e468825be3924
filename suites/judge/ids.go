package judge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/oracle"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// idSalted recomputes each id from the salt and the planted input with the
// policy's separators; an id that is an unsalted hash of a planted value,
// or matches no declared formula, is a finding. The salt is a planted
// canary (ids.salt) or read back from the tool's state after the run
// (ids.salt_from); an id the tool keeps as a random value in its state
// (ids.fields[].state) must equal that value.
func (j *judgement) idSalted(clause string, c policy.Check) *checker {
	ids := j.p.IDs
	if ids == nil {
		return unobservableChecker("the policy declares no ids")
	}
	k, out := newChecker(true)
	var salt, saltWhy string
	var in oracle.Inputs
	k.start = func(rv *runView) {
		salt, saltWhy = "", ""
		if ids.SaltFrom != nil {
			salt, saltWhy = stateValue(rv, ids.SaltFrom)
		} else if v := rv.canaryValues[ids.Salt]; len(v) > 0 {
			salt = v[0]
		} else {
			saltWhy = fmt.Sprintf("the %s canary (the salt) was not planted", ids.Salt)
		}
		in = oracle.Inputs{RepoID: salt, Values: map[string][]string{}}
		for role, vs := range rv.canaryValues {
			if role != ids.Salt {
				in.Values[role] = vs
			}
		}
	}
	k.each = func(rv *runView, x *item) {
		if !x.payload() {
			return
		}
		o := x.o
		done := map[string]bool{}
		for _, idf := range ids.Fields {
			f, ok := j.p.Field(idf.Field)
			// A field may be declared with several inputs (a tool that
			// hashes the git remote, else the working folder): each
			// value is judged once, against all of them.
			if !ok || done[idf.Field] {
				continue
			}
			done[idf.Field] = true
			for _, v := range o.Get(f.Path) {
				if !oracle.IsSHA256Hex(v.Text) {
					continue // empty or malformed: the format check's business
				}
				out.exercised = true
				if m, ok := oracle.Classify(v.Text, in); ok && !m.Salted {
					out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, v.Path,
						fmt.Sprintf("%s is an unsalted hash of a planted value: %s", f.Name, m.Formula),
						fmt.Sprintf("role %s, form %s", m.Role, m.Formula)))
					continue
				}
				if idf.State != nil {
					want, why := stateValue(rv, idf.State)
					if why != "" {
						out.unobs("%s, so %s cannot be compared", why, f.Name)
					} else if v.Text != want {
						out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, v.Path,
							fmt.Sprintf("%s is not the id the tool keeps in its state (%s %s)", f.Name, idf.State.State, idf.State.Path), "sha256 hex, 64 chars"))
					}
					continue
				}
				if salt == "" {
					out.unobs("%s, so %s cannot be recomputed", saltWhy, f.Name)
					continue
				}
				var expected, missing []string
				planted := false
				for _, other := range ids.Fields {
					if other.Field != idf.Field || other.State != nil {
						continue
					}
					if other.Input != "" && len(rv.canaryValues[other.Input]) == 0 {
						missing = append(missing, other.Input)
						continue
					}
					planted = true
					expected = append(expected, expectedIDs(salt, other.Input, rv.canaryValues[other.Input], ids.Separators)...)
				}
				if slices.Contains(expected, v.Text) {
					continue
				}
				if !planted {
					out.note("the %s canary was not planted, so %s was checked for unsalted hashes only", strings.Join(missing, ", "), f.Name)
					continue
				}
				if m, ok := oracle.Classify(v.Text, in); ok {
					out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, v.Path,
						fmt.Sprintf("%s is %s of the %s canary, not the declared %s", f.Name, m.Formula, m.Role, declared(ids, idf)),
						fmt.Sprintf("role %s, form %s", m.Role, m.Formula)))
					continue
				}
				out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, v.Path,
					fmt.Sprintf("%s matches no declared formula (%s)", f.Name, declared(ids, idf)), "sha256 hex, 64 chars"))
			}
		}
	}
	return k
}

func expectedIDs(salt, input string, values, seps []string) []string {
	if input == "" {
		return []string{sha256Hex(salt)}
	}
	var out []string
	for _, v := range values {
		for _, s := range seps {
			out = append(out, sha256Hex(salt+s+v))
		}
	}
	return out
}

func declared(ids *policy.IDs, f policy.IDField) string {
	salt := ids.Salt
	if ids.SaltFrom != nil {
		salt = "salt " + ids.SaltFrom.State + " " + ids.SaltFrom.Path
	}
	if f.Input == "" {
		return fmt.Sprintf("%s(<%s>)", ids.Hash, salt)
	}
	var forms []string
	for _, s := range ids.Separators {
		forms = append(forms, fmt.Sprintf("%s(<%s>%s<%s>)", ids.Hash, salt, s, f.Input))
	}
	return strings.Join(forms, " or ")
}

// idsUnlinkable compares ids across runs: stable within a canary set,
// different across sets.
func (j *judgement) idsUnlinkable(clause string, c policy.Check) *checker {
	k, out := newChecker(true)
	sets := map[string]bool{}
	// field -> set -> value -> first run that sent it
	seen := map[string]map[string]map[string]*runView{}
	k.start = func(rv *runView) { sets[rv.Set] = true }
	k.each = func(rv *runView, x *item) {
		if len(j.runs) < 2 || !x.isReport() {
			return
		}
		for _, name := range c.Fields {
			f, ok := j.p.Field(name)
			if !ok {
				continue
			}
			for _, v := range x.o.Get(f.Path) {
				if v.Text == "" {
					continue
				}
				out.exercised = true
				if seen[name] == nil {
					seen[name] = map[string]map[string]*runView{}
				}
				if seen[name][rv.Set] == nil {
					seen[name][rv.Set] = map[string]*runView{}
				}
				if _, ok := seen[name][rv.Set][v.Text]; !ok {
					seen[name][rv.Set][v.Text] = rv
				}
			}
		}
	}
	k.final = func() {
		if len(j.runs) < 2 {
			out.note("unlinkability needs two runs")
			return
		}
		for _, name := range c.Fields {
			f, ok := j.p.Field(name)
			if !ok {
				continue
			}
			bySet := seen[name]
			setNames := slices.Sorted(maps.Keys(bySet))
			for _, s := range setNames {
				if len(bySet[s]) > 1 {
					out.add(j.finding(clause, c.Kind, nil, 0, f.Path,
						fmt.Sprintf("%s takes %d values across runs with the same canaries (set %s): not a stable id", f.Name, len(bySet[s]), s), ""))
				}
				for _, t := range setNames {
					if t <= s {
						continue
					}
					for _, v := range slices.Sorted(maps.Keys(bySet[s])) {
						if other, ok := bySet[t][v]; ok {
							out.add(j.finding(clause, c.Kind, other, 0, f.Path,
								fmt.Sprintf("%s is the same in canary sets %s and %s (run %s): it links them", f.Name, s, t, bySet[s][v].Name), "sha256 hex, 64 chars"))
						}
					}
				}
			}
		}
		if len(sets) < 2 {
			out.note("all runs share one canary set: ids checked for stability only")
		}
	}
	return k
}

// idsAbsent passes when the id fields (and tags repeating them) are absent
// or empty, or nothing was sent.
func (j *judgement) idsAbsent(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	k.each = func(rv *runView, x *item) {
		if !x.payload() {
			return
		}
		o := x.o
		for _, name := range c.Fields {
			f, ok := j.p.Field(name)
			if !ok {
				continue
			}
			for _, v := range o.Get(f.Path) {
				if v.Text != "" {
					out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, v.Path,
						fmt.Sprintf("%s is sent although it should be removed", f.Name), fmt.Sprintf("%d chars, value redacted", len(v.Text))))
				}
			}
			for _, tf := range j.p.TagLists() {
				for _, t := range tf.Tags {
					if t.Derive == nil || t.Derive.From != name {
						continue
					}
					for _, v := range o.Get(tf.TagListName() + "[" + t.Key + "]") {
						if v.Text != "" {
							out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, v.Path,
								fmt.Sprintf("tag %q repeats %s although it should be removed", t.Key, f.Name), fmt.Sprintf("%d chars, value redacted", len(v.Text))))
						}
					}
				}
			}
		}
	}
	// A run the harness could not see all of is unobservable, unless a
	// request it did see already holds an id.
	k.end = func(rv *runView) {
		if r := blindReason(rv); r != "" {
			out.unobs("%s", r)
			return
		}
		out.exercised = true
	}
	return k
}
