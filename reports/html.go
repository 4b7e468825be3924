package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate is parsed once; a broken template is a build defect that
// the golden test catches, so Must is safe here.
var htmlTemplate = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"hostLine":    HostLine,
	"label":       Label,
	"fieldLabel":  fieldLabel,
	"join":        func(s []string) string { return strings.Join(s, " ") },
	"deref":       func(p *int) int { return *p },
	"count":       thousands[int],
	"bytes":       byteSize,
	"maxFindings": func() string { return thousands(judge.MaxFindings) },
	"duration": func(a, b time.Time) string {
		if b.Before(a) {
			return ""
		}
		return b.Sub(a).Round(time.Millisecond).String()
	},
	"verdictWord": func(v Overall) string {
		switch v {
		case Compliant:
			return "Compliant"
		case Violations:
			return "Violations found"
		}
		return "Incomplete"
	},
}).Parse(htmlSource))

// HTML writes report.html: one self-contained page (inline style, no
// script, no external asset) with the verdict banner, the clause table
// with each finding's evidence in a <details>, the field table and every
// scenario's captured requests with timing.
func HTML(w io.Writer, r *Report) error {
	data := struct {
		R      *Report
		Counts map[judge.Verdict]int
	}{r, r.Counts()}
	if err := htmlTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("render report.html: %w", err)
	}
	return nil
}
