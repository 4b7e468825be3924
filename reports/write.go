package reports

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// File names the writers use inside an output folder.
const (
	JSONName     = "report.json"
	MarkdownName = "report.md"
	HTMLName     = "report.html"
	SARIFName    = "report.sarif"
	JUnitName    = "junit.xml"
)

// WriteAll writes report.json, report.md, report.html and report.sarif
// into dir (junit.xml comes from Ginkgo's reporter).
func WriteAll(dir string, r *Report) error {
	if err := WriteJSON(dir, r); err != nil {
		return err
	}
	for _, w := range []struct {
		name  string
		write func(io.Writer, *Report) error
	}{{MarkdownName, Markdown}, {HTMLName, HTML}, {SARIFName, SARIF}} {
		var b bytes.Buffer
		if err := w.write(&b, r); err != nil {
			return fmt.Errorf("render %s: %w", w.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, w.name), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", w.name, err)
		}
	}
	return nil
}

// Label is a verdict in words, as the HTML and Markdown reports show it.
func Label(v judge.Verdict) string {
	switch v {
	case Passed:
		return "passed"
	case Violated:
		return "violated"
	case NotTestable:
		return "not testable from the client"
	case NotExercised:
		return "not exercised (run defect)"
	case Unobservable:
		return "unobservable"
	case Error:
		return "error"
	}
	return string(v)
}

// Counts counts the clauses per verdict.
func (r *Report) Counts() map[judge.Verdict]int {
	m := map[judge.Verdict]int{}
	for _, c := range r.Clauses {
		m[c.Verdict]++
	}
	return m
}

// NotExercisedClauses lists the client-testable clauses no scenario of
// the run exercised: a defect of the run, never of the tool.
func (r *Report) NotExercisedClauses() []string {
	var out []string
	for _, c := range r.Clauses {
		if c.Verdict == NotExercised {
			out = append(out, c.ID)
		}
	}
	return out
}

// Evidence returns the pretty-printed request a finding cites; nil when
// the finding is about the run or the request was not loaded.
func (r *Report) Evidence(f judge.Finding) []Line {
	if f.Exchange == 0 {
		return nil
	}
	for _, s := range r.Scenarios {
		if s.Name != f.Scenario {
			continue
		}
		for _, run := range s.Runs {
			if run.Name != f.Run {
				continue
			}
			for _, rq := range run.Requests {
				if rq.Seq == f.Exchange {
					return rq.Evidence
				}
			}
		}
	}
	return nil
}

// Headline is the run's verdict in one sentence.
func (r *Report) Headline() string {
	c := r.Counts()
	switch r.Verdict {
	case Compliant:
		return fmt.Sprintf("Compliant: %d clauses passed, none violated", c[Passed])
	case Violations:
		return fmt.Sprintf("Violations: %d of %d clauses violated", c[Violated], len(r.Clauses))
	}
	return fmt.Sprintf("Incomplete: %d clauses could not be judged (not exercised, unobservable or error); none violated",
		c[NotExercised]+c[Unobservable]+c[Error])
}

// Omitted counts the findings of every clause that the report does not
// list (beyond judge.MaxFindings per clause and scenario).
func (r *Report) Omitted() int {
	n := 0
	for _, c := range r.Clauses {
		n += c.Omitted
	}
	return n
}

// RequestsOmitted counts the captured requests no run lists.
func (r *Report) RequestsOmitted() int {
	n := 0
	for _, s := range r.Scenarios {
		for _, run := range s.Runs {
			n += run.RequestsOmitted
		}
	}
	return n
}

// thousands prints n with a comma between groups of three digits, as the
// reports print large counts ("99,500 more requests").
func thousands[T ~int | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// byteSize prints a size in B, KiB, MiB or GiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/unit, "KiB"
	for _, next := range []string{"MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, u = v/unit, next
	}
	return fmt.Sprintf("%.1f %s", v, u)
}
