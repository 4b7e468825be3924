package payloaddiff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats are the output formats Write knows.
var Formats = []string{"text", "md", "json"}

// Write writes d in format ("text", "md" or "json").
func Write(w io.Writer, d *Diff, format string) error {
	switch format {
	case "", "text":
		return writeText(w, d, false)
	case "md", "markdown":
		return writeText(w, d, true)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	return fmt.Errorf("diff: unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// writeText writes the terminal text, or Markdown when md is set; both
// list, per scenario, only what changed.
func writeText(w io.Writer, d *Diff, md bool) error {
	var b strings.Builder
	code := func(s string) string {
		if md {
			return "`" + strings.ReplaceAll(s, "`", "'") + "`"
		}
		return s
	}
	if md {
		fmt.Fprintf(&b, "# Payload diff\n\nA: `%s`  \nB: `%s`\n\n", d.A, d.B)
	} else {
		fmt.Fprintf(&b, "payload diff\n  A: %s\n  B: %s\n", d.A, d.B)
	}
	if d.Empty() {
		b.WriteString("\nNo change in endpoints, destinations, fields, types, event kinds or value counts.\n")
	}
	for _, s := range d.Scenarios {
		if s.Empty() {
			continue
		}
		if md {
			fmt.Fprintf(&b, "\n## Scenario `%s` (requests: %d → %d)\n\n", s.Scenario, s.Requests[0], s.Requests[1])
		} else {
			fmt.Fprintf(&b, "\nscenario %s (requests: %d -> %d)\n", s.Scenario, s.Requests[0], s.Requests[1])
		}
		if s.Only != "" {
			side := map[string]string{"a": "A", "b": "B"}[s.Only]
			fmt.Fprintf(&b, "%sonly in %s\n", bullet(md), side)
			continue
		}
		list := func(title string, sign string, items []string) {
			for _, it := range items {
				fmt.Fprintf(&b, "%s%s %s %s\n", bullet(md), sign, title, code(it))
			}
		}
		list("endpoint", "+", s.EndpointsAdded)
		list("endpoint", "-", s.EndpointsRemoved)
		list("destination", "+", s.DestinationsAdded)
		list("destination", "-", s.DestinationsRemoved)
		list("event", "+", s.EventsAdded)
		list("event", "-", s.EventsRemoved)
		list("field", "+", s.FieldsAdded)
		list("field", "-", s.FieldsRemoved)
		arrow := "->"
		if md {
			arrow = "→"
		}
		for _, t := range s.TypesChanged {
			fmt.Fprintf(&b, "%s~ type %s: %s %s %s\n", bullet(md), code(t.Field), strings.Join(t.A, "|"), arrow, strings.Join(t.B, "|"))
		}
		for _, v := range s.Values {
			fmt.Fprintf(&b, "%s~ values %s: %d %s %d distinct values\n", bullet(md), code(v.Field), v.A, arrow, v.B)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func bullet(md bool) string {
	if md {
		return "- "
	}
	return "  "
}
