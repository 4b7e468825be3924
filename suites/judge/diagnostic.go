package judge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Diagnostic compares what a tool's debug mode printed with what it sent
// (policy.Diagnostic): whether the mode sends, and whether the printout is
// the whole truth.
type Diagnostic struct {
	// Requests counts the reports sent in the mode.
	Requests int `json:"requests"`
	// Sent and Printed count the events sent and printed.
	Sent    int `json:"sent"`
	Printed int `json:"printed"`
	// SentNotPrinted counts events sent that the printout does not show
	// (as JSON, keys in any order); PrintedNotSent the reverse.
	SentNotPrinted int `json:"sent_not_printed"`
	PrintedNotSent int `json:"printed_not_sent"`
	// PrintedKinds counts the printed events by kind (policy.EventKind).
	PrintedKinds map[string]int `json:"printed_kinds,omitempty"`
	// Compared is the scenario whose sent events the printout was compared
	// with (policy.Diagnostic.Compare), ComparedSent how many events it
	// sent; KindsNotSent are kinds printed that it never sent, and
	// KindsNotPrinted kinds it sent that were never printed.
	Compared        string   `json:"compared,omitempty"`
	ComparedSent    int      `json:"compared_sent,omitempty"`
	KindsNotSent    []string `json:"kinds_not_sent,omitempty"`
	KindsNotPrinted []string `json:"kinds_not_printed,omitempty"`
	// CompareNote says why the comparison could not be made.
	CompareNote string `json:"compare_note,omitempty"`
}

// CompareWith compares the printed events, by kind, with the events that
// scenario sent.
func (d *Diagnostic) CompareWith(scenario string, sent []any) {
	d.Compared, d.ComparedSent = scenario, len(sent)
	kinds := map[string]bool{}
	for _, e := range sent {
		if m, ok := e.(map[string]any); ok {
			kinds[policy.EventKind(m)] = true
		}
	}
	for k := range d.PrintedKinds {
		if !kinds[k] {
			d.KindsNotSent = append(d.KindsNotSent, k)
		}
	}
	for k := range kinds {
		if _, ok := d.PrintedKinds[k]; !ok {
			d.KindsNotPrinted = append(d.KindsNotPrinted, k)
		}
	}
	sort.Strings(d.KindsNotSent)
	sort.Strings(d.KindsNotPrinted)
}

// comparison is the sentence on the comparison with another scenario.
func (d *Diagnostic) comparison() string {
	switch {
	case d.CompareNote != "":
		return "; not compared with scenario " + d.Compared + ": " + d.CompareNote
	case d.Compared == "":
		return ""
	}
	s := fmt.Sprintf("; scenario %s sent %d event(s)", d.Compared, d.ComparedSent)
	if len(d.KindsNotSent) == 0 && len(d.KindsNotPrinted) == 0 {
		return s + " of the same kinds as it prints"
	}
	if len(d.KindsNotPrinted) > 0 {
		s += fmt.Sprintf("; kinds sent there but never printed: %s", strings.Join(d.KindsNotPrinted, ", "))
	}
	if len(d.KindsNotSent) > 0 {
		s += fmt.Sprintf("; kinds printed but not sent there: %s", strings.Join(d.KindsNotSent, ", "))
	}
	return s
}

// SentEvents are the events (items, a Diagnostic.Items path) of the
// reports to the policy's endpoint host in the run folders dirs.
func SentEvents(p *policy.Policy, dirs []string, items string) ([]any, error) {
	var out []any
	for _, dir := range dirs {
		r, err := OpenRun(dir)
		if err != nil {
			return nil, err
		}
		err = r.EachExchange(func(ex *capture.Exchange) error {
			host := ex.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			var body any
			if !strings.EqualFold(host, p.Endpoint.Host) || json.Unmarshal(ex.Body.Bytes(), &body) != nil {
				return nil
			}
			out = append(out, itemsAt(body, items)...)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("events sent in %s: %w", dir, err)
		}
	}
	return out, nil
}

// String is one sentence for reports.
func (d *Diagnostic) String() string {
	if d.Requests == 0 {
		return fmt.Sprintf("the diagnostic mode sent nothing; it printed %d event(s)", d.Printed) + d.comparison()
	}
	s := fmt.Sprintf("the diagnostic mode sends: %d request(s) with %d event(s); it printed %d", d.Requests, d.Sent, d.Printed)
	switch {
	case d.SentNotPrinted == 0 && d.PrintedNotSent == 0:
		return s + "; what it prints is what it sends"
	case d.SentNotPrinted > 0:
		s += fmt.Sprintf("; %d event(s) sent were not printed", d.SentNotPrinted)
	}
	if d.PrintedNotSent > 0 {
		s += fmt.Sprintf("; %d printed event(s) were not sent (a lost batch, or a printout that differs)", d.PrintedNotSent)
	}
	return s
}

// ansi matches terminal colour sequences, which a debug printout may
// carry around its JSON.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// diagnostic streams the runs and compares the events sent with those the
// runs printed after the policy's marker.
func (j *judgement) diagnostic(d *policy.Diagnostic) (*checker, *Diagnostic) {
	out := &Diagnostic{}
	k := &checker{}
	marker, err := regexp.Compile(d.Marker)
	if err != nil {
		return k, out // the loader rejects it
	}
	sent := map[string]int{}
	printed := map[string]int{}
	k.each = func(_ *runView, x *item) {
		if !x.isReport() || !x.hasBody() {
			return
		}
		out.Requests++
		var body any
		if json.Unmarshal(x.o.Body, &body) != nil {
			return
		}
		for _, it := range itemsAt(body, d.Items) {
			out.Sent++
			sent[canonical(it)]++
		}
	}
	within := d.Printed
	if within == "" {
		within = "$"
	}
	k.end = func(rv *runView) {
		for _, text := range [][]byte{rv.Stdout, rv.Stderr} {
			for _, v := range printedItems(ansi.ReplaceAll(text, nil), marker) {
				for _, it := range itemsAt(v, within) {
					out.Printed++
					printed[canonical(it)]++
					if m, ok := it.(map[string]any); ok {
						if out.PrintedKinds == nil {
							out.PrintedKinds = map[string]int{}
						}
						out.PrintedKinds[policy.EventKind(m)]++
					}
				}
			}
		}
	}
	k.final = func() {
		for s, n := range sent {
			out.SentNotPrinted += max(0, n-printed[s])
		}
		for s, n := range printed {
			out.PrintedNotSent += max(0, n-sent[s])
		}
	}
	return k, out
}

// printedItems decodes the JSON value that follows each match of the
// marker: on the rest of its line ("[telemetry] {...") or on the lines
// after it. A printout that is not JSON after the marker (a debugger's
// inspect output) is skipped.
func printedItems(text []byte, marker *regexp.Regexp) []any {
	var out []any
	lines := bytes.SplitAfter(text, []byte("\n"))
	off := 0
	for _, l := range lines {
		start := off
		off += len(l)
		loc := marker.FindIndex(bytes.TrimRight(l, "\r\n"))
		if loc == nil {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text[start+loc[1]:]))
		var v any
		if dec.Decode(&v) == nil {
			out = append(out, v)
		}
	}
	return out
}

// itemsAt evaluates a Diagnostic.Items path ($, .key, [*]) on a decoded
// JSON value.
func itemsAt(v any, path string) []any {
	cur := []any{v}
	rest := strings.TrimPrefix(path, "$")
	for rest != "" {
		var next []any
		switch {
		case strings.HasPrefix(rest, "[*]"):
			rest = rest[3:]
			for _, c := range cur {
				if a, ok := c.([]any); ok {
					next = append(next, a...)
				}
			}
		case strings.HasPrefix(rest, "."):
			key := rest[1:]
			if i := strings.IndexAny(key, ".["); i >= 0 {
				key = key[:i]
			}
			rest = rest[1+len(key):]
			for _, c := range cur {
				if m, ok := c.(map[string]any); ok {
					if x, ok := m[key]; ok {
						next = append(next, x)
					}
				}
			}
		default:
			return nil
		}
		cur = next
	}
	return cur
}

// canonical is a JSON value's text with its object keys sorted.
func canonical(v any) string {
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	return string(b)
}
