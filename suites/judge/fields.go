package judge

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/oracle"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/textmatch"
)

func splitPath(path string) (parent, key string) {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return "$", path
	}
	return path[:i], path[i+1:]
}

// present reports whether the field's key exists in its parent object,
// whatever its value (an empty list or string counts as present).
func present(o *observe.Observation, f *policy.Field) bool {
	if strings.HasPrefix(f.Path, "header:") {
		return len(o.Get(f.Path)) > 0
	}
	parent, key := splitPath(f.Path)
	return slices.Contains(o.Keys(parent), key)
}

// multi reports whether a field's path may hold several values in one
// request: one per array element ($[*].key) or per repeated header. Each
// value is then checked on its own.
func multi(f *policy.Field) bool {
	return strings.Contains(f.Path, "[*]") || strings.Contains(f.Path, ".*") || strings.HasPrefix(f.Path, "header:")
}

// values returns the field's leaf values: the elements of a list, else the
// value itself.
func values(o *observe.Observation, f *policy.Field) []observe.Value {
	if f.Type == policy.TypeStringList || f.Type == policy.TypeTagList {
		return o.Get(f.Path + "[*]")
	}
	return o.Get(f.Path)
}

// describe says what a value is without showing it.
func describe(vs []observe.Value) string {
	switch len(vs) {
	case 0:
		return "no scalar value"
	case 1:
		return fmt.Sprintf("%s, %d chars, value redacted", vs[0].Kind, len(vs[0].Text))
	}
	return fmt.Sprintf("%d values, values redacted", len(vs))
}

func describeAt(o *observe.Observation, path string) string {
	if vs := o.Get(path); len(vs) > 0 {
		return describe(vs)
	}
	if vs := o.Get(path + "[*]"); len(vs) > 0 {
		return fmt.Sprintf("list of %d, values redacted", len(vs))
	}
	if o.HasObject(path) {
		return fmt.Sprintf("object with %d keys, values redacted", len(o.Keys(path)))
	}
	return "empty"
}

// regex compiles a policy expression once per judgement, behind
// textmatch's literal prefilter: most bodies hold none of the words a
// forbidden pattern needs, and regexp alone would walk every byte.
func (j *judgement) regex(expr string) (*textmatch.Regexp, error) {
	if re, ok := j.regexes[expr]; ok {
		return re, nil
	}
	re, err := textmatch.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("policy regex %q: %w", expr, err)
	}
	j.regexes[expr] = re
	return re, nil
}

func (j *judgement) allowedFields(clause string, c policy.Check) *checker {
	k, out := newChecker(true)
	allowed := map[string]map[string]bool{}
	for _, cl := range j.p.Payload.Closed {
		allowed[cl] = map[string]bool{}
	}
	for _, f := range j.p.Fields {
		parent, key := splitPath(f.Path)
		if m, ok := allowed[parent]; ok {
			m[key] = true
		}
	}
	k.each = func(rv *runView, x *item) {
		if !x.payload() {
			return
		}
		o := x.o
		out.exercised = true
		ex := o.Exchange.Seq
		if !o.IsJSON {
			why := "not JSON"
			if o.BodyError != "" {
				why = o.BodyError
			}
			out.add(j.finding(clause, c.Kind, rv, ex, "$",
				"body is not the documented "+j.p.Payload.Encoding+" payload", why))
			return
		}
		for _, cl := range j.p.Payload.Closed {
			// A closed path with [*] names one object per array
			// element: each is checked at its own path.
			for _, op := range o.Objects(cl) {
				for _, k := range o.Keys(op) {
					if allowed[cl][k] {
						continue
					}
					p := observe.ChildKey(op, k)
					out.add(j.finding(clause, c.Kind, rv, ex, p,
						fmt.Sprintf("undocumented field %q", k), describeAt(o, p)))
				}
			}
		}
		for i := range j.p.Fields {
			f := &j.p.Fields[i]
			if f.Derive != nil && f.Type != policy.TypeTagList {
				for _, v := range o.Get(f.Path) {
					if msg := j.derived(o, f.Derive, v.Text); msg != "" {
						out.add(j.finding(clause, c.Kind, rv, ex, v.Path, msg, describe([]observe.Value{v})))
					}
				}
			}
			if f.Type == policy.TypeTagList {
				for _, tf := range j.tagFindings(clause, c.Kind, rv, o, f) {
					out.add(tf)
				}
			}
		}
	}
	return k
}

func (j *judgement) tagFindings(clause, kind string, rv *runView, o *observe.Observation, f *policy.Field) []Finding {
	var out []Finding
	specs := map[string]*policy.Tag{}
	for i := range f.Tags {
		specs[f.Tags[i].Key] = &f.Tags[i]
	}
	ex := o.Exchange.Seq
	for _, t := range o.Tags(f.TagListName()) {
		ev := fmt.Sprintf("tag value of %d chars, redacted", len(t.Value))
		if !t.HasSep {
			out = append(out, j.finding(clause, kind, rv, ex, t.Path, fmt.Sprintf("tag without the %q separator", f.Sep), fmt.Sprintf("%d chars, redacted", len(t.Key))))
			continue
		}
		spec, ok := specs[t.Key]
		switch {
		case !ok:
			out = append(out, j.finding(clause, kind, rv, ex, t.Path, fmt.Sprintf("undocumented tag key %q", t.Key), ev))
		case spec.Const != "" && t.Value != spec.Const:
			out = append(out, j.finding(clause, kind, rv, ex, t.Path, fmt.Sprintf("tag %q must be %q", t.Key, spec.Const), ev))
		case spec.Derive != nil:
			if msg := j.derived(o, spec.Derive, t.Value); msg != "" {
				out = append(out, j.finding(clause, kind, rv, ex, t.Path, fmt.Sprintf("tag %q: %s", t.Key, msg), ev))
			}
		}
	}
	return out
}

// derived checks that v is computed from its source field as declared; it
// returns why not, or "".
func (j *judgement) derived(o *observe.Observation, d *policy.Derive, v string) string {
	if d.Rule == policy.DeriveElement {
		return "" // membership is the business of the clause that owns the list (goals-subset)
	}
	src, ok := j.p.Field(d.From)
	if !ok {
		return fmt.Sprintf("derives from unknown field %q", d.From)
	}
	var texts []string
	for _, sv := range o.Get(src.Path) {
		texts = append(texts, sv.Text)
	}
	if len(texts) == 0 {
		return fmt.Sprintf("repeats field %s, which the report does not hold", d.From)
	}
	for _, s := range texts {
		switch d.Rule {
		case policy.DeriveEquals:
			if v == s {
				return ""
			}
		case policy.DeriveSubstring:
			if v != "" && strings.Contains(s, v) {
				return ""
			}
		case policy.DeriveVersionPrefix:
			if v != "" && (v == s || strings.HasPrefix(s, v+".")) {
				return ""
			}
		case policy.DeriveTemplate:
			if v == strings.ReplaceAll(d.Template, "{value}", s) {
				return ""
			}
		}
	}
	return fmt.Sprintf("is not derived from field %s as declared (%s)", d.From, d.Rule)
}

func (j *judgement) allowedHeaders(clause string, c policy.Check) *checker {
	k, out := newChecker(true)
	k.each = func(rv *runView, x *item) {
		o := x.o
		if o == nil || x.attributed() != nil {
			return
		}
		out.exercised = true
		for _, h := range o.Exchange.Headers {
			if slices.ContainsFunc(j.p.Endpoint.Headers.Allowed, func(a string) bool { return strings.EqualFold(a, h.Name) }) {
				continue
			}
			out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, "header:"+h.Name,
				fmt.Sprintf("header %q is not among the allowed headers", h.Name), fmt.Sprintf("%d chars, value redacted", len(h.Value))))
		}
		// A trailer is a header sent after the body: the same list rules it.
		for _, h := range o.Exchange.Trailers {
			if slices.ContainsFunc(j.p.Endpoint.Headers.Allowed, func(a string) bool { return strings.EqualFold(a, h.Name) }) {
				continue
			}
			out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, "trailer:"+h.Name,
				fmt.Sprintf("trailer %q is not among the allowed headers", h.Name), fmt.Sprintf("%d chars, value redacted", len(h.Value))))
		}
		if n := len(o.Exchange.ChunkExtensions); n > 0 {
			out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, "chunk-ext",
				fmt.Sprintf("the chunked body carries %d chunk extension(s): data beside the documented payload", n), ""))
		}
	}
	return k
}

func (j *judgement) requiredFields(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	reports := 0
	k.start = func(*runView) { reports = 0 }
	k.each = func(rv *runView, x *item) {
		if !x.isReport() {
			return
		}
		o := x.o
		reports++
		out.exercised = true
		for i := range j.p.Fields {
			f := &j.p.Fields[i]
			if f.Required && !present(o, f) {
				out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, f.Path,
					fmt.Sprintf("documented field %s is missing", f.Name), ""))
			}
			for _, t := range f.Tags {
				if !t.Required {
					continue
				}
				if !slices.ContainsFunc(o.Tags(f.TagListName()), func(x observe.Tag) bool { return x.Key == t.Key }) {
					out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, f.TagListName()+"["+t.Key+"]",
						fmt.Sprintf("required tag %q is missing", t.Key), ""))
				}
			}
		}
	}
	k.end = func(rv *runView) {
		blind := blindReason(rv)
		if blind != "" {
			out.unobs("%s", blind)
		}
		if reports > 0 {
			return
		}
		if (j.sc.Expect.Reports == policy.ReportsOne || j.sc.Expect.Reports == policy.ReportsSome) && blind == "" {
			out.exercised = true
			out.add(j.finding(clause, c.Kind, rv, 0, "", "no report was sent, so no documented field is present", ""))
		} else {
			out.note("no report sent")
		}
	}
	return k
}

func (j *judgement) fieldFormat(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	// seen are the listed fields some report carried: a format check of
	// fields that never came judged nothing (no empty pass).
	seen := map[string]bool{}
	k.end = blindEnd(k)
	k.final = func() {
		var never []string
		for _, name := range c.Fields {
			if !seen[name] {
				never = append(never, name)
			}
		}
		switch {
		case len(never) == len(c.Fields):
			out.exercised = false
			out.note("no report carried %s", strings.Join(never, ", "))
		case len(never) > 0:
			out.note("no report carried %s, so %s not checked", strings.Join(never, ", "), map[bool]string{true: "its format was", false: "their formats were"}[len(never) == 1])
		}
	}
	k.each = func(rv *runView, x *item) {
		if !x.payload() {
			return
		}
		o := x.o
		out.exercised = true
		for _, name := range c.Fields {
			f, ok := j.p.Field(name)
			if !ok || !present(o, f) {
				continue
			}
			seen[name] = true
			for _, prob := range j.formatProblems(o, f) {
				if prob.value != "" && j.interpreted(clause, f.Name, prob.value) {
					continue
				}
				out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, prob.path, prob.msg, prob.evidence))
			}
		}
	}
	return k
}

// problem is one way a value breaks its field's declaration; value is the
// scalar judged (for interpretations), empty for a problem of shape.
type problem struct{ path, msg, evidence, value string }

// formatProblems checks a present field's type, format, pattern and enum.
func (j *judgement) formatProblems(o *observe.Observation, f *policy.Field) []problem {
	var out []problem
	scalars := o.Get(f.Path)
	bad := func(v observe.Value, msg string) {
		out = append(out, problem{v.Path, fmt.Sprintf("%s %s", f.Name, msg), describe([]observe.Value{v}), v.Text})
	}
	switch f.Type {
	case policy.TypeStringList:
		if len(scalars) > 0 || (!o.HasObject(f.Path) && len(o.Get(f.Path+"[*]")) == 0 && !isEmptyList(o, f)) {
			return []problem{{f.Path, f.Name + " is not a list of strings", describeAt(o, f.Path), ""}}
		}
		for _, v := range o.Get(f.Path + "[*]") {
			if v.Kind != observe.KindString {
				bad(v, "holds a "+v.Kind+", not a string")
			}
		}
		return out
	case policy.TypeJSONString:
		if !slices.Contains(o.Embedded, f.Path) {
			return []problem{{f.Path, f.Name + " is not a string holding JSON", describeAt(o, f.Path), ""}}
		}
		return nil
	case policy.TypeTagList:
		return nil
	case policy.TypeObject:
		if len(scalars) > 0 || len(o.Get(f.Path+"[*]")) > 0 {
			return []problem{{f.Path, f.Name + " is not an object", describeAt(o, f.Path), ""}}
		}
		return nil
	}
	if multi(f) {
		for _, v := range scalars {
			out = append(out, j.scalarProblems(f, v)...)
		}
		return out
	}
	if len(scalars) != 1 {
		return []problem{{f.Path, fmt.Sprintf("%s is not a single %s", f.Name, f.Type), describeAt(o, f.Path), ""}}
	}
	return j.scalarProblems(f, scalars[0])
}

// scalarProblems checks one scalar value's type, format, pattern and enum.
func (j *judgement) scalarProblems(f *policy.Field, v observe.Value) []problem {
	var out []problem
	bad := func(v observe.Value, msg string) {
		out = append(out, problem{v.Path, fmt.Sprintf("%s %s", f.Name, msg), describe([]observe.Value{v}), v.Text})
	}
	if f.AllowEmpty && v.Kind == observe.KindNull {
		return out // null is the empty value of any type
	}
	switch f.Type {
	case policy.TypeString:
		if v.Kind != observe.KindString && v.Kind != observe.KindHeader {
			bad(v, "is a "+v.Kind+", not a string")
			return out
		}
	case policy.TypeNumber:
		if _, err := strconv.ParseFloat(v.Text, 64); err != nil || (v.Kind != observe.KindNumber && v.Kind != observe.KindString) {
			bad(v, "is not a number (as a JSON number or a decimal string)")
			return out
		}
	case policy.TypeInteger:
		if _, err := strconv.ParseInt(v.Text, 10, 64); err != nil || (v.Kind != observe.KindNumber && v.Kind != observe.KindString && v.Kind != observe.KindHeader) {
			bad(v, "is not an integer (as a JSON number or a string)")
			return out
		}
	case policy.TypeBoolean:
		if v.Kind != observe.KindBool {
			bad(v, "is not a boolean")
			return out
		}
	}
	if f.AllowEmpty && v.Text == "" {
		return out
	}
	switch f.Format {
	case policy.FormatSHA256Hex:
		if !oracle.IsSHA256Hex(v.Text) {
			bad(v, "is not a lowercase sha256 hex digest")
		}
	case policy.FormatUnixTime:
		if t, err := strconv.ParseFloat(v.Text, 64); err != nil || t <= 0 {
			bad(v, "is not a positive unix time in seconds")
		}
	}
	if f.Pattern != "" {
		re, err := j.regex(f.Pattern)
		if err == nil && !re.MatchString(v.Text) {
			bad(v, fmt.Sprintf("does not match the declared pattern %s", f.Pattern))
		}
	}
	if len(f.Enum) > 0 && !slices.Contains(f.Enum, v.Text) {
		bad(v, fmt.Sprintf("is none of %s", strings.Join(f.Enum, ", ")))
	}
	return out
}

// isEmptyList reports whether the field holds [] (no leaves, no object).
func isEmptyList(o *observe.Observation, f *policy.Field) bool {
	for _, v := range o.Values {
		if v.Kind == observe.KindString || v.Kind == observe.KindNumber || v.Kind == observe.KindBool || v.Kind == observe.KindNull {
			if strings.HasPrefix(v.Path, f.Path+"[") || v.Path == f.Path {
				return false
			}
		}
	}
	return present(o, f)
}
