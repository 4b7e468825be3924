package judge

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// roleOf names the canary role a value equals, for evidence that must not
// print the value; empty when it is no canary.
func (rv *runView) roleOf(v string) string {
	var roles []string
	for role, vs := range rv.canaryValues {
		if slices.Contains(vs, v) {
			roles = append(roles, role)
		}
	}
	sort.Strings(roles)
	return strings.Join(roles, ",")
}

func (j *judgement) goalsSubset(clause string, c policy.Check) *checker {
	vocab := j.p.Vocabularies[c.Vocabulary]
	f, ok := j.p.Field(c.Field)
	if !ok {
		return unobservableChecker("unknown field %q", c.Field)
	}
	k, out := newChecker(true)
	k.each = func(rv *runView, x *item) {
		if !x.payload() {
			return
		}
		o := x.o
		out.exercised = true
		vals := values(o, f)
		if c.Tag != "" {
			if list, ok := j.tagListOf[c.Tag]; ok {
				vals = append(vals, o.Get(list+"["+c.Tag+"]")...)
			}
		}
		for _, v := range vals {
			if slices.Contains(vocab, v.Text) {
				continue
			}
			ev := fmt.Sprintf("%d chars, redacted", len(v.Text))
			if role := rv.roleOf(v.Text); role != "" {
				ev = "the " + role + " canary, " + ev
			}
			out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, v.Path,
				fmt.Sprintf("a goal outside the %s vocabulary is sent", c.Vocabulary), ev))
		}
	}
	return k
}

// goalCount compares the count field with the scenario's distinct goals,
// custom ones included.
func (j *judgement) goalCount(clause string, c policy.Check) *checker {
	f, ok := j.p.Field(c.Field)
	if !ok {
		return unobservableChecker("unknown field %q", c.Field)
	}
	k, out := newChecker(true)
	var distinct map[string]bool
	var expandErr string
	k.start = func(rv *runView) {
		vals := policy.Values{Canaries: map[string]string{}}
		for role, vs := range rv.canaryValues {
			vals.Canaries[role] = vs[0]
		}
		distinct, expandErr = map[string]bool{}, ""
		for _, g := range j.sc.Goals {
			e, err := policy.Expand(g, vals)
			if err != nil {
				expandErr = err.Error()
				break
			}
			distinct[e] = true
		}
	}
	k.each = func(rv *runView, x *item) {
		if !x.isReport() {
			return
		}
		for _, v := range x.o.Get(f.Path) {
			if expandErr != "" {
				out.unobs("goals of the scenario unknown: %s", expandErr)
				continue
			}
			out.exercised = true
			n, err := strconv.Atoi(strings.TrimSpace(v.Text))
			if err != nil || n != len(distinct) {
				out.add(j.finding(clause, c.Kind, rv, x.ex.Seq, v.Path,
					fmt.Sprintf("%s does not count the run's %d distinct goals, custom ones included", f.Name, len(distinct)), countEvidence(v.Text)))
			}
		}
	}
	return k
}

// canaryAbsent searches every exchange for the roles' planted values in
// every form.
func (j *judgement) canaryAbsent(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	roles := map[string]bool{}
	for _, r := range c.Roles {
		roles[r] = true
	}
	planted := map[string]bool{}
	swept := map[string]int{}
	for _, rv := range j.runs {
		for r := range roles {
			if len(rv.canaryValues[r]) > 0 {
				planted[r] = true
			}
		}
		// A sweep's canaries (env-sweep:NAME, config-sweep:FILE:PATH)
		// answer to their sweep's role, and each finding names where it
		// was planted.
		for r := range rv.canaryValues {
			if sweep, ok := policy.SweptRole(r); ok && roles[sweep] && !planted[r] {
				planted[r] = true
				swept[sweep]++
			}
		}
	}
	var missing []string
	for _, r := range c.Roles {
		if !planted[r] && swept[r] == 0 {
			missing = append(missing, r)
		}
	}
	known := len(j.elsewhere) > 0
	for _, rv := range j.runs {
		known = known || len(rv.Canaries) > 0
	}
	switch {
	case !known:
		// Not "not planted": nothing says what was planted at all.
		out.note("no planted value is known: the run folder has no %s (check: give --canaries)", CanariesName)
	case len(missing) > 0:
		out.note("not planted: %s", strings.Join(missing, ", "))
	}
	// Values of the roles that other scenarios planted are searched too,
	// whether or not this one planted the role.
	for _, c := range j.elsewhere {
		if roles[c.Role] {
			planted[c.Role] = true
		}
	}
	if len(planted) == 0 {
		return k
	}
	k.start = func(rv *runView) {
		out.exercised = true
		j.dnsCanaries(clause, c, rv, planted, out)
	}
	k.end = blindEnd(k)
	k.each = func(rv *runView, x *item) {
		for _, h := range x.hitsOf(planted) {
			if slices.Contains(c.IgnoreForms, h.Form) || declaredID(j.p, h) {
				continue
			}
			msg := fmt.Sprintf("the %s canary%s is sent (%s)", h.Role, plantedIn(h), h.Form)
			// The chain says more than the form when it nests, salts
			// or truncates: "base64(gzip(user))".
			if h.Chain != h.Role && h.Chain != h.Form+"("+h.Role+")" {
				msg += " as " + h.Chain
			}
			evidence := fmt.Sprintf("role %s, form %s, value of %d chars", h.Role, h.Form, h.Length)
			if h.Matched > 0 {
				evidence += fmt.Sprintf(", truncated: first %d chars", h.Matched)
			}
			out.add(j.finding(clause, c.Kind, rv, h.Exchange, h.Path, msg, evidence))
		}
	}
	return k
}

// forbiddenPatterns matches the URL, every decoded string and the raw body.
func (j *judgement) forbiddenPatterns(clause string, c policy.Check) *checker {
	k, out := newChecker(true)
	k.each = func(rv *runView, x *item) {
		o := x.o
		if o == nil {
			return
		}
		out.exercised = true
		for _, expr := range c.Patterns {
			re, err := j.regex(expr)
			if err != nil {
				out.unobs("%v", err)
				continue
			}
			hit := false
			for _, v := range o.Values {
				if v.Kind != observe.KindString && v.Kind != observe.KindURL {
					continue
				}
				if loc := re.FindStringIndex(v.Text); loc != nil {
					hit = true
					out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, v.Path,
						fmt.Sprintf("matches the forbidden pattern %s", expr), fmt.Sprintf("%d of %d chars match, redacted", loc[1]-loc[0], len(v.Text))))
				}
			}
			if !hit && !o.IsJSON {
				if loc := re.FindIndex(o.Body); loc != nil {
					out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, "body",
						fmt.Sprintf("matches the forbidden pattern %s", expr), fmt.Sprintf("%d chars match, redacted", loc[1]-loc[0])))
				}
			}
		}
	}
	return k
}

// countEvidence shows a count only when it is a small number: anything else
// could carry data and is redacted.
func countEvidence(s string) string {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 && n < 1000 {
		return "sent " + strconv.Itoa(n)
	}
	return fmt.Sprintf("not a count, %d chars, redacted", len(s))
}

// plantedIn names, for a message, the other scenario that planted a hit's
// value; empty for this scenario's own.
func plantedIn(h hit) string {
	if h.From == "" {
		return ""
	}
	return " planted in scenario " + h.From
}
