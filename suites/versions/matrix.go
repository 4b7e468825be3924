package versions

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/suites/payloaddiff"
)

// Matrix is every version's outcome under one policy.
type Matrix struct {
	Policy string `json:"policy"`
	// Clauses are the clause ids in policy order.
	Clauses  []string  `json:"clauses"`
	Versions []*Result `json:"versions"`
	// Diffs compare each pair of neighbouring versions that both ran.
	Diffs []PairDiff    `json:"diffs"`
	Wall  time.Duration `json:"wall_ns"`
}

// PairDiff is the payload diff of two neighbouring versions.
type PairDiff struct {
	A    string            `json:"a"`
	B    string            `json:"b"`
	Diff *payloaddiff.Diff `json:"diff,omitempty"`
	// Error says why there is no diff.
	Error string `json:"error,omitempty"`
}

// RunMatrix runs every version in order (one at a time: a tool under
// test is heavy, and versions share the machine) and diffs neighbours.
func (s *Spec) RunMatrix(ctx context.Context, vs []string) (*Matrix, error) {
	start := time.Now()
	m := &Matrix{Policy: s.Policy}
	if s.policy != nil {
		for _, c := range s.policy.Clauses {
			m.Clauses = append(m.Clauses, c.ID)
		}
	}
	// Installs run ahead, one at a time, while earlier versions run: an
	// install waits on the network, a run on the CPU.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ahead := make(chan installed, len(vs))
	go func() {
		defer close(ahead)
		for _, v := range vs {
			in := s.install(ctx, v)
			ahead <- in
			if in.err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		for range ahead { // let the installer finish before returning
		}
	}()
	var prev *Result
	for in := range ahead {
		v := in.v
		r, err := s.runInstalled(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("version %s: %w", v, err)
		}
		m.Versions = append(m.Versions, r)
		if r.Skipped != "" {
			continue
		}
		if prev != nil {
			// A pair that cannot be diffed (a folder without captures)
			// says why; the matrix still stands.
			pd := PairDiff{A: prev.Version, B: v}
			if d, err := payloaddiff.Dirs(prev.Out, r.Out); err != nil {
				pd.Error = err.Error()
			} else {
				pd.Diff = d
			}
			m.Diffs = append(m.Diffs, pd)
		}
		prev = r
	}
	m.Wall = time.Since(start)
	return m, nil
}

// Cell is what the table shows for clause id in version r.
func Cell(r *Result, id string) string {
	if r.Skipped != "" {
		return "skipped"
	}
	if c := r.Clause(id); c != nil {
		return string(c.Verdict)
	}
	return "-"
}

// WriteText writes the clause × version table for a terminal.
func (m *Matrix) WriteText(w io.Writer) error {
	var b strings.Builder
	width := len("CLAUSE")
	for _, c := range m.Clauses {
		width = max(width, len(c))
	}
	fmt.Fprintf(&b, "%-*s", width, "CLAUSE")
	for _, r := range m.Versions {
		fmt.Fprintf(&b, "  %-13s", r.Version)
	}
	b.WriteString("\n")
	for _, c := range m.Clauses {
		fmt.Fprintf(&b, "%-*s", width, c)
		for _, r := range m.Versions {
			fmt.Fprintf(&b, "  %-13s", Cell(r, c))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%-*s", width, "verdict")
	for _, r := range m.Versions {
		v := r.Verdict
		if r.Skipped != "" {
			v = "skipped"
		}
		fmt.Fprintf(&b, "  %-13s", v)
	}
	b.WriteString("\n\n")
	for _, r := range m.Versions {
		if r.Skipped != "" {
			fmt.Fprintf(&b, "%s: skipped: %s\n", r.Version, r.Skipped)
		}
	}
	if n := m.notes(); n != "" {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, d := range m.Diffs {
		if d.Error != "" {
			fmt.Fprintf(&b, "%s -> %s: no diff: %s\n", d.A, d.B, d.Error)
			continue
		}
		if d.Diff.Empty() {
			fmt.Fprintf(&b, "%s -> %s: no payload change\n", d.A, d.B)
			continue
		}
		fmt.Fprintf(&b, "%s -> %s:\n", d.A, d.B)
		var db strings.Builder
		if err := payloaddiff.Write(&db, d.Diff, "text"); err != nil {
			return err
		}
		// Drop the diff's own A/B header: the versions say it.
		lines := strings.Split(strings.TrimRight(db.String(), "\n"), "\n")
		for _, l := range lines[3:] {
			if l != "" {
				b.WriteString("  " + l + "\n")
			}
		}
	}
	fmt.Fprintf(&b, "\n%d versions, %d skipped, wall %s\n", len(m.Versions), m.skipped(), m.Wall.Round(time.Second))
	_, err := io.WriteString(w, b.String())
	return err
}

// notes names the versions outside the policy's tool.versions, once.
func (m *Matrix) notes() string {
	var vs []string
	note := ""
	for _, r := range m.Versions {
		if r.Note != "" {
			vs = append(vs, r.Version)
			note = r.Note
		}
	}
	if len(vs) == 0 {
		return ""
	}
	return strings.Join(vs, ", ") + " " + note
}

func (m *Matrix) skipped() int {
	n := 0
	for _, r := range m.Versions {
		if r.Skipped != "" {
			n++
		}
	}
	return n
}

// WriteMarkdown writes the table, the skipped versions and the diffs.
func (m *Matrix) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Version matrix: `%s`\n\n| clause |", m.Policy)
	for _, r := range m.Versions {
		fmt.Fprintf(&b, " %s |", r.Version)
	}
	b.WriteString("\n| --- |")
	for range m.Versions {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, c := range append(append([]string(nil), m.Clauses...), "**verdict**") {
		fmt.Fprintf(&b, "| `%s` |", c)
		for _, r := range m.Versions {
			cell := Cell(r, c)
			if c == "**verdict**" {
				cell = r.Verdict
				if r.Skipped != "" {
					cell = "skipped"
				}
			}
			if cell == "violated" || cell == "violations" {
				cell = "**" + cell + "**"
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		b.WriteString("\n")
	}
	if m.skipped() > 0 {
		b.WriteString("\n## Skipped (no verdict)\n\n")
		for _, r := range m.Versions {
			if r.Skipped != "" {
				fmt.Fprintf(&b, "- %s: %s\n", r.Version, strings.ReplaceAll(r.Skipped, "|", "\\|"))
			}
		}
	}
	if n := m.notes(); n != "" {
		fmt.Fprintf(&b, "\nNote: %s.\n", n)
	}
	b.WriteString("\n## Payload changes between neighbouring versions\n")
	for _, d := range m.Diffs {
		fmt.Fprintf(&b, "\n### %s → %s\n\n", d.A, d.B)
		if d.Error != "" {
			fmt.Fprintf(&b, "No diff: %s\n", d.Error)
			continue
		}
		if d.Diff.Empty() {
			b.WriteString("No payload change.\n")
			continue
		}
		var db strings.Builder
		if err := payloaddiff.Write(&db, d.Diff, "md"); err != nil {
			return err
		}
		// Demote the diff's headings under this one.
		text := db.String()
		if i := strings.Index(text, "\n## "); i >= 0 {
			text = text[i+1:]
		}
		b.WriteString(strings.ReplaceAll(text, "## Scenario", "#### Scenario"))
	}
	fmt.Fprintf(&b, "\n%d versions, %d skipped, wall %s.\n", len(m.Versions), m.skipped(), m.Wall.Round(time.Second))
	_, err := io.WriteString(w, b.String())
	return err
}

var htmlTmpl = template.Must(template.New("matrix").Funcs(template.FuncMap{
	"cell": Cell,
	"class": func(s string) string {
		switch s {
		case "violated", "violations":
			return "bad"
		case "passed", "compliant":
			return "good"
		case "skipped":
			return "skip"
		}
		return "other"
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Version matrix: {{.M.Policy}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;font-size:.9em}
.bad{background:#fdd;font-weight:bold}.good{background:#dfd}.skip{background:#eee;color:#666}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head>
<body><h1>Version matrix: <code>{{.M.Policy}}</code></h1>
<table><tr><th>clause</th>{{range .M.Versions}}<th>{{.Version}}</th>{{end}}</tr>
{{range $c := .M.Clauses}}<tr><td><code>{{$c}}</code></td>{{range $.M.Versions}}{{$v := cell . $c}}<td class="{{class $v}}">{{$v}}</td>{{end}}</tr>
{{end}}<tr><th>verdict</th>{{range .M.Versions}}{{if .Skipped}}<td class="skip" title="{{.Skipped}}">skipped</td>{{else}}<td class="{{class .Verdict}}">{{.Verdict}}</td>{{end}}{{end}}</tr></table>
{{if .Skipped}}<h2>Skipped (no verdict)</h2><ul>{{range .M.Versions}}{{if .Skipped}}<li>{{.Version}}: {{.Skipped}}</li>{{end}}{{end}}</ul>{{end}}
<h2>Payload changes between neighbouring versions</h2>
{{range .Diffs}}<h3>{{.A}} → {{.B}}</h3><pre>{{.Text}}</pre>
{{end}}<p>{{len .M.Versions}} versions, wall {{.Wall}}.</p></body></html>
`))

// WriteHTML writes a single-file HTML page of the table and diffs.
func (m *Matrix) WriteHTML(w io.Writer) error {
	type diff struct{ A, B, Text string }
	data := struct {
		M       *Matrix
		Skipped bool
		Diffs   []diff
		Wall    string
	}{M: m, Skipped: m.skipped() > 0, Wall: m.Wall.Round(time.Second).String()}
	for _, d := range m.Diffs {
		if d.Error != "" {
			data.Diffs = append(data.Diffs, diff{A: d.A, B: d.B, Text: "no diff: " + d.Error})
			continue
		}
		var db strings.Builder
		if err := payloaddiff.Write(&db, d.Diff, "text"); err != nil {
			return err
		}
		data.Diffs = append(data.Diffs, diff{A: d.A, B: d.B, Text: db.String()})
	}
	return htmlTmpl.Execute(w, data)
}

// WriteAll writes matrix.{txt,md,html,json} into dir.
func (m *Matrix) WriteAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("matrix output %s: %w", dir, err)
	}
	writers := map[string]func(io.Writer) error{
		"matrix.txt":  m.WriteText,
		"matrix.md":   m.WriteMarkdown,
		"matrix.html": m.WriteHTML,
		"matrix.json": func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(m)
		},
	}
	for name, write := range writers {
		var b strings.Builder
		if err := write(&b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
