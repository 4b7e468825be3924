package judge

import (
	"cmp"
	"slices"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// The field table: every key seen in the reports, counted per run, beside the policy's declaration.

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

// FieldCounter builds the field table while the captures stream: per
// closed object and per tag list, in how many reports each key was sent
// and where it was first seen, so that the rows keep the order of the
// first report that sent each key whatever order the exchanges arrive in.
type FieldCounter struct {
	p       *policy.Policy
	reports int
	// runs counts the runs begun, so that keys seen in an earlier run sort
	// first (sequence numbers restart in every run).
	runs   int
	closed []keyCounts // one per p.Payload.Closed
	tags   []keyCounts // one per tagFields
	// tagFields are p.TagLists().
	tagFields []*policy.Field
}

type keyCounts struct {
	count map[string]int
	first map[string]firstSeen
}

// firstSeen orders keys: the run, the exchange and the key's position in
// it where it was first sent.
type firstSeen struct {
	run int
	seq int64
	idx int
}

func (a firstSeen) compare(b firstSeen) int {
	if c := cmp.Compare(a.run, b.run); c != 0 {
		return c
	}
	if c := cmp.Compare(a.seq, b.seq); c != 0 {
		return c
	}
	return cmp.Compare(a.idx, b.idx)
}

// NewFieldCounter counts the fields of p for a field table.
func NewFieldCounter(p *policy.Policy) *FieldCounter {
	fc := &FieldCounter{p: p, tagFields: p.TagLists()}
	fc.closed = make([]keyCounts, len(p.Payload.Closed))
	fc.tags = make([]keyCounts, len(fc.tagFields))
	for _, kcs := range [][]keyCounts{fc.closed, fc.tags} {
		for i := range kcs {
			kcs[i] = keyCounts{count: map[string]int{}, first: map[string]firstSeen{}}
		}
	}
	return fc
}

// add counts one report (a request with a JSON body).
func (fc *FieldCounter) add(seq int64, o *observe.Observation) {
	fc.reports++
	for i, closed := range fc.p.Payload.Closed {
		fc.closed[i].add(fc.runs, seq, o.Keys(closed))
	}
	for i, f := range fc.tagFields {
		tgs := o.Tags(lastKey(f.Path))
		keys := make([]string, len(tgs))
		for j, tg := range tgs {
			keys[j] = tg.Key
		}
		fc.tags[i].add(fc.runs, seq, keys)
	}
}

func (kc *keyCounts) add(run int, seq int64, keys []string) {
	seen := map[string]bool{}
	for idx, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		at := firstSeen{run, seq, idx}
		if f, ok := kc.first[k]; !ok || at.compare(f) < 0 {
			kc.first[k] = at
		}
		kc.count[k]++
	}
}

// order lists the keys in the order they were first sent.
func (kc *keyCounts) order() []string {
	out := make([]string, 0, len(kc.first))
	for k := range kc.first {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int { return kc.first[a].compare(kc.first[b]) })
	return out
}

// Table lists the keys of every closed object and every tag key the
// reports held beside the policy's fields.
func (fc *FieldCounter) Table(scenario string) *FieldTable {
	p := fc.p
	t := &FieldTable{Scenario: scenario, Reports: fc.reports, Rows: []FieldRow{}}
	byPath := map[string]*policy.Field{}
	for i := range p.Fields {
		byPath[p.Fields[i].Path] = &p.Fields[i]
	}
	for i, closed := range p.Payload.Closed {
		count := fc.closed[i].count
		for _, k := range fc.closed[i].order() {
			path := observe.ChildKey(closed, k)
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
	for i, f := range fc.tagFields {
		name := lastKey(f.Path)
		declared := map[string]policy.Tag{}
		for _, tg := range f.Tags {
			declared[tg.Key] = tg
		}
		count := fc.tags[i].count
		for _, k := range fc.tags[i].order() {
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

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func parentOf(path string) string {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return "$"
	}
	return path[:i]
}
