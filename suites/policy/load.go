package policy

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one defect of a policy file, located and explained.
type Problem struct {
	File   string
	Line   int
	Column int
	// Field is the path of the offending value, e.g. clauses[3].checks[0].kind.
	Field string
	// Message says what is wrong.
	Message string
	// Allowed says what would be accepted; empty when obvious.
	Allowed string
	// Example is a correct value; empty when none applies.
	Example string
}

// String formats the problem as FILE:LINE:COL: FIELD: MESSAGE; allowed: ...; example: ...
func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", p.File, p.Line, p.Column)
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	if p.Allowed != "" {
		b.WriteString("; allowed: " + p.Allowed)
	}
	if p.Example != "" {
		b.WriteString("; example: " + p.Example)
	}
	return b.String()
}

// LoadError is returned by Load and Parse when the policy is not valid.
type LoadError struct {
	File     string
	Problems []Problem
}

// Error lists every problem on its own line.
func (e *LoadError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	n := len(e.Problems)
	word := "problems"
	if n == 1 {
		word = "problem"
	}
	lines = append(lines, fmt.Sprintf("invalid policy %s (%d %s):", e.File, n, word))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates the policy at path.
func Load(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return Parse(b, path)
}

// Parse validates a policy held in memory; name is used in error messages.
func Parse(data []byte, name string) (*Policy, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &LoadError{File: name, Problems: []Problem{syntaxProblem(name, err)}}
	}
	// A second document would be silently ignored by a plain decode.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &LoadError{File: name, Problems: []Problem{{File: name, Line: extra.Line, Column: extra.Column,
			Message: "a second YAML document follows the policy", Allowed: "one document per policy file", Example: "remove the '---' line"}}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	w := &walker{file: name, nodes: map[string]*yaml.Node{}}
	w.walk(root, reflect.TypeFor[Policy](), "", meta{example: "version: 1"})
	if len(w.probs) > 0 {
		return nil, &LoadError{File: name, Problems: w.probs}
	}
	var p Policy
	if err := root.Decode(&p); err != nil {
		// The walk checked every shape and type, so this is a gap in it.
		return nil, &LoadError{File: name, Problems: []Problem{syntaxProblem(name, err)}}
	}
	p.File = name
	v := &validator{p: &p, w: w}
	v.validate()
	if len(w.probs) > 0 {
		sort.SliceStable(w.probs, func(i, j int) bool {
			a, b := w.probs[i], w.probs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		return nil, &LoadError{File: name, Problems: w.probs}
	}
	return &p, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

func syntaxProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{File: file, Line: 1, Column: 1, Message: "not valid YAML: " + msg,
		Allowed: "a YAML mapping", Example: "version: 1"}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			p.Column, _ = strconv.Atoi(m[2])
		}
	}
	return p
}

// meta is what a struct tag says about a field, for messages.
type meta struct {
	allowed string
	example string
}

// walker checks the YAML tree against the Go types before decoding, so
// every unknown key, missing key and wrong type gets a position; yaml.v3's
// own errors carry only a line.
type walker struct {
	file string
	// visits counts nodes walked, aliases expanded: a bound against alias
	// bombs and cycles, which yaml.Node keeps unexpanded.
	visits int
	probs  []Problem
	// nodes maps each value's field path to its node, for the positions
	// of semantic errors.
	nodes map[string]*yaml.Node
}

func (w *walker) add(n *yaml.Node, path, msg string, m meta) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	w.probs = append(w.probs, Problem{File: w.file, Line: line, Column: col, Field: path, Message: msg, Allowed: m.allowed, Example: m.example})
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a string"
	}
	return "an alias"
}

// maxVisits bounds the walk; a real policy has a few thousand nodes.
const maxVisits = 200_000

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string, m meta) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if w.visits++; w.visits > maxVisits {
		if w.visits == maxVisits+1 {
			w.add(n, path, fmt.Sprintf("document too large or recursive (more than %d values once aliases are expanded)", maxVisits), meta{allowed: "a policy without recursive or exploding aliases"})
		}
		return
	}
	w.nodes[path] = n
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			w.add(n, path, "want a string, got "+kindName(n), m)
			return
		}
		v := reflect.New(t).Interface().(encoding.TextUnmarshaler)
		if err := v.UnmarshalText([]byte(n.Value)); err != nil {
			w.add(n, path, err.Error(), m)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path, m)
	case reflect.Struct:
		w.walkStruct(n, t, path, m)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.add(n, path, "want a list, got "+kindName(n), m)
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), m)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.add(n, path, "want a mapping, got "+kindName(n), m)
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				w.add(k, path, "want a string key, got "+kindName(k), m)
				continue
			}
			if seen[k.Value] {
				w.add(k, join(path, k.Value), "duplicate key", m)
				continue
			}
			seen[k.Value] = true
			w.walk(v, t.Elem(), join(path, k.Value), m)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			w.add(n, path, "want a string, got "+kindName(n)+" (quote it)", m)
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			w.add(n, path, "want an integer, got "+kindName(n), m)
			return
		}
		if _, err := strconv.Atoi(n.Value); err != nil {
			w.add(n, path, "integer out of range", m)
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			w.add(n, path, "want true or false, got "+kindName(n), m)
		}
	default:
		w.add(n, path, "unsupported type "+t.String()+" (a bug in the policy model)", m)
	}
}

type structField struct {
	key      string
	index    int
	required bool
	meta     meta
}

func fieldsOf(t reflect.Type) []structField {
	var out []structField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		out = append(out, structField{key: name, index: i, required: !strings.Contains(opts, "omitempty"),
			meta: meta{allowed: f.Tag.Get("allowed"), example: name + ": " + f.Tag.Get("example")}})
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *walker) walkStruct(n *yaml.Node, t reflect.Type, path string, m meta) {
	if n.Kind != yaml.MappingNode {
		w.add(n, path, "want a mapping, got "+kindName(n), m)
		return
	}
	fields := fieldsOf(t)
	byKey := map[string]structField{}
	keys := make([]string, 0, len(fields))
	for _, f := range fields {
		byKey[f.key] = f
		keys = append(keys, f.key)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.add(k, path, "want a key, got "+kindName(k), meta{allowed: strings.Join(keys, ", ")})
			continue
		}
		f, ok := byKey[k.Value]
		if !ok {
			w.add(k, join(path, k.Value), "unknown key", meta{allowed: strings.Join(keys, ", "), example: exampleOf(fields)})
			continue
		}
		if seen[k.Value] {
			w.add(k, join(path, k.Value), "duplicate key", f.meta)
			continue
		}
		seen[k.Value] = true
		w.nodes["key:"+join(path, k.Value)] = k
		w.walk(v, t.Field(f.index).Type, join(path, k.Value), f.meta)
	}
	for _, f := range fields {
		if f.required && !seen[f.key] {
			w.add(n, join(path, f.key), "missing required key", f.meta)
		}
	}
}

func exampleOf(fields []structField) string {
	for _, f := range fields {
		if f.required {
			return f.meta.example
		}
	}
	if len(fields) > 0 {
		return fields[0].meta.example
	}
	return ""
}

// errNotFound is returned by the lookups below.
var errNotFound = errors.New("not found")

// Clause returns the clause with the given id.
func (p *Policy) Clause(id string) (*Clause, error) {
	for i := range p.Clauses {
		if p.Clauses[i].ID == id {
			return &p.Clauses[i], nil
		}
	}
	return nil, fmt.Errorf("clause %q: %w in policy %s", id, errNotFound, p.File)
}

// Scenario returns the scenario with the given name.
func (p *Policy) Scenario(name string) (*Scenario, error) {
	for i := range p.Scenarios {
		if p.Scenarios[i].Name == name {
			return &p.Scenarios[i], nil
		}
	}
	names := make([]string, len(p.Scenarios))
	for i, s := range p.Scenarios {
		names[i] = s.Name
	}
	return nil, fmt.Errorf("scenario %q %w in policy %s (known: %s)", name, errNotFound, p.File, strings.Join(names, ", "))
}

// Field returns the field with the given name.
func (p *Policy) Field(name string) (*Field, bool) {
	for i := range p.Fields {
		if p.Fields[i].Name == name {
			return &p.Fields[i], true
		}
	}
	return nil, false
}

// StateFile returns the state file with the given name.
func (p *Policy) StateFile(name string) (*StateFile, bool) {
	for i := range p.State {
		if p.State[i].Name == name {
			return &p.State[i], true
		}
	}
	return nil, false
}

// CanaryPlan returns the plan of a canary role.
func (p *Policy) CanaryPlan(role string) (*CanaryPlan, bool) {
	for i := range p.Canaries {
		if p.Canaries[i].Role == role {
			return &p.Canaries[i], true
		}
	}
	return nil, false
}

// RunsOf returns the scenario's runs, with the scenario's sink filled in
// where a run does not override it; a scenario without runs has one run
// named "run" in set "a".
func (s *Scenario) RunsOf() []Run {
	if len(s.Runs) == 0 {
		sink := s.Sink
		return []Run{{Name: "run", Set: "a", Sink: &sink}}
	}
	out := make([]Run, len(s.Runs))
	for i, r := range s.Runs {
		out[i] = r
		if r.Sink == nil {
			sink := s.Sink
			out[i].Sink = &sink
		}
	}
	return out
}

// Exercises reports whether the scenario exercises the clause.
func (s *Scenario) Exercises(id string) bool {
	for _, c := range s.Clauses {
		if c == id {
			return true
		}
	}
	return false
}

// TagLists returns the tag-list fields, for building observations.
// TagListName is the name a tag-list field's tags go by in tag paths
// (tags[goal]): the last member name of its path ($.a.tags → tags).
func (f *Field) TagListName() string {
	if i := strings.LastIndexByte(f.Path, '.'); i >= 0 {
		return f.Path[i+1:]
	}
	return f.Path
}

func (p *Policy) TagLists() []*Field {
	var out []*Field
	for i := range p.Fields {
		if p.Fields[i].Type == TypeTagList {
			out = append(out, &p.Fields[i])
		}
	}
	return out
}
