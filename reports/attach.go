package reports

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Run is what one run folder of a scenario holds: the run's facts and
// every request captured, with timing.
type Run struct {
	// Name is the run's name; empty for a scenario with one run (as in
	// judge.Finding.Run).
	Name string `json:"name,omitempty"`
	// Dir is the run folder, relative to the output folder when inside it.
	Dir string `json:"dir"`
	// Start, MainExit and End are run.json's times; zero when unknown.
	Start    time.Time `json:"start,omitzero"`
	MainExit time.Time `json:"main_exit,omitzero"`
	End      time.Time `json:"end,omitzero"`
	// DurationMS is how long the tool itself ran (start to main exit).
	DurationMS float64 `json:"duration_ms,omitempty"`
	// ExitCode is the tool's exit status; nil when unknown.
	ExitCode *int `json:"exit_code,omitempty"`
	TimedOut bool `json:"timed_out,omitempty"`
	// Killed is how many processes the harness had to kill at the end.
	Killed   int       `json:"killed,omitempty"`
	Requests []Request `json:"requests"`
	// Error says why the folder could not be read; the run's requests are
	// then unknown.
	Error string `json:"error,omitempty"`
}

// Request is one captured exchange, summarised without its body.
type Request struct {
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"`
	// Method and URL are empty for tunnels; URL has planted values
	// redacted.
	Method string `json:"method,omitempty"`
	URL    string `json:"url,omitempty"`
	Host   string `json:"host,omitempty"`
	// OffsetMS is when the request was complete, from the run's start (or
	// from the recording's start when run.json is missing).
	OffsetMS float64 `json:"offset_ms"`
	// Size is the request body's size on the wire.
	Size int64 `json:"size"`
	// Status is the answer's status; 0 when none was given.
	Status int `json:"status,omitempty"`
	// LatencyMS is how long the answer took; 0 when none was given.
	LatencyMS float64 `json:"latency_ms,omitempty"`
	Note      string  `json:"note,omitempty"`
	// Evidence is the request pretty-printed, redacted, one line per
	// value; only for requests a finding cites.
	Evidence []Line `json:"evidence,omitempty"`
}

// Line is one line of a pretty-printed request.
type Line struct {
	Text string `json:"text"`
	// Path is the observe path of the value on this line; empty for
	// punctuation.
	Path string `json:"path,omitempty"`
	// Alt is a second path naming the same value (a tag's LIST[KEY]).
	Alt string `json:"alt,omitempty"`
}

// Cites reports whether the line shows the value at a finding's path, or
// a part of it.
func (l Line) Cites(path string) bool {
	if path == "" || l.Path == "" {
		return false
	}
	for _, p := range []string{l.Path, l.Alt} {
		if p == "" {
			continue
		}
		if p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return true
		}
	}
	return false
}

// Field statuses in the field table.
const (
	FieldDocumentedSent = "documented-sent"
	FieldUndocumented   = "sent-undocumented"
	FieldMissing        = "documented-missing"
	FieldEnvelope       = "envelope"
)

// FieldTable lists every field the tool sent in one scenario beside the
// documented list.
type FieldTable struct {
	Scenario string `json:"scenario"`
	// Reports is how many requests with a JSON body were read.
	Reports int        `json:"reports"`
	Rows    []FieldRow `json:"rows"`
}

// FieldRow is one field: a key of a closed object of the payload, or a tag
// key.
type FieldRow struct {
	Path   string `json:"path"`
	Name   string `json:"name,omitempty"`
	Status string `json:"status"`
	// Sent is in how many of the reports the field was present.
	Sent int `json:"sent"`
	// Doc is the page's words; Note says what a tag repeats.
	Doc  string `json:"doc,omitempty"`
	Note string `json:"note,omitempty"`
}

// Attach reads what the report's run folders hold under out (captures,
// run.json, canaries.json): each scenario's requests with timing, the
// pretty-printed evidence of every request a finding cites, the field
// table of the opt-in scenario and each clause's line in the policy. Run
// folders are recorded relative to out. A folder that cannot be read is
// noted in its Run, never fatal: the verdicts stand without it.
func Attach(r *Report, p *policy.Policy, out string) {
	cited := map[string]map[int64]bool{} // scenario/run -> exchanges cited
	for _, c := range r.Clauses {
		for _, f := range c.Findings {
			if f.Exchange != 0 {
				k := f.Scenario + "/" + f.Run
				if cited[k] == nil {
					cited[k] = map[int64]bool{}
				}
				cited[k][f.Exchange] = true
			}
		}
	}
	lists := tagLists(p)
	var fieldSrc []*observe.Observation
	fieldScenario := fieldScenario(r, p)
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		sc, err := p.Scenario(s.Name)
		if err != nil {
			continue
		}
		runs := sc.RunsOf()
		s.Runs = nil
		for j, d := range s.Dirs {
			run := Run{Dir: relTo(out, d), Requests: []Request{}}
			if len(sc.Runs) > 0 && j < len(runs) {
				run.Name = runs[j].Name
			}
			dir := d
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(out, dir)
			}
			obs := run.load(dir, p, lists, cited[s.Name+"/"+run.Name])
			if s.Name == fieldScenario {
				fieldSrc = append(fieldSrc, obs...)
			}
			s.Runs = append(s.Runs, run)
		}
		for j := range s.Dirs {
			s.Dirs[j] = relTo(out, s.Dirs[j])
		}
	}
	if fieldScenario != "" {
		r.Fields = fieldTable(p, fieldScenario, fieldSrc)
	}
	lines := clauseLines(filepath.Join(out, "policy.yaml"))
	if len(lines) == 0 && p.File != "" {
		lines = clauseLines(p.File)
	}
	for i := range r.Clauses {
		r.Clauses[i].Line = lines[r.Clauses[i].ID]
	}
}

// load fills the run from dir and returns the observations of its requests
// with a JSON body.
func (run *Run) load(dir string, p *policy.Policy, lists []observe.TagList, cited map[int64]bool) []*observe.Observation {
	jr, err := judge.LoadRun(dir)
	if err != nil {
		run.Error = err.Error()
		return nil
	}
	red := newRedactor(jr.Canaries, p)
	var base time.Time
	if f := jr.Facts; f != nil {
		run.Start, run.MainExit, run.End = f.Start, f.MainExit, f.End
		run.DurationMS = ms(f.MainExit.Sub(f.Start))
		code := f.ExitCode
		run.ExitCode = &code
		run.TimedOut, run.Killed = f.TimedOut, len(f.Killed)
		base = f.Start
	}
	var obs []*observe.Observation
	for _, ex := range jr.Exchanges {
		rq := Request{Seq: ex.Seq, Kind: string(ex.Kind), Method: ex.Method, URL: red.text(ex.URL), Host: red.text(ex.Host),
			Size: ex.Body.Size, Note: red.text(ex.Note)}
		if rq.Kind == "" {
			rq.Kind = string(capture.KindHTTP)
		}
		if base.IsZero() {
			rq.OffsetMS = ms(time.Duration(ex.Mono))
		} else {
			rq.OffsetMS = ms(ex.Time.Sub(base))
		}
		if ex.Response != nil {
			rq.Status = ex.Response.Status
			if !ex.Response.Time.IsZero() {
				rq.LatencyMS = ms(ex.Response.Time.Sub(ex.Time))
			}
		}
		o, oerr := observe.Observe(ex, observe.Options{TagLists: lists})
		if oerr == nil && o.IsJSON {
			obs = append(obs, o)
		}
		if cited[ex.Seq] {
			rq.Evidence = pretty(ex, o, red)
		}
		run.Requests = append(run.Requests, rq)
	}
	return obs
}

// ms is d in milliseconds, rounded to a tenth.
func ms(d time.Duration) float64 {
	return float64(d.Round(100*time.Microsecond)) / float64(time.Millisecond)
}

// relTo makes path relative to out when it lies inside out.
func relTo(out, path string) string {
	if !filepath.IsAbs(path) {
		return filepath.ToSlash(path)
	}
	ao, err := filepath.Abs(out)
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(ao, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.ToSlash(rel)
}

func tagLists(p *policy.Policy) []observe.TagList {
	var out []observe.TagList
	for _, f := range p.TagLists() {
		out = append(out, observe.TagList{Path: f.Path, Sep: f.Sep, Name: lastKey(f.Path)})
	}
	return out
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// fieldScenario picks the scenario whose reports the field table shows:
// the one named "opt-in", else the first in the report that expects one
// report per run.
func fieldScenario(r *Report, p *policy.Policy) string {
	first := ""
	for _, s := range r.Scenarios {
		sc, err := p.Scenario(s.Name)
		if err != nil || s.Error != "" {
			continue
		}
		if s.Name == "opt-in" {
			return s.Name
		}
		if first == "" && sc.Expect.Reports == policy.ReportsOne {
			first = s.Name
		}
	}
	return first
}

// fieldTable lists the keys of every closed object and every tag key the
// reports hold beside the policy's fields.
func fieldTable(p *policy.Policy, scenario string, obs []*observe.Observation) *FieldTable {
	t := &FieldTable{Scenario: scenario, Reports: len(obs), Rows: []FieldRow{}}
	byPath := map[string]*policy.Field{}
	for i := range p.Fields {
		byPath[p.Fields[i].Path] = &p.Fields[i]
	}
	for _, closed := range p.Payload.Closed {
		var order []string
		count := map[string]int{}
		for _, o := range obs {
			seen := map[string]bool{}
			for _, k := range o.Keys(closed) {
				if seen[k] {
					continue
				}
				seen[k] = true
				if count[k] == 0 {
					order = append(order, k)
				}
				count[k]++
			}
		}
		for _, k := range order {
			path := childPath(closed, k)
			row := FieldRow{Path: path, Status: FieldUndocumented, Sent: count[k]}
			if f, ok := byPath[path]; ok {
				row.Name, row.Doc, row.Status = f.Name, f.Doc, FieldDocumentedSent
				if f.Envelope {
					row.Status = FieldEnvelope
				}
			}
			t.Rows = append(t.Rows, row)
		}
		for _, f := range p.Fields {
			if f.Envelope || parentOf(f.Path) != closed || count[lastKey(f.Path)] > 0 {
				continue
			}
			t.Rows = append(t.Rows, FieldRow{Path: f.Path, Name: f.Name, Status: FieldMissing, Doc: f.Doc})
		}
	}
	for _, f := range p.TagLists() {
		name := lastKey(f.Path)
		declared := map[string]policy.Tag{}
		for _, tg := range f.Tags {
			declared[tg.Key] = tg
		}
		var order []string
		count := map[string]int{}
		for _, o := range obs {
			seen := map[string]bool{}
			for _, tg := range o.Tags(name) {
				if seen[tg.Key] {
					continue
				}
				seen[tg.Key] = true
				if count[tg.Key] == 0 {
					order = append(order, tg.Key)
				}
				count[tg.Key]++
			}
		}
		for _, k := range order {
			row := FieldRow{Path: name + "[" + k + "]", Status: FieldUndocumented, Sent: count[k]}
			if tg, ok := declared[k]; ok {
				row.Status, row.Note = FieldDocumentedSent, tagNote(tg)
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return t
}

func tagNote(t policy.Tag) string {
	switch {
	case t.Const != "":
		return "constant " + t.Const
	case t.Derive != nil:
		return "repeats " + t.Derive.From + " (" + t.Derive.Rule + ")"
	}
	return ""
}

func parentOf(path string) string {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return "$"
	}
	return path[:i]
}

// childPath is the observe path of member key of the object at parent.
func childPath(parent, key string) string {
	ident := key != ""
	for i, c := range key {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			ident = false
			break
		}
	}
	if ident {
		return parent + "." + key
	}
	return parent + "[" + quote(key) + "]"
}

// clauseLines finds the line of each "- id: CLAUSE" in a policy file; nil
// when the file cannot be read.
func clauseLines(path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	inClauses := false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") && strings.TrimSpace(line) != "" {
			inClauses = strings.HasPrefix(line, "clauses:")
			continue
		}
		t := strings.TrimSpace(line)
		if inClauses && strings.HasPrefix(t, "- id:") {
			id := strings.Trim(strings.TrimSpace(strings.TrimPrefix(t, "- id:")), `"'`)
			if _, dup := out[id]; !dup {
				out[id] = n
			}
		}
	}
	return out
}

// scenarioOrder sorts names in the policy's scenario order.
func scenarioOrder(p *policy.Policy, names []string) {
	idx := map[string]int{}
	for i, s := range p.Scenarios {
		idx[s.Name] = i
	}
	slices.SortStableFunc(names, func(a, b string) int { return idx[a] - idx[b] })
}
