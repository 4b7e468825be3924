package payloaddiff

import (
	"sort"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Diff is what changed from run A to run B.
type Diff struct {
	A string `json:"a"`
	B string `json:"b"`
	// EventFields are the member names whose values are event kinds.
	EventFields []string       `json:"event_fields"`
	Scenarios   []ScenarioDiff `json:"scenarios"`
}

// ScenarioDiff is one scenario's changes. Only is "a" or "b" when the
// scenario ran on one side only (then nothing else is compared).
type ScenarioDiff struct {
	Scenario            string        `json:"scenario"`
	Only                string        `json:"only,omitempty"`
	Requests            [2]int        `json:"requests"`
	EndpointsAdded      []string      `json:"endpoints_added,omitempty"`
	EndpointsRemoved    []string      `json:"endpoints_removed,omitempty"`
	DestinationsAdded   []string      `json:"destinations_added,omitempty"`
	DestinationsRemoved []string      `json:"destinations_removed,omitempty"`
	FieldsAdded         []string      `json:"fields_added,omitempty"`
	FieldsRemoved       []string      `json:"fields_removed,omitempty"`
	TypesChanged        []TypeChange  `json:"types_changed,omitempty"`
	EventsAdded         []string      `json:"events_added,omitempty"`
	EventsRemoved       []string      `json:"events_removed,omitempty"`
	Values              []ValueChange `json:"values,omitempty"`
}

// TypeChange is a field present on both sides whose types differ (a string
// that became an object is a change of shape).
type TypeChange struct {
	Field string   `json:"field"`
	A     []string `json:"a"`
	B     []string `json:"b"`
}

// ValueChange is a field whose number of distinct values changed; the
// values themselves are never shown.
type ValueChange struct {
	Field string `json:"field"`
	A     int    `json:"a"`
	B     int    `json:"b"`
}

// Empty reports whether nothing changed in the scenario.
func (d *ScenarioDiff) Empty() bool {
	return d.Only == "" && len(d.EndpointsAdded)+len(d.EndpointsRemoved)+len(d.DestinationsAdded)+len(d.DestinationsRemoved)+
		len(d.FieldsAdded)+len(d.FieldsRemoved)+len(d.TypesChanged)+len(d.EventsAdded)+len(d.EventsRemoved)+len(d.Values) == 0
}

// Empty reports whether nothing changed in any scenario.
func (d *Diff) Empty() bool {
	for i := range d.Scenarios {
		if !d.Scenarios[i].Empty() {
			return false
		}
	}
	return true
}

// Dirs loads both folders and compares them.
func Dirs(a, b string) (*Diff, error) {
	ra, err := Load(a)
	if err != nil {
		return nil, err
	}
	rb, err := Load(b)
	if err != nil {
		return nil, err
	}
	return Compare(ra, rb), nil
}

// Compare compares two loaded runs, scenario by scenario (sorted by name).
func Compare(a, b *Output) *Diff {
	d := &Diff{A: a.Dir, B: b.Dir, EventFields: policy.EventFields()}
	names := map[string]bool{}
	for n := range a.Scenarios {
		names[n] = true
	}
	for n := range b.Scenarios {
		names[n] = true
	}
	for _, n := range sorted(names) {
		pa, pb := a.Scenarios[n], b.Scenarios[n]
		sd := ScenarioDiff{Scenario: n}
		switch {
		case pb == nil:
			sd.Only, sd.Requests[0] = "a", pa.Requests
		case pa == nil:
			sd.Only, sd.Requests[1] = "b", pb.Requests
		default:
			sd = compareProfiles(n, pa, pb)
		}
		d.Scenarios = append(d.Scenarios, sd)
	}
	return d
}

func compareProfiles(name string, a, b *Profile) ScenarioDiff {
	sd := ScenarioDiff{Scenario: name, Requests: [2]int{a.Requests, b.Requests}}
	sd.EndpointsAdded, sd.EndpointsRemoved = setDiff(a.Endpoints, b.Endpoints)
	sd.DestinationsAdded, sd.DestinationsRemoved = setDiff(a.Destinations, b.Destinations)
	sd.EventsAdded, sd.EventsRemoved = setDiff(a.Events, b.Events)
	fa, fb := map[string]bool{}, map[string]bool{}
	for k := range a.Fields {
		fa[k] = true
	}
	for k := range b.Fields {
		fb[k] = true
	}
	sd.FieldsAdded, sd.FieldsRemoved = setDiff(fa, fb)
	for _, k := range sorted(fa) {
		x, y := a.Fields[k], b.Fields[k]
		if y == nil {
			continue
		}
		ta, tb := sorted(x.Types), sorted(y.Types)
		if strings.Join(ta, ",") != strings.Join(tb, ",") {
			sd.TypesChanged = append(sd.TypesChanged, TypeChange{Field: k, A: ta, B: tb})
		}
		// A random id or a duration takes one new value per run: only a
		// change in how many values a field takes says something. A field
		// that became an object has no values: its type change says it.
		if x.Distinct() != y.Distinct() && x.Distinct() > 0 && y.Distinct() > 0 {
			sd.Values = append(sd.Values, ValueChange{Field: k, A: x.Distinct(), B: y.Distinct()})
		}
	}
	return sd
}

// setDiff returns what b has that a lacks, and what a has that b lacks.
func setDiff(a, b map[string]bool) (added, removed []string) {
	for _, k := range sorted(b) {
		if !a[k] {
			added = append(added, k)
		}
	}
	for _, k := range sorted(a) {
		if !b[k] {
			removed = append(removed, k)
		}
	}
	return added, removed
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
