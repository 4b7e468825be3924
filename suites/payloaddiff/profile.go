// Package payloaddiff compares what a tool sent in two runs of the harness
// (two output folders of `run`, e.g. a CI artifact and a local run, or two
// versions of a tool in a matrix): per scenario, the endpoints and
// destinations, the fields (JSON paths with [*] for array indices, JSON
// inside strings opened up by suites/observe), their types and shapes, the
// event kinds, and how many distinct values each field took.
//
// Planted values never reach the output: every object key, event kind and
// endpoint is passed through the canary searcher of the run folder it came
// from (its canaries.json) before it is kept, so a key that is a planted
// dependency name reads `["«dep-name»"]` on both sides and compares equal
// although each run planted a different value. Field values are never kept
// for printing: only their distinct count is.
package payloaddiff

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Output is what one output folder holds, scenario by scenario.
type Output struct {
	Dir       string
	Scenarios map[string]*Profile
}

// Profile summarises what a scenario's runs sent.
type Profile struct {
	// Requests counts the exchanges.
	Requests int
	// Endpoints are "METHOD scheme://host/path" (no query) of HTTP
	// exchanges; Destinations are the hosts of every exchange.
	Endpoints, Destinations map[string]bool
	// Fields maps a normalised path to its types and distinct values.
	Fields map[string]*Field
	// Events are the event kinds, "PATH = VALUE".
	Events map[string]bool
}

// Field is one normalised path.
type Field struct {
	// Types are the JSON types seen ("string", "number", "boolean",
	// "null", "object", "array"; "json-string(object)" for a string
	// holding JSON), or "header"/"query"/"tag" for those paths.
	Types  map[string]bool
	values map[string]bool
}

// Distinct is how many distinct values the field took (0 for objects and
// arrays).
func (f *Field) Distinct() int { return len(f.values) }

func newProfile() *Profile {
	return &Profile{Endpoints: map[string]bool{}, Destinations: map[string]bool{}, Fields: map[string]*Field{}, Events: map[string]bool{}}
}

// Load reads an output folder of `run` (scenario folders beneath it) or one
// scenario's folder (capture.jsonl directly in it, named after the folder).
// Every capture.jsonl beneath a scenario folder (its runs and attempts)
// joins that scenario's profile.
func Load(dir string) (*Output, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("diff: %w (give a run's output folder, the --out of run)", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("diff: %s is not a folder (give a run's output folder, the --out of run)", dir)
	}
	lists := tagLists(dir)
	r := &Output{Dir: dir, Scenarios: map[string]*Profile{}}
	if _, err := os.Stat(filepath.Join(dir, capture.JSONLName)); err == nil {
		p := newProfile()
		if err := p.addDir(dir, dir, lists); err != nil {
			return nil, err
		}
		r.Scenarios[filepath.Base(filepath.Clean(dir))] = p
		return r, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		scDir := filepath.Join(dir, e.Name())
		var runDirs []string
		err := filepath.WalkDir(scDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && d.Name() == capture.JSONLName {
				runDirs = append(runDirs, filepath.Dir(path))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		if len(runDirs) == 0 {
			continue
		}
		p := newProfile()
		for _, rd := range runDirs {
			if err := p.addDir(rd, scDir, lists); err != nil {
				return nil, err
			}
		}
		r.Scenarios[e.Name()] = p
	}
	if len(r.Scenarios) == 0 {
		return nil, fmt.Errorf("diff: %s holds no %s: give a run's output folder (the --out of run) or one scenario's folder", dir, capture.JSONLName)
	}
	return r, nil
}

// tagLists reads the tag lists of the policy saved in the output folder;
// without one (or with one that does not load) tags stay plain strings.
func tagLists(dir string) []observe.TagList {
	p, err := policy.Load(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		return nil
	}
	var out []observe.TagList
	for _, f := range p.TagLists() {
		out = append(out, observe.TagList{Path: f.Path, Sep: f.Sep, Name: f.TagListName()})
	}
	return out
}

// searcher builds the redaction for the run folder rd: its canaries.json,
// else the nearest one up to the scenario folder. No canaries file means
// nothing was planted, so nothing needs redacting.
func searcher(rd, scDir string) (redactor, error) {
	for d := rd; ; d = filepath.Dir(d) {
		path := filepath.Join(d, "canaries.json")
		if _, err := os.Stat(path); err == nil {
			cs, err := canary.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("diff: %s: %w", path, err)
			}
			if len(cs) == 0 {
				return noRedact, nil
			}
			s, err := canary.NewSearcher(cs)
			if err != nil {
				return nil, fmt.Errorf("diff: %s: %w", path, err)
			}
			return memo(s.Redact), nil
		}
		if d == scDir || d == filepath.Dir(d) {
			return noRedact, nil
		}
	}
}

func (p *Profile) addDir(rd, scDir string, lists []observe.TagList) error {
	s, err := searcher(rd, scDir)
	if err != nil {
		return err
	}
	path := filepath.Join(rd, capture.JSONLName)
	err = capture.ScanFile(path, func(ex *capture.Exchange) error {
		return p.add(ex, s, lists)
	})
	if err != nil {
		return fmt.Errorf("diff: %s: %w", path, err)
	}
	return nil
}

// redactor replaces planted values in a text with «role».
type redactor func(string) string

func noRedact(s string) string { return s }

// memo remembers what r made of each text: keys and event kinds repeat in
// every request, and a canary scan per repeat dominated the diff's time.
func memo(r redactor) redactor {
	seen := map[string]string{}
	return func(s string) string {
		if v, ok := seen[s]; ok {
			return v
		}
		v := r(s)
		seen[s] = v
		return v
	}
}

func (p *Profile) add(ex *capture.Exchange, redact redactor, lists []observe.TagList) error {
	p.Requests++
	o, err := observe.Observe(ex, observe.Options{TagLists: lists})
	if err != nil {
		return err
	}
	host := o.Host
	if host == "" {
		host = ex.Host
	}
	p.Destinations[redact(host)] = true
	if ex.Kind == capture.KindHTTP || ex.Kind == capture.KindWebSocket {
		p.Endpoints[redact(fmt.Sprintf("%s %s://%s%s", o.Method, o.Scheme, o.Host, o.Path))] = true
	}
	for _, v := range o.Values {
		switch v.Kind {
		case observe.KindHeader, observe.KindQuery, observe.KindTag:
			// Header names are case-insensitive: one field per name.
			name := v.Path
			if v.Kind == observe.KindHeader {
				name = strings.ToLower(name)
			}
			p.field(redact(name), v.Kind, v.Text)
		}
	}
	if o.IsJSON {
		embedded := map[string]bool{}
		for _, e := range o.Embedded {
			embedded[e] = true
		}
		w := walker{p: p, redact: redact, embedded: embedded}
		w.walk(o.JSON, "$", "$")
	}
	return nil
}

func (p *Profile) field(path, typ, value string) *Field {
	f := p.Fields[path]
	if f == nil {
		f = &Field{Types: map[string]bool{}, values: map[string]bool{}}
		p.Fields[path] = f
	}
	f.Types[typ] = true
	if typ != "object" && typ != "array" && !strings.HasPrefix(typ, "json-string") {
		f.values[value] = true
	}
	return f
}

type walker struct {
	p        *Profile
	redact   redactor
	embedded map[string]bool
}

// walk records node at canonical path (as observe writes it) and
// normalised path norm (array indices as [*], planted keys redacted).
func (w walker) walk(node any, path, norm string) {
	typ := jsonType(node)
	if w.embedded[path] {
		typ = "json-string(" + typ + ")"
	}
	w.p.field(norm, typ, scalarText(node))
	switch n := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if str, ok := n[k].(string); ok && policy.IsEventField(k) {
				w.p.Events[observe.ChildKey(norm, w.redact(k))+" = "+w.redact(str)] = true
			}
			w.walk(n[k], observe.ChildKey(path, k), observe.ChildKey(norm, w.redact(k)))
		}
	case []any:
		for i, e := range n {
			w.walk(e, path+"["+strconv.Itoa(i)+"]", norm+"[*]")
		}
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func scalarText(v any) string {
	switch n := v.(type) {
	case string:
		return n
	case json.Number:
		return string(n)
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(n)
	}
	// Objects and arrays have no value of their own (field skips them).
	return ""
}
