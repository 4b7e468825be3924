package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Validation of what a report may hold: fields, tags, vocabularies, ids, canaries, state files, other traffic and interpretations.

// interpretations checks that each names a clause and a field that one of
// the clause's field-format checks judges: otherwise it could never apply.
func (v *validator) interpretations() {
	ids := map[string]bool{}
	for i, in := range v.p.Interpretations {
		at := fmt.Sprintf("interpretations[%d]", i)
		v.uniqueName(at+".id", in.ID, ids, "id: generic-task-names")
		c, err := v.p.Clause(in.Clause)
		if err != nil {
			v.at(at+".clause", fmt.Sprintf("unknown clause %q", in.Clause), "an id under clauses", "clause: names.not-collected")
			continue
		}
		judged := false
		for _, ch := range c.Checks {
			if ch.Kind == KindFieldFormat && slices.Contains(ch.Fields, in.Accepts.Field) {
				judged = true
			}
		}
		if !judged {
			v.at(at+".accepts.field", fmt.Sprintf("no field-format check of clause %s judges field %q", in.Clause, in.Accepts.Field),
				"a field listed by one of the clause's field-format checks", "field: task")
		}
		if len(in.Accepts.Values) == 0 {
			v.at(at+".accepts.values", "no values accepted", "the values the reading accepts", "values: [build, test]")
		}
		if strings.TrimSpace(in.Why) == "" || strings.TrimSpace(in.Quote) == "" {
			v.at(at, "an interpretation needs its reasoning (why) and the page's words (quote)", "why: ..., quote: ...", "why: generic names say nothing about the user")
		}
	}
}

// otherTraffic checks the declared non-telemetry destinations: each names
// a host other than the endpoint's, with a reason.
func (v *validator) otherTraffic() {
	names := map[string]bool{}
	for i, t := range v.p.OtherTraffic {
		at := fmt.Sprintf("other_traffic[%d]", i)
		v.uniqueName(at+".name", t.Name, names, "name: npm-registry")
		switch {
		case t.Host == "" || strings.ContainsAny(t.Host, "/: "):
			v.at(at+".host", fmt.Sprintf("%q is not a host name", t.Host), "a host without scheme, port or path", "host: registry.npmjs.org")
		case strings.EqualFold(t.Host, v.p.Endpoint.Host):
			v.at(at+".host", "the telemetry endpoint's own host cannot be declared as other traffic", "another host the tool contacts", "host: registry.npmjs.org")
		}
		if t.Path != "" && !strings.HasPrefix(t.Path, "/") {
			v.at(at+".path", fmt.Sprintf("%q is not a path", t.Path), "a path prefix starting with /", "path: /next")
		}
		for j, m := range t.Methods {
			if !methodRe.MatchString(m) {
				v.at(fmt.Sprintf("%s.methods[%d]", at, j), fmt.Sprintf("%q is not an HTTP method", m), "upper-case method names", "methods: [GET]")
			}
		}
		if strings.TrimSpace(t.Reason) == "" {
			v.at(at+".reason", "say why the tool contacts this host, and on what evidence", "a sentence", "reason: asks for its latest version")
		}
	}
}

func (v *validator) vocabularies() {
	for name, words := range v.p.Vocabularies {
		if len(words) == 0 {
			v.at("vocabularies."+name, "empty vocabulary", "a non-empty list of words", name+": [test, lint]")
		}
	}
}

func (v *validator) fields() {
	p := v.p
	names := map[string]int{}
	paths := map[string]int{}
	for i, f := range p.Fields {
		at := fmt.Sprintf("fields[%d]", i)
		if !fieldNameRe.MatchString(f.Name) {
			v.at(at+".name", fmt.Sprintf("%q is not a field name", f.Name), "letters, digits, _ and -", "name: run_id")
		} else if j, dup := names[f.Name]; dup {
			v.at(at+".name", fmt.Sprintf("duplicate field name %q (first at fields[%d])", f.Name, j), "unique names", "name: run_id")
		} else {
			names[f.Name] = i
		}
		if !(wildPathRe.MatchString(f.Path) || headerRe.MatchString(f.Path)) || f.Path == "$" || strings.HasSuffix(f.Path, "[*]") || strings.HasSuffix(f.Path, ".*") {
			v.at(at+".path", fmt.Sprintf("%q is not a field path", f.Path), "$.key, $.key.key, $[*].key, $[*].*.key or header:NAME", "path: $.content.run_id")
		} else if j, dup := paths[f.Path]; dup {
			v.at(at+".path", fmt.Sprintf("duplicate field path %q (first at fields[%d])", f.Path, j), "unique paths", "path: $.content.run_id")
		} else {
			paths[f.Path] = i
		}
		v.oneOf(at+".type", f.Type, allTypes, "type: string")
		if f.Format != "" {
			v.oneOf(at+".format", f.Format, allFormats, "format: sha256-hex")
		}
		if f.Pattern != "" {
			v.regex(at+".pattern", f.Pattern)
		}
		if f.Vocabulary != "" {
			if _, ok := p.Vocabularies[f.Vocabulary]; !ok {
				v.at(at+".vocabulary", fmt.Sprintf("unknown vocabulary %q", f.Vocabulary), vocabNames(p), "vocabulary: standard_goals")
			}
		}
		if f.Derive != nil {
			v.derive(at+".derive", f.Derive)
		}
		if f.Varies != "" && v.oneOf(at+".varies", f.Varies, []string{VariesPerRun}, "varies: per-run") &&
			f.Format == "" && f.Pattern == "" && len(f.Enum) == 0 && f.Derive == nil && !v.checkedRandom(f.Name) {
			// A value that may be anything in every run is a channel:
			// varying is declared together with what each value must be.
			v.at(at+".varies", fmt.Sprintf("field %s varies per run but has no check of its own", f.Name),
				"a format, pattern or enum on the field, a derive from another field, or a random or run-id check naming it",
				`pattern: '^[0-9]+(\.[0-9]+)?$'`)
		}
		if f.Type == TypeTagList {
			if f.Sep == "" {
				v.at(at+".sep", "a tag-list needs a separator", "a non-empty string", `sep: ":"`)
			}
			if len(f.Tags) == 0 {
				v.at(at+".tags", "a tag-list needs its tag keys", "a list of tags", "tags: [{key: os, derive: {from: platform, rule: substring}}]")
			}
		} else {
			if f.Sep != "" {
				v.at(at+".sep", "sep applies to tag-list fields only", "", "")
			}
			if len(f.Tags) > 0 {
				v.at(at+".tags", "tags apply to tag-list fields only", "", "")
			}
		}
		keys := map[string]bool{}
		for j, t := range f.Tags {
			tat := fmt.Sprintf("%s.tags[%d]", at, j)
			if t.Key == "" || keys[t.Key] {
				v.at(tat+".key", fmt.Sprintf("empty or duplicate tag key %q", t.Key), "unique non-empty keys", "key: os")
			}
			keys[t.Key] = true
			if (t.Const == "") == (t.Derive == nil) {
				v.at(tat, "a tag needs exactly one of const and derive", "const: VALUE or derive: {from: FIELD, rule: RULE}", "derive: {from: platform, rule: substring}")
			}
			if t.Derive != nil {
				v.derive(tat+".derive", t.Derive)
			}
		}
	}
	for i, c := range p.Payload.Closed {
		// An object inside an array (a list of events) needs no field of
		// its own; any other closed object is $ or JSON inside a string.
		if c == "$" || strings.Contains(c, "[*]") || strings.Contains(c, ".*") {
			continue
		}
		if f, ok := v.fieldAt(c); !ok || (f.Type != TypeJSONString && f.Type != TypeObject) {
			v.at(fmt.Sprintf("payload.closed[%d]", i), fmt.Sprintf("%q is neither $ nor a json-string or object field", c), "$ or the path of a json-string or object field", "$.content")
		}
	}
}

// checkedRandom reports whether a random or run-id check judges field name.
func (v *validator) checkedRandom(name string) bool {
	for _, c := range v.p.Clauses {
		for _, ch := range c.Checks {
			if (ch.Kind == KindRandom || ch.Kind == KindRunID) && ch.Field == name {
				return true
			}
		}
	}
	return false
}

func (v *validator) fieldAt(path string) (*Field, bool) {
	for i := range v.p.Fields {
		if v.p.Fields[i].Path == path {
			return &v.p.Fields[i], true
		}
	}
	return nil, false
}

func vocabNames(p *Policy) string {
	var n []string
	for k := range p.Vocabularies {
		n = append(n, k)
	}
	slices.Sort(n)
	if len(n) == 0 {
		return "a vocabulary declared under vocabularies"
	}
	return strings.Join(n, ", ")
}

func fieldNames(p *Policy) string {
	var n []string
	for _, f := range p.Fields {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

func roleNames(p *Policy) string {
	var n []string
	for _, c := range p.Canaries {
		n = append(n, c.Role)
	}
	if len(n) == 0 {
		return "a role declared under canaries"
	}
	return strings.Join(n, ", ")
}

func (v *validator) derive(at string, d *Derive) {
	if _, ok := v.p.Field(d.From); !ok {
		v.at(at+".from", fmt.Sprintf("unknown field %q", d.From), fieldNames(v.p), "from: platform")
	}
	v.oneOf(at+".rule", d.Rule, allDerive, "rule: equals")
	if d.Rule == DeriveTemplate && !strings.Contains(d.Template, "{value}") {
		v.at(at+".template", "rule template needs a template holding {value}", "a string with {value}", `template: "pants run {value}"`)
	}
}

func (v *validator) canaries() {
	seen := map[string]bool{}
	for i, c := range v.p.Canaries {
		at := fmt.Sprintf("canaries[%d]", i)
		if !roleRe.MatchString(c.Role) || seen[c.Role] {
			v.at(at+".role", fmt.Sprintf("empty, malformed or duplicate role %q", c.Role), "unique lower-case words joined by -", "role: user")
		}
		seen[c.Role] = true
		v.oneOf(at+".plant", c.Plant, allPlants, "plant: env")
		if c.Plant == PlantEnv && len(c.Env) == 0 {
			v.at(at+".env", "plant env needs the variable names", "a list of variable names", "env: [TELEMETRY_CANARY]")
		}
		if len(c.Env) > 0 && c.Plant != PlantEnv && c.Plant != PlantUser {
			v.at(at+".env", "env applies to plant env and user only", "", "")
		}
		if c.Plant == PlantCommand && len(c.Command) == 0 {
			v.at(at+".command", "plant command needs the command whose output is the value", "argv as a list", "command: [git, rev-list, --max-parents=0, HEAD]")
		}
		if len(c.Command) > 0 && c.Plant != PlantCommand {
			v.at(at+".command", "command applies to plant command only", "", "")
		}
		if c.Pattern != "" {
			v.regex(at+".pattern", c.Pattern)
		}
		if c.MinPrefix != 0 && c.MinPrefix < MinPrefixFloor {
			v.at(at+".min_prefix", fmt.Sprintf("min_prefix %d is below %d: shorter prefixes match ordinary text by chance", c.MinPrefix, MinPrefixFloor),
				fmt.Sprintf("a number of characters >= %d (the search's default is %d)", MinPrefixFloor, DefaultMinPrefix), "min_prefix: 12")
		}
	}
}

func (v *validator) role(at, role string) {
	if _, ok := v.p.CanaryPlan(role); !ok {
		v.at(at, fmt.Sprintf("unknown canary role %q", role), roleNames(v.p), "user")
	}
}

// states checks the state files: well-formed names, a known base, a path
// inside it. A name may be listed more than once with different places: a
// tool that keeps its state where the host facts decide (Next.js: HOME on
// a plain machine, the project's .next/cache in a container or CI).
func (v *validator) states() {
	seen := map[StateFile]bool{}
	for i, s := range v.p.State {
		at := fmt.Sprintf("state[%d]", i)
		if !nameRe.MatchString(s.Name) || seen[s] {
			v.at(at+".name", fmt.Sprintf("empty, malformed or duplicate state entry %q", s.Name), "lower-case words joined by -, each name once per place", "name: turbo-config")
		}
		seen[s] = true
		v.oneOf(at+".base", s.Base, []string{StateBaseHome, StateBaseRepo}, "base: home")
		if s.Path == "" || strings.HasPrefix(s.Path, "/") || slices.Contains(strings.Split(s.Path, "/"), "..") {
			v.at(at+".path", fmt.Sprintf("%q is not a path inside its base", s.Path), "a relative path without ..", "path: .config/turborepo/telemetry.json")
		}
	}
}

// stateValue checks a reference to a value in a state file.
func (v *validator) stateValue(at string, sv *StateValue) {
	if _, ok := v.p.StateFile(sv.State); !ok {
		v.at(at+".state", fmt.Sprintf("unknown state file %q", sv.State), "a name under state", "state: turbo-config")
	}
	if !pathRe.MatchString(sv.Path) || sv.Path == "$" {
		v.at(at+".path", fmt.Sprintf("%q is not a JSON member path", sv.Path), "$.key or $.key.key", "path: $.telemetry_salt")
	}
}

func (v *validator) ids() {
	ids := v.p.IDs
	if ids == nil {
		return
	}
	v.oneOf("ids.hash", ids.Hash, []string{"sha256"}, "hash: sha256")
	// A tool whose ids are all random values kept in its state needs no
	// salt; any hashed id does.
	needSalt := false
	for _, f := range ids.Fields {
		needSalt = needSalt || f.State == nil
	}
	switch {
	case ids.Salt != "" && ids.SaltFrom != nil:
		v.at("ids.salt", "give one of salt (a canary role) and salt_from (a value of the tool's state), not both", "salt: ROLE or salt_from: {state: NAME, path: $.key}", "salt_from: {state: turbo-config, path: $.telemetry_salt}")
	case ids.Salt == "" && ids.SaltFrom == nil:
		if needSalt {
			v.at("ids.salt", "a hashed id needs a salt: give salt (a canary role) or salt_from (a value of the tool's state)", "salt: ROLE or salt_from: {state: NAME, path: $.key}", "salt_from: {state: turbo-config, path: $.telemetry_salt}")
		}
	case ids.Salt != "":
		v.role("ids.salt", ids.Salt)
	default:
		v.stateValue("ids.salt_from", ids.SaltFrom)
	}
	if len(ids.Separators) == 0 {
		v.at("ids.separators", "no separator allowed", "a list of separators; \"\" is plain concatenation", `separators: [".", ""]`)
	}
	for i, f := range ids.Fields {
		at := fmt.Sprintf("ids.fields[%d]", i)
		if _, ok := v.p.Field(f.Field); !ok {
			v.at(at+".field", fmt.Sprintf("unknown field %q", f.Field), fieldNames(v.p), "field: user_id")
		}
		if f.Input != "" {
			v.role(at+".input", f.Input)
		}
		if f.State != nil {
			if f.Input != "" {
				v.at(at+".state", "an id is either a hash of an input or a value kept in the tool's state, not both", "input or state", "")
			}
			v.stateValue(at+".state", f.State)
		}
	}
}
