package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Validation of the clauses and their checks, against the check-kind table (kinds.go).

func (v *validator) clauses() {
	seen := map[string]int{}
	for i, c := range v.p.Clauses {
		at := fmt.Sprintf("clauses[%d]", i)
		if !clauseIDRe.MatchString(c.ID) {
			v.at(at+".id", fmt.Sprintf("%q is not a clause id", c.ID), "lower-case words joined by - and at least one .", "id: consent.nothing-until-opt-in")
		} else if j, dup := seen[c.ID]; dup {
			v.at(at+".id", fmt.Sprintf("duplicate clause id %q (first at clauses[%d])", c.ID, j), "unique ids", "id: consent.nothing-until-opt-in")
		} else {
			seen[c.ID] = i
		}
		if !v.oneOf(at+".testable", c.Testable, allTestables, "testable: client") {
			continue
		}
		if c.Testable == TestableClient && len(c.Checks) == 0 {
			v.at(at+".checks", "a client-testable clause needs at least one check", kindNames(), "checks: [{kind: nothing-sent}]")
		}
		if c.Testable == TestableServerSide && len(c.Checks) > 0 {
			v.at(at+".checks", "a server-side clause cannot be checked from the client", "no checks", "testable: server-side")
		}
		for j, ch := range c.Checks {
			v.check(fmt.Sprintf("%s.checks[%d]", at, j), &ch)
		}
	}
}

func (v *validator) check(at string, c *Check) {
	spec, ok := KindOf(c.Kind)
	if !ok {
		v.at(at+".kind", fmt.Sprintf("unknown check kind %q", c.Kind), kindNames(), "kind: canary-absent")
		return
	}
	for _, prm := range checkParams {
		present := v.has(at + "." + prm)
		want := slices.Contains(spec.Required, prm)
		if want && !present {
			v.at(at+"."+prm, fmt.Sprintf("check kind %s needs %s", c.Kind, prm), paramsOf(spec), exampleParam(prm))
		}
		if present && !want && !slices.Contains(spec.Optional, prm) {
			v.at(at+"."+prm, fmt.Sprintf("check kind %s does not read %s", c.Kind, prm), paramsOf(spec), "")
		}
	}
	for i, f := range c.Fields {
		if _, ok := v.p.Field(f); !ok {
			v.at(fmt.Sprintf("%s.fields[%d]", at, i), fmt.Sprintf("unknown field %q", f), fieldNames(v.p), "fields: [repo_id]")
		}
	}
	for _, prm := range []struct{ name, val string }{{"field", c.Field}, {"timestamp_field", c.TimestampField}} {
		if prm.val == "" {
			continue
		}
		if _, ok := v.p.Field(prm.val); !ok {
			v.at(at+"."+prm.name, fmt.Sprintf("unknown field %q", prm.val), fieldNames(v.p), prm.name+": run_id")
		}
	}
	if c.Vocabulary != "" {
		if _, ok := v.p.Vocabularies[c.Vocabulary]; !ok {
			v.at(at+".vocabulary", fmt.Sprintf("unknown vocabulary %q", c.Vocabulary), vocabNames(v.p), "vocabulary: standard_goals")
		}
	}
	if c.Tag != "" && !v.tagDeclared(c.Tag) {
		v.at(at+".tag", fmt.Sprintf("tag key %q is declared by no tag-list field", c.Tag), "a key under a tag-list field's tags", "tag: goal")
	}
	for i, r := range c.Roles {
		// env-sweep names the values of a scenario's environment sweep.
		if r != SweepRole && r != ConfigSweepRole {
			v.role(fmt.Sprintf("%s.roles[%d]", at, i), r)
		}
	}
	for i, f := range c.IgnoreForms {
		if !ValidCanaryForm(f) {
			v.at(fmt.Sprintf("%s.ignore_forms[%d]", at, i), fmt.Sprintf("unknown canary form %q", f),
				"a form or a chain of them, outermost first, e.g. base64(gzip); forms: "+strings.Join(CanaryForms(), ", "), "ignore_forms: [sha256]")
		}
	}
	for i, pat := range c.Patterns {
		v.regex(fmt.Sprintf("%s.patterns[%d]", at, i), pat)
	}
	if c.TimePattern != "" {
		if re, err := regexp.Compile(c.TimePattern); err != nil {
			v.regex(at+".time_pattern", c.TimePattern)
		} else if re.NumSubexp() < 1 {
			v.at(at+".time_pattern", "time_pattern needs a group around the time stamp", "a regular expression with one (group)", `time_pattern: '^pants_run_([0-9_]{19})_'`)
		}
	}
	if c.Random != "" {
		v.oneOf(at+".random", c.Random, []string{RandomUUID4, RandomBytes}, "random: uuid4")
	}
	switch {
	case c.Random == RandomBytes && c.RandomBytes < 8:
		v.at(at+".random_bytes", "random: bytes needs random_bytes of at least 8 (fewer repeat by chance across runs)", "an integer >= 8", "random_bytes: 16")
	case c.Random != RandomBytes && c.RandomBytes != 0:
		v.at(at+".random_bytes", "random_bytes is read only with random: bytes", "random: bytes", "random: bytes")
	}
	if c.RandomPattern != "" {
		if re, err := regexp.Compile(c.RandomPattern); err != nil {
			v.regex(at+".random_pattern", c.RandomPattern)
		} else if re.NumSubexp() < 1 {
			v.at(at+".random_pattern", "random_pattern needs a group around the random part", "a regular expression with one (group)", `random_pattern: '_([0-9a-f]{32})$'`)
		}
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			v.at(at+".time_zone", fmt.Sprintf("unknown time zone %q", c.TimeZone), "an IANA zone name", "time_zone: UTC")
		}
	}
	if c.Kind == KindIDSalted && v.p.IDs == nil {
		v.at(at+".kind", "check kind id-salted needs the policy's ids section", "an ids section", "ids: {hash: sha256, salt: repo-id, separators: [\".\"], fields: [{field: repo_id}]}")
	}
	if c.Kind == KindFailureHarmless && c.MaxRequests < 1 {
		v.at(at+".max_requests", "max_requests must be at least 1", "an integer >= 1", "max_requests: 1")
	}
}

func (v *validator) tagDeclared(key string) bool {
	for _, f := range v.p.Fields {
		for _, t := range f.Tags {
			if t.Key == key {
				return true
			}
		}
	}
	return false
}

func paramsOf(s KindSpec) string {
	if len(s.Required)+len(s.Optional) == 0 {
		return "no parameters"
	}
	out := append([]string{}, s.Required...)
	for _, o := range s.Optional {
		out = append(out, o+" (optional)")
	}
	return strings.Join(out, ", ")
}

func exampleParam(name string) string {
	for _, f := range fieldsOf(reflectCheck) {
		if f.key == name {
			return f.meta.example
		}
	}
	return ""
}
