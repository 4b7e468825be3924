package judge

// What the judge returns: verdicts, findings, and the input it takes.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/envsweep"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Verdict is the judgement of one clause in one scenario.
type Verdict string

// Finding is one violation of a clause, with redacted evidence.
type Finding struct {
	Clause   string `json:"clause"`
	Scenario string `json:"scenario"`
	// Run is the run's name; empty for a scenario with one run.
	Run string `json:"run,omitempty"`
	// Exchange is the exchange's sequence number; 0 when the finding is
	// about the run (logs, exit code, a missing report).
	Exchange int64 `json:"exchange,omitempty"`
	// Path locates the value (observe path grammar, or stdout/stderr:LINE).
	Path string `json:"path,omitempty"`
	// Check is the check kind that found it.
	Check   string `json:"check"`
	Message string `json:"message"`
	// Evidence describes what was seen without raw personal values or
	// secrets: role, form, type and length.
	Evidence string `json:"evidence,omitempty"`
}

// String is one line: clause, run and exchange, path, message, evidence.
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Clause)
	where := ""
	if f.Run != "" {
		where = "run " + f.Run
	}
	if f.Exchange != 0 {
		if where != "" {
			where += " "
		}
		where += fmt.Sprintf("exchange #%d", f.Exchange)
	}
	if where != "" {
		b.WriteString(" [" + where + "]")
	}
	if f.Path != "" {
		b.WriteString(" " + f.Path)
	}
	b.WriteString(": " + f.Message)
	if f.Evidence != "" {
		b.WriteString(" (" + f.Evidence + ")")
	}
	return b.String()
}

// MaxFindings bounds the findings a Result keeps per clause; the rest are
// counted (ClauseResult.Findings, ClauseResult.Omitted), not kept, so that
// judging a capture of a million bad requests stays in bounded memory and
// its report stays readable. Which ones are kept is fixed by the capture
// file: the first in its order.
const MaxFindings = 1000

// ClauseResult is the verdict on one clause.
type ClauseResult struct {
	Clause  string  `json:"clause"`
	Verdict Verdict `json:"verdict"`
	// Findings counts every finding, kept or not.
	Findings int `json:"findings"`
	// Omitted counts the findings beyond MaxFindings that Result.Findings
	// does not list.
	Omitted int `json:"omitted,omitempty"`
	// Reason explains unobservable, not-exercised and not-testable
	// verdicts; for passed it may note what was only partly checkable.
	Reason string `json:"reason,omitempty"`
	// Interpretations maps the id of each interpretation that accepted a
	// value in this clause to how many values it accepted.
	Interpretations map[string]int `json:"interpretations,omitempty"`
}

// Result is the judgement of one scenario.
type Result struct {
	Scenario string `json:"scenario"`
	// Findings are the kept findings: at most MaxFindings per clause.
	Findings []Finding      `json:"findings"`
	Clauses  []ClauseResult `json:"clauses"`
	// Missing are the scenario's evidence requirements no run met.
	Missing []Missing `json:"missing,omitempty"`
	// Attempts counts a best-effort scenario's attempts when there was
	// more than one; Retries says why each later one was made (known to
	// a live run; a replay only counts them).
	Attempts int      `json:"attempts,omitempty"`
	Retries  []string `json:"retries,omitempty"`
	// Sweep is what the scenario's environment sweep did (its
	// sweep.json); nil without a sweep.
	Sweep *envsweep.Record `json:"sweep,omitempty"`
	// Diagnostic compares a diagnostic mode's printout with what it sent;
	// nil unless the scenario is one (policy.Scenario.Diagnostic).
	Diagnostic *Diagnostic `json:"diagnostic,omitempty"`

	// listers and fields are what the pass over the captures kept for the
	// reports (Input.Listing); nil otherwise.
	listers []*lister
	fields  *FieldCounter
}

// Listing is what Judge read of run i (in Input.Runs' order) for a report
// citing the exchanges cited: its facts, its first MaxListedRequests
// requests and every cited one with its evidence. ok is false when the
// judge kept no listing (Input.Listing was off) or could not list a cited
// exchange (one a whole-run check cited at its end): read the run folder
// with ListRun then.
func (r *Result) Listing(i int, cited map[int64]bool) (RunListing, bool) {
	if r == nil || i < 0 || i >= len(r.listers) {
		return RunListing{}, false
	}
	return r.listers[i].listing(cited)
}

// FieldTable is the field table of the scenario's reports that Judge
// counted while it read them; nil when Input.Listing was off.
func (r *Result) FieldTable() *FieldTable {
	if r == nil || r.fields == nil {
		return nil
	}
	return r.fields.Table(r.Scenario)
}

// Compliant reports whether no clause was violated.
func (r *Result) Compliant() bool { return len(r.Findings) == 0 }

// Clause returns the result of one clause.
func (r *Result) Clause(id string) (ClauseResult, bool) {
	for _, c := range r.Clauses {
		if c.Clause == id {
			return c, true
		}
	}
	return ClauseResult{}, false
}

// Input is what Judge judges.
type Input struct {
	Policy   *policy.Policy
	Scenario string
	// Runs in the scenario's run order.
	Runs []RunData
	// Baseline are the facts of a fast-endpoint run of the same tool, for
	// the background check; nil to judge from the run alone.
	Baseline *capture.RunFacts
	// Elsewhere are the values planted in the scenarios of the same
	// invocation (or the other run folders given to replay), indexed once
	// (NewElsewhere): searched in this scenario's traffic too, a hit
	// naming where it was planted; nil for none.
	Elsewhere *Elsewhere
	// Differential is what the scenario's differential runs showed
	// (suites/differential); nil when none were made, and the
	// differential check then adds nothing.
	Differential *Differential
	// Listing keeps, in the same pass over the captures, what a report
	// lists of each run (Result.Listing, Result.FieldTable), so that the
	// reports need not read the captures again.
	Listing bool
}

// ErrNoRuns is returned when Input has no run.
var ErrNoRuns = errors.New("no run to judge")
