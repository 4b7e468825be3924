package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// Markdown writes the verdicts as GitHub-flavoured Markdown, short enough
// for $GITHUB_STEP_SUMMARY and a pull-request comment: the headline, the
// clause table, every finding, the run's defects and the field table.
func Markdown(w io.Writer, r *Report) error {
	b := bufio.NewWriter(w)
	icon := map[Overall]string{Compliant: "✅", Violations: "❌"}[r.Verdict]
	if icon == "" {
		icon = "⚠️"
	}
	fmt.Fprintf(b, "# %s %s telemetry compliance: %s\n\n", icon, mdText(r.Tool), mdText(r.VerdictLine()))
	if len(r.Interpretations) > 0 {
		b.WriteString("This verdict rests on interpretations of the promise (`--strict` ignores them):\n\n")
		for _, in := range r.Interpretations {
			fmt.Fprintf(b, "- **%s** (%s): %d value(s) of `%s` accepted (%s). %s Quote: \"%s\"\n", mdText(in.ID), mdText(in.Clause), in.Used,
				mdText(in.Field), mdText(strings.Join(in.Values, ", ")), mdText(in.Why), mdText(in.Quote))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "%s.", r.Headline())
	if r.Promise != "" {
		fmt.Fprintf(b, " Promise: <%s>.", r.Promise)
	}
	b.WriteString("\n\n")
	if ne := r.NotExercisedClauses(); len(ne) > 0 {
		fmt.Fprintf(b, "> [!WARNING]\n> **Run defect:** %d clause(s) were not exercised by any scenario of this run: %s. Run every scenario (or merge every shard) to judge them.\n\n",
			len(ne), "`"+strings.Join(ne, "`, `")+"`")
	}
	b.WriteString("| Clause | Page section | Scenarios | Verdict |\n| --- | --- | --- | --- |\n")
	for _, c := range r.Clauses {
		var sc []string
		for _, s := range c.Scenarios {
			sc = append(sc, s.Scenario+" ("+string(s.Verdict)+")")
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s %s |\n", c.ID, mdText(c.Section), mdText(strings.Join(sc, ", ")), verdictIcon(c.Verdict), Label(c.Verdict))
	}
	listed := 0
	for _, c := range r.Clauses {
		listed += len(c.Findings)
	}
	if listed > 0 {
		if om := r.Omitted(); om > 0 {
			fmt.Fprintf(b, "\n## Violations (%s findings, %s listed)\n\n", thousands(listed+om), thousands(listed))
		} else {
			fmt.Fprintf(b, "\n## Violations (%d findings)\n\n", listed)
		}
		for _, c := range r.Clauses {
			for _, f := range c.Findings {
				fmt.Fprintf(b, "- `%s` in scenario %s: %s\n", f.Clause, mdText(f.Scenario), mdText(strings.TrimPrefix(f.String(), f.Clause+" ")))
			}
			if c.Omitted > 0 {
				fmt.Fprintf(b, "- `%s`: %s more findings of this clause are not listed (at most %s per clause and scenario are kept)\n", c.ID, thousands(c.Omitted), thousands(judge.MaxFindings))
			}
		}
	}
	var reasons []string
	for _, c := range r.Clauses {
		for _, s := range c.Scenarios {
			if (s.Verdict == Unobservable || s.Verdict == Error) && s.Reason != "" {
				reasons = append(reasons, fmt.Sprintf("- `%s` in scenario %s is %s: %s", c.ID, mdText(s.Scenario), s.Verdict, mdText(s.Reason)))
			}
		}
	}
	if len(reasons) > 0 {
		b.WriteString("\n## Could not be judged\n\n" + strings.Join(reasons, "\n") + "\n")
	}
	if t := r.Fields; t != nil && len(t.Rows) > 0 {
		fmt.Fprintf(b, "\n## Fields sent in scenario %s (%d reports)\n\n| Field | Status | Documented as |\n| --- | --- | --- |\n", mdText(t.Scenario), t.Reports)
		for _, row := range t.Rows {
			doc := row.Doc
			if doc == "" {
				doc = row.Note
			}
			fmt.Fprintf(b, "| `%s` | %s | %s |\n", row.Path, fieldLabel(row.Status), mdText(doc))
		}
	}
	if len(r.Scenarios) > 0 {
		b.WriteString("\n## Scenarios\n\n| Scenario | Runs | Requests | Findings |\n| --- | --- | --- | --- |\n")
		for _, s := range r.Scenarios {
			n := 0
			for _, run := range s.Runs {
				n += run.TotalRequests
			}
			status := fmt.Sprint(s.Findings)
			if s.Error != "" {
				status = "error: " + mdText(s.Error)
			}
			fmt.Fprintf(b, "| %s | %d | %d | %s |\n", mdText(s.Name), len(s.Dirs), n, status)
		}
		for _, s := range r.Scenarios {
			if s.Attempts > 1 {
				fmt.Fprintf(b, "\nScenario %s was attempted %d times (best-effort delivery)", mdText(s.Name), s.Attempts)
				if len(s.Retries) > 0 {
					fmt.Fprintf(b, ": %s", mdText(strings.Join(s.Retries, "; ")))
				}
				b.WriteString(".\n")
			}
			if s.Diagnostic != "" {
				fmt.Fprintf(b, "\nScenario %s (diagnostic mode): %s.\n", mdText(s.Name), mdText(s.Diagnostic))
			}
			if sw := s.Sweep; sw != nil {
				fmt.Fprintf(b, "\nScenario %s: environment sweep, %s; %d run(s).\n", mdText(s.Name), mdText(sw.Summary), sw.Runs)
				for _, c := range sw.Changed {
					fmt.Fprintf(b, "- planting %s changed the tool's behaviour\n", mdText(c))
				}
			}
			for _, m := range s.Missing {
				fmt.Fprintf(b, "\nScenario %s: %s, so the clauses that need it are not exercised.\n", mdText(s.Name), mdText(m))
			}
		}
		hostFacts(b, r)
		if om := r.RequestsOmitted(); om > 0 {
			fmt.Fprintf(b, "\nreport.html lists at most %d requests per run and every request a finding cites: %s more requests are not listed (see each run folder's capture.jsonl).\n", MaxListedRequests, thousands(om))
		}
	}
	b.WriteString("\nFull report with evidence: `report.html` in the output folder; re-check it locally with `telemetry-harness replay DIR`.\n")
	return b.Flush()
}

// hostFacts lists the host facts each run was given, when any run pinned
// them: the verdict holds for that host, and where a fact could not be
// applied the line says the verdict may be this machine's.
func hostFacts(b *bufio.Writer, r *Report) {
	var lines []string
	for _, s := range r.Scenarios {
		for _, run := range s.Runs {
			if run.Host == nil {
				continue
			}
			name := s.Name
			if run.Name != "" {
				name += "/" + run.Name
			}
			lines = append(lines, fmt.Sprintf("| %s | %s |\n", mdText(name), mdText(HostLine(run.Host))))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("\n## Host facts\n\nWhat each run's tool was shown, whatever machine the harness ran on.\n\n| Run | Host |\n| --- | --- |\n")
	for _, l := range lines {
		b.WriteString(l)
	}
}

func verdictIcon(v judge.Verdict) string {
	switch v {
	case Passed:
		return "✅"
	case Violated:
		return "❌"
	case NotTestable:
		return "➖"
	}
	return "⚠️"
}

func fieldLabel(s string) string {
	switch s {
	case FieldDocumentedSent:
		return "documented and sent"
	case FieldUndocumented:
		return "sent but undocumented"
	case FieldMissing:
		return "documented but missing"
	case FieldEnvelope:
		return "envelope (carries the documented fields)"
	}
	return s
}

// mdText escapes what would break a table cell or start markup.
func mdText(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;", "`", "'", "*", `\*`, "_", `\_`)
	return r.Replace(s)
}
