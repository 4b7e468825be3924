package differential

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Triple is one run of a scenario (one of its named runs) in the three
// versions a differential compares.
type Triple struct {
	// Name is the run's name; empty for a scenario with one run.
	Name string
	// Base is the scenario's own run, Same the rerun with identical
	// inputs, Replaced the rerun with every planted value replaced.
	Base, Same, Replaced Folder
	// Roles are the planted roles that Replaced changed, for the finding.
	Roles []string
	// Attribution names the roles that move a position, by key
	// "<run>\x00<position>" (the runner's bisection); a position it does
	// not name is put down to any of Roles.
	Attribution map[string][]string
}

// MovedKey is the key of a position of run in Moved and Run.Attribution.
func MovedKey(run, pos string) string { return run + "\x00" + pos }

// movedPrefix starts the message of a position that moved with the
// planted values.
const movedPrefix = "differential: "

// Moved lists the positions, keyed by MovedKey, that moved with the planted
// values without a declaration: the positions whose roles the runner's
// bisection names.
func Moved(p *policy.Policy, runs []Triple, opts Options) ([]string, error) {
	d, err := Compare(p, runs, opts)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range d.Findings {
		if strings.HasPrefix(f.Message, movedPrefix) {
			out = append(out, MovedKey(f.Run, f.Path))
		}
	}
	return out, nil
}

// Options shape a comparison.
type Options struct {
	// BestEffort is set for a scenario whose tool delivers on a best-effort
	// basis (policy.Delivery): a run may lose some of its reports, so a
	// position is compared only where a value is missing from neither
	// side's set of the other (one set holding the other is no change).
	BestEffort bool
}

// Compare aligns the value positions of each run's three folders and
// judges every position that moved against the policy's declarations.
func Compare(p *policy.Policy, runs []Triple, opts Options) (*judge.Differential, error) {
	d := &judge.Differential{}
	ex := newExplainer(p)
	lists := judge.TagLists(p)
	for _, r := range runs {
		var snaps [3]snapshot
		for i, f := range []Folder{r.Base, r.Same, r.Replaced} {
			s, err := load(f, lists)
			if err != nil {
				return nil, err
			}
			snaps[i] = s
		}
		compareRun(d, ex, r, snaps[0], snaps[1], snaps[2], opts)
	}
	return d, nil
}

func compareRun(d *judge.Differential, ex *explainer, r Triple, base, same, repl snapshot, opts Options) {
	equal := equal
	if opts.BestEffort {
		equal = nested
	}
	keys := map[string]bool{}
	for _, s := range []snapshot{base, same, repl} {
		for k := range s {
			keys[k] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, pos := range sorted {
		b, s, x := base[pos], same[pos], repl[pos]
		d.Compared++
		varies, moves := !equal(b, s), !equal(b, x)
		if !varies && !moves {
			continue
		}
		perRun, derived := ex.explain(pos)
		switch {
		case perRun:
			d.Declared++
		case varies:
			d.Findings = append(d.Findings, judge.Finding{Run: r.Name, Path: pos,
				Message:  "unexplained variation: the value differs between two runs with identical inputs, and the policy declares no field here varies: per-run",
				Evidence: sideBySide(b, s, x)})
		case derived:
			d.Declared++
		default:
			roles := "the planted values are"
			if named := r.Attribution[MovedKey(r.Name, pos)]; len(named) == 1 {
				roles = "the value of the planted role " + named[0] + " is"
			} else if len(named) > 1 {
				roles = "the value of one of the planted roles " + strings.Join(named, ", ") + " is"
			} else if len(r.Roles) > 0 {
				roles = "the value of one of the planted roles " + strings.Join(r.Roles, ", ") + " is"
			}
			d.Findings = append(d.Findings, judge.Finding{Run: r.Name, Path: pos,
				Message:  movedPrefix + "the value repeats with identical inputs but changes when " + roles + " replaced, and the policy declares no id or derived field here",
				Evidence: sideBySide(b, s, x)})
		}
	}
}

// nested reports whether one set holds the other.
func nested(a, b map[string]bool) bool {
	return subset(a, b) || subset(b, a)
}

func subset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func equal(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// sideBySide shows a position's values in the three runs, already
// redacted (planted values are «role»), each shortened.
func sideBySide(b, s, x map[string]bool) string {
	return "base " + show(b) + " | identical inputs " + show(s) + " | replaced values " + show(x)
}

func show(set map[string]bool) string {
	if len(set) == 0 {
		return "(absent)"
	}
	vals := make([]string, 0, len(set))
	for v := range set {
		vals = append(vals, v)
	}
	sort.Strings(vals)
	more := ""
	if len(vals) > 2 {
		more = fmt.Sprintf(" and %d more", len(vals)-2)
		vals = vals[:2]
	}
	for i, v := range vals {
		if len(v) > maxShown {
			v = v[:maxShown] + "…"
		}
		vals[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(vals, ", ") + more
}

// explainer maps a position to the policy's declarations about it.
type explainer struct {
	p *policy.Policy
	// fields are the policy's fields with their paths as patterns over
	// position paths (indexes folded).
	fields []fieldPattern
	ids    map[string]bool
}

type fieldPattern struct {
	re *regexp.Regexp
	f  *policy.Field
}

func newExplainer(p *policy.Policy) *explainer {
	ex := &explainer{p: p, ids: map[string]bool{}}
	if p.IDs != nil {
		for _, id := range p.IDs.Fields {
			ex.ids[id.Field] = true
		}
	}
	for i := range p.Fields {
		f := &p.Fields[i]
		if f.Type == policy.TypeTagList {
			name := f.TagListName()
			for j := range f.Tags {
				t := &f.Tags[j]
				if t.Derive == nil {
					continue
				}
				if src, ok := p.Field(t.Derive.From); ok {
					ex.fields = append(ex.fields, fieldPattern{re: exactRe(observe.TagPath(name, t.Key)), f: src})
				}
			}
			continue
		}
		ex.fields = append(ex.fields, fieldPattern{re: pathRe(f.Path), f: f})
	}
	return ex
}

func exactRe(s string) *regexp.Regexp { return regexp.MustCompile("^" + regexp.QuoteMeta(s) + "$") }

// pathRe turns a field path into a pattern over folded position paths:
// [*] matches a folded index, .* any one member, header:NAME any case.
func pathRe(path string) *regexp.Regexp {
	if name, ok := strings.CutPrefix(path, "header:"); ok {
		return regexp.MustCompile("^(?i)header:" + regexp.QuoteMeta(name) + "$")
	}
	q := regexp.QuoteMeta(fold(path))
	q = strings.ReplaceAll(q, `\.\*`, `(?:\.[^.\[]+|\["[^"]*"\])`)
	return regexp.MustCompile("^" + q + "$")
}

// explain says whether the position's field is declared to vary per run,
// and whether it is declared derived from planted values (an id, or a
// value derived from one).
func (ex *explainer) explain(pos string) (perRun, derived bool) {
	// A position is "<kind> <method> <host> <path>"; the group alone, a
	// URL path segment or a DNS name has no field.
	parts := strings.SplitN(pos, " ", 4)
	if len(parts) < 4 {
		return false, false
	}
	path := parts[3]
	if i := strings.Index(path, " {"); i >= 0 {
		path = path[:i] // an event's kind qualifies the position, not the field
	}
	for _, fp := range ex.fields {
		if fp.re.MatchString(path) {
			return ex.follow(fp.f, map[string]bool{})
		}
	}
	return false, false
}

// follow walks a field's derive chain: a value derived from a per-run
// field varies with it, one derived from an id moves with the planted
// values.
func (ex *explainer) follow(f *policy.Field, seen map[string]bool) (perRun, derived bool) {
	if seen[f.Name] {
		return false, false
	}
	seen[f.Name] = true
	if f.Varies == policy.VariesPerRun {
		perRun = true
	}
	if ex.ids[f.Name] {
		derived = true
	}
	if f.Derive != nil {
		if src, ok := ex.p.Field(f.Derive.From); ok {
			p2, d2 := ex.follow(src, seen)
			perRun, derived = perRun || p2, derived || d2
		}
	}
	return perRun, derived
}
