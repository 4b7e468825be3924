package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Verdicts of a clause over a whole run. They extend judge's per-scenario
// verdicts with "error" (a scenario that exercises the clause could not be
// run or judged).
const (
	Passed       = judge.Passed
	Violated     = judge.Violated
	NotExercised = judge.NotExercised
	NotTestable  = judge.NotTestable
	Unobservable = judge.Unobservable
	Error        = judge.Verdict("error")
)

// Overall is a run's overall verdict; it decides the CLI's exit code.
type Overall string

// The overall verdicts (report.json's "verdict").
const (
	// Compliant: every clause the run could judge passed, and every
	// client-testable clause was judged.
	Compliant Overall = "compliant"
	// Violations: at least one clause was violated.
	Violations Overall = "violations"
	// Incomplete: nothing violated, but a clause could not be judged
	// (harness error, unobservable, not exercised): never a pass.
	Incomplete Overall = "incomplete"
)

// ExitCode is the exit status that reports o: 0 compliant, 3 violations
// found, 1 incomplete (README, "Exit codes"). An unknown verdict is 1: it
// must never read as compliant.
func (o Overall) ExitCode() int {
	switch o {
	case Compliant:
		return 0
	case Violations:
		return 3
	}
	return 1
}

// SchemaVersion is the version of report.json's layout.
const SchemaVersion = 1

// Report is the whole outcome of one run of the harness.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Tool          string    `json:"tool"`
	Policy        string    `json:"policy"`
	Promise       string    `json:"promise_url,omitempty"`
	Command       []string  `json:"command,omitempty"`
	Started       time.Time `json:"started"`
	Finished      time.Time `json:"finished"`
	// Verdict is the run's overall verdict: "compliant", "violations" or
	// "incomplete" (harness errors, unobservable or unexercised clauses).
	Verdict   Overall    `json:"verdict"`
	Clauses   []Clause   `json:"clauses"`
	Scenarios []Scenario `json:"scenarios"`
	// Fields compares what the tool sent in the opt-in scenario with the
	// documented list; nil until Attach found a scenario with reports.
	Fields *FieldTable `json:"fields,omitempty"`
	// Interpretations are the policy's lenient readings that accepted a
	// value in this run; Strict is true when they were ignored.
	Interpretations []InterpretationUse `json:"interpretations,omitempty"`
	Strict          bool                `json:"strict,omitempty"`
}

// InterpretationUse is one interpretation (policy.Interpretation) that a
// verdict depends on, and how many values it accepted.
type InterpretationUse struct {
	ID     string   `json:"id"`
	Clause string   `json:"clause"`
	Field  string   `json:"field"`
	Values []string `json:"values"`
	Why    string   `json:"why"`
	Quote  string   `json:"quote"`
	Used   int      `json:"used"`
}

// VerdictLine is the verdict with the interpretations it rests on, e.g.
// "compliant (1 interpretation)".
func (r *Report) VerdictLine() string {
	switch n := len(r.Interpretations); {
	case n == 1:
		return string(r.Verdict) + " (1 interpretation)"
	case n > 1:
		return fmt.Sprintf("%s (%d interpretations)", r.Verdict, n)
	case r.Strict:
		return string(r.Verdict) + " (strict)"
	}
	return string(r.Verdict)
}

// Clause is one clause of the policy with its verdict over the run.
type Clause struct {
	ID       string        `json:"id"`
	Promise  string        `json:"promise"`
	Section  string        `json:"section"`
	Quote    string        `json:"quote,omitempty"`
	Testable string        `json:"testable"`
	Verdict  judge.Verdict `json:"verdict"`
	// Scenarios lists the scenarios that exercised the clause with their
	// verdicts.
	Scenarios []ScenarioVerdict `json:"scenarios,omitempty"`
	// Findings are the findings kept: at most judge.MaxFindings per
	// scenario.
	Findings []judge.Finding `json:"findings,omitempty"`
	// Omitted counts the clause's findings beyond those, over every
	// scenario, which Findings does not list.
	Omitted int `json:"omitted,omitempty"`
	// Line is the clause's line in the policy file; 0 when unknown.
	Line int `json:"line,omitempty"`
}

// ScenarioVerdict is a clause's verdict in one scenario.
type ScenarioVerdict struct {
	Scenario string        `json:"scenario"`
	Verdict  judge.Verdict `json:"verdict"`
	Reason   string        `json:"reason,omitempty"`
	// Omitted counts the clause's findings in this scenario that the
	// judge did not keep (judge.ClauseResult.Omitted).
	Omitted int `json:"omitted,omitempty"`
}

// Scenario is one scenario's runs.
type Scenario struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Dirs        []string `json:"dirs,omitempty"`
	Error       string   `json:"error,omitempty"`
	// Findings counts every finding of the scenario, listed or omitted.
	Findings int `json:"findings"`
	// Runs are what each run folder holds, filled in by Attach.
	Runs []RunListing `json:"runs,omitempty"`
	// Attempts counts a best-effort scenario's attempts when there was
	// more than one, and Retries says why each later one was made.
	Attempts int      `json:"attempts,omitempty"`
	Retries  []string `json:"retries,omitempty"`
	// Missing is the evidence no attempt delivered (judge.Missing).
	Missing []string `json:"missing,omitempty"`
	// Sweep says how many environment variables the scenario swept and
	// from where, and which changed the tool's behaviour.
	Sweep *SweepSummary `json:"sweep,omitempty"`
	// Diagnostic says, for a diagnostic-mode scenario, whether the mode
	// sends and whether what it prints is what it sends.
	Diagnostic string `json:"diagnostic,omitempty"`

	// judged is the judge's result, whose pass over the captures may
	// already hold the run listings (judge.Input.Listing).
	judged *judge.Result
}

// SweepSummary is a scenario's environment sweep in the report.
type SweepSummary struct {
	Summary  string   `json:"summary"`
	Swept    int      `json:"swept"`
	Excluded int      `json:"excluded"`
	Runs     int      `json:"runs"`
	Changed  []string `json:"changed,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// ScenarioOutcome is one scenario's input to Build.
type ScenarioOutcome struct {
	Scenario string
	Dirs     []string
	Judged   *judge.Result
	Err      error
}

// Build makes the report: every clause of p once, with the verdict
// aggregated over the outcomes (violated beats error beats unobservable
// beats passed beats not-exercised; server-side clauses are not-testable).
func Build(p *policy.Policy, outcomes []ScenarioOutcome) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Tool: p.Tool.Name, Policy: p.File, Promise: p.Tool.Promise.URL}
	byClause := map[string]*Clause{}
	for _, c := range p.Clauses {
		cl := Clause{ID: c.ID, Promise: c.Promise, Section: c.Section, Quote: c.Quote, Testable: c.Testable, Verdict: NotExercised}
		if c.Testable == policy.TestableServerSide {
			cl.Verdict = NotTestable
		}
		r.Clauses = append(r.Clauses, cl)
	}
	for i := range r.Clauses {
		byClause[r.Clauses[i].ID] = &r.Clauses[i]
	}
	for _, o := range outcomes {
		sc, err := p.Scenario(o.Scenario)
		if err != nil {
			continue
		}
		s := Scenario{Name: sc.Name, Description: sc.Description, Dirs: o.Dirs, judged: o.Judged}
		if o.Err != nil {
			s.Error = o.Err.Error()
		} else if o.Judged != nil {
			s.Findings = len(o.Judged.Findings)
			for _, cr := range o.Judged.Clauses {
				s.Findings += cr.Omitted
			}
			s.Attempts, s.Retries = o.Judged.Attempts, o.Judged.Retries
			if d := o.Judged.Diagnostic; d != nil {
				s.Diagnostic = d.String()
			}
			if sw := o.Judged.Sweep; sw != nil {
				s.Sweep = &SweepSummary{Summary: sw.Summary, Swept: sw.Swept, Excluded: len(sw.Excluded), Runs: sw.Runs, Notes: sw.Notes}
				for _, c := range sw.Changed {
					s.Sweep.Changed = append(s.Sweep.Changed, c.Name+": "+c.Why)
				}
			}
			for _, m := range o.Judged.Missing {
				s.Missing = append(s.Missing, m.String())
			}
		}
		r.Scenarios = append(r.Scenarios, s)
		for _, id := range p.JudgedClauses(sc) {
			cl, ok := byClause[id]
			if !ok || cl.Testable == policy.TestableServerSide {
				continue
			}
			sv := ScenarioVerdict{Scenario: sc.Name}
			switch {
			case o.Err != nil:
				sv.Verdict, sv.Reason = Error, o.Err.Error()
			case o.Judged != nil:
				cr, ok := o.Judged.Clause(id)
				// A clause the scenario does not list, judged only because it
				// holds everywhere, is listed where it found something to judge.
				if !ok || (!sc.Exercises(id) && cr.Verdict == NotExercised) {
					continue
				}
				sv.Verdict, sv.Reason, sv.Omitted = cr.Verdict, cr.Reason, cr.Omitted
				cl.Omitted += cr.Omitted
				for _, f := range o.Judged.Findings {
					if f.Clause == id {
						cl.Findings = append(cl.Findings, f)
					}
				}
			}
			cl.Scenarios = append(cl.Scenarios, sv)
			if rank(sv.Verdict) > rank(cl.Verdict) {
				cl.Verdict = sv.Verdict
			}
		}
	}
	used := map[string]int{}
	for _, o := range outcomes {
		if o.Judged == nil {
			continue
		}
		for _, cr := range o.Judged.Clauses {
			for id, n := range cr.Interpretations {
				used[id] += n
			}
		}
	}
	for _, in := range p.Interpretations {
		if used[in.ID] > 0 {
			r.Interpretations = append(r.Interpretations, InterpretationUse{ID: in.ID, Clause: in.Clause, Field: in.Accepts.Field,
				Values: in.Accepts.Values, Why: in.Why, Quote: in.Quote, Used: used[in.ID]})
		}
	}
	r.Verdict = Compliant
	for _, c := range r.Clauses {
		switch c.Verdict {
		case Violated:
			r.Verdict = Violations
		case Error, Unobservable, NotExercised:
			if r.Verdict == Compliant {
				r.Verdict = Incomplete
			}
		}
	}
	return r
}

func rank(v judge.Verdict) int {
	switch v {
	case Violated:
		return 5
	case Error:
		return 4
	case Unobservable:
		return 3
	case Passed:
		return 2
	case NotExercised:
		return 1
	}
	return 0
}

// WriteJSON writes report.json into dir.
func WriteJSON(dir string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
