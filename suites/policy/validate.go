package policy

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var (
	// itemsRe is a Diagnostic.Items path: keys and [*] after $.
	itemsRe     = regexp.MustCompile(`^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\*\])*$`)
	clauseIDRe  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$`)
	nameRe      = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	roleRe      = nameRe
	fieldNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	pathRe      = regexp.MustCompile(`^\$(\.[A-Za-z_][A-Za-z0-9_-]*)*$`)
	// wildPathRe also allows [*] (every element of an array) and .* (every
	// member of an object): $[*].*.key for a list of events of several kinds.
	wildPathRe   = regexp.MustCompile(`^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\*\]|\.\*)*$`)
	headerRe     = regexp.MustCompile(`^header:[A-Za-z0-9!#$%&'*+.^_|~-]+$`)
	methodRe     = regexp.MustCompile(`^[A-Z]+$`)
	templateRe   = regexp.MustCompile(`\{\{\s*([^}]*?)\s*\}\}`)
	allTypes     = []string{TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeStringList, TypeJSONString, TypeTagList, TypeObject}
	allFormats   = []string{FormatSHA256Hex, FormatUnixTime}
	allDerive    = []string{DeriveEquals, DeriveElement, DeriveSubstring, DeriveVersionPrefix, DeriveTemplate}
	allPlants    = []string{PlantEnv, PlantUser, PlantHostname, PlantNode, PlantRepoID, PlantRepoDir, PlantHomeDir, PlantTemplate, PlantWorkdir, PlantCommand}
	allReports   = []string{ReportsNone, ReportsOne, ReportsAtMostOne, ReportsSome}
	allExits     = []string{ExitSuccess, ExitFailure, ExitAny}
	allTestables = []string{TestableClient, TestableServerSide}
)

// validator checks what the shapes cannot: references, uniqueness,
// regexes, and that every client-testable clause is exercised.
type validator struct {
	p *Policy
	w *walker
}

// at reports a problem at the node of path (falling back to its parent).
func (v *validator) at(path, msg, allowed, example string) {
	n := v.node(path)
	v.w.add(n, path, msg, meta{allowed: allowed, example: example})
}

func (v *validator) node(path string) *yaml.Node {
	for p := path; p != ""; {
		if n, ok := v.w.nodes[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return v.w.nodes[""]
}

func (v *validator) has(path string) bool {
	_, ok := v.w.nodes[path]
	return ok
}

func (v *validator) oneOf(path, val string, allowed []string, example string) bool {
	if slices.Contains(allowed, val) {
		return true
	}
	v.at(path, fmt.Sprintf("%q is not allowed", val), strings.Join(allowed, ", "), example)
	return false
}

func (v *validator) regex(path, expr string) {
	if _, err := regexp.Compile(expr); err != nil {
		v.at(path, "not a valid regular expression: "+err.Error(), "Go RE2 syntax", `'^[0-9]+$'`)
	}
}

func (v *validator) validate() {
	p := v.p
	if p.Version != 1 {
		v.at("version", fmt.Sprintf("unsupported version %d", p.Version), "1", "version: 1")
	}
	e := p.Endpoint
	v.oneOf("endpoint.scheme", e.Scheme, []string{"http", "https"}, "scheme: https")
	if e.Host == "" || strings.ContainsAny(e.Host, "/: ") {
		v.at("endpoint.host", fmt.Sprintf("%q is not a host name", e.Host), "a DNS name or IP address without scheme or port", "host: spire.bugout.dev")
	}
	if e.Port < 0 || e.Port > 65535 {
		v.at("endpoint.port", fmt.Sprintf("port %d out of range", e.Port), "1-65535, or 0 for the scheme's default", "port: 443")
	}
	if !strings.HasPrefix(e.Path, "/") {
		v.at("endpoint.path", fmt.Sprintf("%q does not start with /", e.Path), "an absolute URL path", "path: /humbug/reports")
	}
	if !methodRe.MatchString(e.Method) {
		v.at("endpoint.method", fmt.Sprintf("%q is not an HTTP method", e.Method), "an upper-case method name", "method: POST")
	}
	v.oneOf("payload.encoding", p.Payload.Encoding, []string{"json"}, "encoding: json")
	for i, c := range p.Payload.Closed {
		if !wildPathRe.MatchString(c) {
			v.at(fmt.Sprintf("payload.closed[%d]", i), fmt.Sprintf("%q is not an object path", c), "$, $.key.key, $[*].key or $[*].*", "$.content")
		}
	}
	v.toolVersions()
	v.otherTraffic()
	v.vocabularies()
	v.fields()
	v.canaries()
	v.states()
	v.ids()
	v.clauses()
	v.interpretations()
	v.scenarios()
}

// uniqueName reports a name that is not lower-case words joined by -, or
// that seen already holds, and adds it to seen.
func (v *validator) uniqueName(at, name string, seen map[string]bool, example string) {
	if !nameRe.MatchString(name) || seen[name] {
		v.at(at, fmt.Sprintf("empty, malformed or duplicate name %q", name), "unique lower-case words joined by -", example)
	}
	seen[name] = true
}

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

func (v *validator) scenarios() {
	p := v.p
	seen := map[string]int{}
	exercised := map[string]bool{}
	for i, s := range p.Scenarios {
		at := fmt.Sprintf("scenarios[%d]", i)
		if !nameRe.MatchString(s.Name) {
			v.at(at+".name", fmt.Sprintf("%q is not a scenario name", s.Name), "lower-case words joined by -", "name: opt-in")
		} else if j, dup := seen[s.Name]; dup {
			v.at(at+".name", fmt.Sprintf("duplicate scenario name %q (first at scenarios[%d])", s.Name, j), "unique names", "name: opt-in")
		} else {
			seen[s.Name] = i
		}
		planted := map[string]bool{}
		for j, r := range s.Canaries {
			v.role(fmt.Sprintf("%s.canaries[%d]", at, j), r)
			planted[r] = true
		}
		for j, r := range s.Vary {
			if !planted[r] {
				v.at(fmt.Sprintf("%s.vary[%d]", at, j), fmt.Sprintf("role %q is not planted in this scenario", r), "a role listed under the scenario's canaries", "vary: [repo-id]")
			}
		}
		for j, f := range s.Files {
			fat := fmt.Sprintf("%s.files[%d]", at, j)
			v.oneOf(fat+".mode", f.Mode, []string{"write", "append"}, "mode: append")
			if f.Path == "" || strings.HasPrefix(f.Path, "/") || slices.Contains(strings.Split(f.Path, "/"), "..") {
				v.at(fat+".path", fmt.Sprintf("%q is not a path inside the repo", f.Path), "a relative path without ..", "path: pants.toml")
			}
			v.templates(fat+".content", f.Content, planted)
		}
		for k, val := range s.Env {
			v.templates(at+".env."+k, val, planted)
		}
		v.host(at, s)
		for j, g := range s.Goals {
			v.templates(fmt.Sprintf("%s.goals[%d]", at, j), g, planted)
		}
		for j, a := range s.Args {
			v.templates(fmt.Sprintf("%s.args[%d]", at, j), a, planted)
		}
		for j, cmd := range s.Prepare {
			if len(cmd) == 0 {
				v.at(fmt.Sprintf("%s.prepare[%d]", at, j), "empty command", "argv as a list", "[git, init, -q]")
			}
			for k, a := range cmd {
				// {{tool}} as the first word runs the tool under test
				// itself (its own `telemetry disable` command).
				if k == 0 && a == ToolTemplate {
					continue
				}
				v.templates(fmt.Sprintf("%s.prepare[%d][%d]", at, j, k), a, planted)
			}
		}
		v.sink(at+".sink", s.Sink)
		runNames := map[string]bool{}
		for j, r := range s.Runs {
			rat := fmt.Sprintf("%s.runs[%d]", at, j)
			if !nameRe.MatchString(r.Name) || runNames[r.Name] {
				v.at(rat+".name", fmt.Sprintf("empty, malformed or duplicate run name %q", r.Name), "unique lower-case words joined by -", "name: repo-a-1")
			}
			runNames[r.Name] = true
			if r.Set == "" {
				v.at(rat+".set", "empty canary set name", "a name shared by runs with the same canary values", "set: a")
			}
			if r.Sink != nil {
				v.sink(rat+".sink", *r.Sink)
			}
		}
		v.oneOf(at+".expect.reports", s.Expect.Reports, allReports, "reports: one")
		v.oneOf(at+".expect.exit", s.Expect.Exit, allExits, "exit: success")
		if len(s.Clauses) == 0 {
			v.at(at+".clauses", "a scenario must exercise at least one clause", "client-testable clause ids", "clauses: [consent.nothing-until-opt-in]")
		}
		dup := map[string]bool{}
		for j, id := range s.Clauses {
			cat := fmt.Sprintf("%s.clauses[%d]", at, j)
			c, err := p.Clause(id)
			switch {
			case err != nil:
				v.at(cat, fmt.Sprintf("unknown clause %q", id), "an id under clauses", "consent.nothing-until-opt-in")
			case c.Testable != TestableClient:
				v.at(cat, fmt.Sprintf("clause %q is %s and cannot be exercised by a scenario", id, c.Testable), "client-testable clause ids", "")
			case dup[id]:
				v.at(cat, fmt.Sprintf("clause %q listed twice", id), "each clause once", "")
			}
			dup[id] = true
			exercised[id] = true
		}
		v.evidence(at, &s, planted)
		if sw := s.Sweep; sw != nil {
			v.sweep(at+".sweep", sw)
		}
		if d := s.Diagnostic; d != nil {
			v.regex(at+".diagnostic.marker", d.Marker)
			if !itemsRe.MatchString(d.Items) {
				v.at(at+".diagnostic.items", fmt.Sprintf("%q is not an items path", d.Items), "$, $[*], $.key[*] or $.key.key[*]", "items: '$[*]'")
			}
			if d.Printed != "" && !itemsRe.MatchString(d.Printed) {
				v.at(at+".diagnostic.printed", fmt.Sprintf("%q is not an items path", d.Printed), "$, $[*], $.key[*] or $.key.key[*]", "printed: '$[*]'")
			}
			if d.Compare != "" {
				if _, err := p.Scenario(d.Compare); err != nil || d.Compare == s.Name {
					v.at(at+".diagnostic.compare", fmt.Sprintf("%q names no other scenario", d.Compare), "the name of a scenario that sends", "compare: default")
				}
			}
		}
	}
	for i, c := range p.Clauses {
		if c.Testable == TestableClient && !exercised[c.ID] && clauseIDRe.MatchString(c.ID) {
			v.at(fmt.Sprintf("clauses[%d].id", i), fmt.Sprintf("client-testable clause %q is exercised by no scenario", c.ID), "a scenario listing it under clauses", "clauses: ["+c.ID+"]")
		}
	}
}

// Locale and time zone shapes: a POSIX locale name (C, POSIX,
// language_TERRITORY.codeset@modifier) and an IANA zone name or UTC offset
// spelling TZ accepts; checked by shape so that a policy means the same on
// every runner, whatever locales and zone files it has.
var (
	localeRe   = regexp.MustCompile(`^(C|POSIX|[a-z]{2,3}(_[A-Z]{2})?)(\.[A-Za-z0-9-]+)?(@[a-z]+)?$`)
	timezoneRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)
)

// host checks a scenario's host facts, and that its env does not set a
// variable the host facts decide to something else (the run would then
// be pinned twice, one way in the report and another for the tool).
func (v *validator) host(at string, s Scenario) {
	h := s.Host
	hat := at + ".host"
	if h.Container != "" {
		v.oneOf(hat+".container", h.Container, capture.Containers(), "container: docker")
	}
	if h.CI != "" {
		v.oneOf(hat+".ci", h.CI, capture.CIVendors(), "ci: github-actions")
	}
	if h.Locale != "" && !localeRe.MatchString(h.Locale) {
		v.at(hat+".locale", fmt.Sprintf("%q is not a locale name", h.Locale), "C, POSIX or language_TERRITORY.codeset", "locale: en_US.UTF-8")
	}
	if h.Timezone != "" && !timezoneRe.MatchString(h.Timezone) {
		v.at(hat+".timezone", fmt.Sprintf("%q is not a time zone name", h.Timezone), "an IANA zone such as UTC or Europe/Berlin", "timezone: UTC")
	}
	pinned := map[string]string{}
	for _, kv := range (capture.Host{Container: h.Container, CI: h.CI, Locale: h.Locale, Timezone: h.Timezone}).Env() {
		k, val, _ := strings.Cut(kv, "=")
		pinned[k] = val
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !capture.HostVariable(k) {
			continue
		}
		if want, ok := pinned[k]; ok && want == s.Env[k] {
			continue // repeats what the host facts give it
		}
		var field, has string
		switch {
		case k == "TZ":
			field = "timezone: " + s.Env[k]
		case k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_"):
			field = "locale: " + s.Env[k]
		case k == "TERM":
			field = "tty: true"
		default:
			field = "ci: github-actions"
		}
		if want, ok := pinned[k]; ok {
			has = fmt.Sprintf("it gives %s=%s", k, want)
		} else {
			has = fmt.Sprintf("it sets no %s", k)
		}
		v.at(at+".env."+k, fmt.Sprintf("%s is a host fact, which the scenario's host block decides (%s)", k, has), "set the fact under host and drop it from env", "host: {"+field+"}")
	}
}

func (v *validator) sink(at string, s Sink) {
	if s.Status != 0 && (s.Status < 100 || s.Status > 599) {
		v.at(at+".status", fmt.Sprintf("status %d is not an HTTP status", s.Status), "100-599, or 0 for 200", "status: 500")
	}
	if s.Delay < 0 {
		v.at(at+".delay", "negative delay", "a duration >= 0", "delay: 10s")
	}
}

func (v *validator) templates(at, s string, planted map[string]bool) {
	for _, m := range templateRe.FindAllStringSubmatch(s, -1) {
		name := m[1]
		if name == "repo_id" {
			continue
		}
		role, ok := strings.CutPrefix(name, "canary.")
		if !ok {
			v.at(at, fmt.Sprintf("unknown template {{%s}}", name), "{{canary.<role>}} or {{repo_id}}", "{{canary.config-value}}")
			continue
		}
		if !planted[role] {
			v.at(at, fmt.Sprintf("template {{canary.%s}} names a role this scenario does not plant", role), "a role listed under the scenario's canaries", "canaries: ["+role+"]")
		} else if plan, ok := v.p.CanaryPlan(role); ok && (plan.Plant == PlantWorkdir || plan.Plant == PlantCommand) {
			v.at(at, fmt.Sprintf("template {{canary.%s}} names a role recorded only after the files are written (plant %s)", role, plan.Plant), "a role of another plant", "")
		}
	}
}

// evidence checks a scenario's evidence requirements and its delivery.
func (v *validator) evidence(at string, s *Scenario, planted map[string]bool) {
	ids := map[string]bool{}
	for j, e := range s.Evidence {
		eat := fmt.Sprintf("%s.evidence[%d]", at, j)
		v.uniqueName(eat+".id", e.ID, ids, "id: custom-task-event")
		if strings.TrimSpace(e.What) == "" {
			v.at(eat+".what", "say in words what must arrive", "a short description", "what: the task event of the custom task")
		}
		if _, ok := v.p.Field(e.Field); !ok {
			v.at(eat+".field", fmt.Sprintf("unknown field %q", e.Field), fieldNames(v.p), "field: task")
		}
		if e.From != "" && !planted[e.From] {
			v.at(eat+".from", fmt.Sprintf("role %q is not planted in this scenario", e.From), "a role listed under the scenario's canaries", "from: custom-task")
		}
		if len(e.Clauses) == 0 {
			v.at(eat+".clauses", "name the clauses that need this evidence", "clause ids the scenario lists", "clauses: [names.not-collected]")
		}
		for k, id := range e.Clauses {
			if !slices.Contains(s.Clauses, id) {
				v.at(fmt.Sprintf("%s.clauses[%d]", eat, k), fmt.Sprintf("clause %q is not one the scenario exercises", id), "ids under the scenario's clauses", "")
			}
		}
	}
	if d := s.Delivery; d != nil {
		dat := at + ".delivery"
		if v.oneOf(dat+".mode", d.Mode, []string{DeliveryComplete, DeliveryBestEffort}, "mode: best-effort") {
			switch {
			case d.Attempts < 0 || d.Attempts > MaxAttempts:
				v.at(dat+".attempts", fmt.Sprintf("%d attempts", d.Attempts), fmt.Sprintf("1 to %d", MaxAttempts), "attempts: 3")
			case d.Mode == DeliveryBestEffort && len(s.Evidence) == 0:
				v.at(dat+".mode", "best-effort delivery needs evidence to wait for", "an evidence list on the scenario, which decides when an attempt is enough", "evidence: [{id: ..., field: ..., clauses: [...]}]")
			case d.Mode == DeliveryComplete && d.Attempts > 1:
				v.at(dat+".attempts", "complete delivery runs once", "mode: best-effort for more attempts", "attempts: 1")
			}
		}
	}
}

// sweep checks a scenario's sweep: it plants something, and each config
// file is a path inside the repo copy with JSON paths to plant at.
func (v *validator) sweep(at string, sw *Sweep) {
	if !sw.Swept() {
		v.at(at, "the sweep plants nothing", "env: true, or config files", "sweep: {env: true}")
	}
	for i, c := range sw.Config {
		cat := fmt.Sprintf("%s.config[%d]", at, i)
		if clean := path.Clean(c.File); c.File == "" || path.IsAbs(c.File) || clean == ".." || strings.HasPrefix(clean, "../") {
			v.at(cat+".file", fmt.Sprintf("%q is not a path inside the repo copy", c.File), "a relative path", "file: turbo.json")
		}
		for j, p := range c.Values {
			if !wildPathRe.MatchString(p) {
				v.at(fmt.Sprintf("%s.values[%d]", cat, j), fmt.Sprintf("%q is not a JSON path", p), "$.key, $.key[*], $.*.key", "'$.tasks.*.outputs[*]'")
			}
		}
		for j, p := range c.Keys {
			if !wildPathRe.MatchString(p) {
				v.at(fmt.Sprintf("%s.keys[%d]", cat, j), fmt.Sprintf("%q is not a JSON path", p), "$, $.key, $.key.*", "$.tasks")
			}
		}
	}
}
