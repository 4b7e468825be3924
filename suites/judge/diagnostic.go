package judge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

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
}

// String is one sentence for reports.
func (d *Diagnostic) String() string {
	if d.Requests == 0 {
		return fmt.Sprintf("the diagnostic mode sent nothing; it printed %d event(s)", d.Printed)
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
	k.end = func(rv *runView) {
		for _, text := range [][]byte{rv.Stdout, rv.Stderr} {
			for _, it := range printedItems(ansi.ReplaceAll(text, nil), marker) {
				out.Printed++
				printed[canonical(it)]++
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
