package judge

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Verdict is the judgement of one clause in one scenario.
type Verdict string

// Verdicts.
const (
	// Passed: every check of the clause ran on observable data and found
	// nothing.
	Passed Verdict = "passed"
	// Violated: at least one finding.
	Violated Verdict = "violated"
	// NotExercised: the scenario does not exercise the clause, or gave its
	// checks nothing to judge (no report, no planted canary of the roles).
	NotExercised Verdict = "not-exercised"
	// NotTestable: a server-side promise; never passed.
	NotTestable Verdict = "not-testable"
	// Unobservable: the harness could not see what it needed (a rejected
	// or opaque tunnel, a missing run.json or stdout); never passed.
	Unobservable Verdict = "unobservable"
)

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

// ClauseResult is the verdict on one clause.
type ClauseResult struct {
	Clause   string  `json:"clause"`
	Verdict  Verdict `json:"verdict"`
	Findings int     `json:"findings"`
	// Reason explains unobservable, not-exercised and not-testable
	// verdicts; for passed it may note what was only partly checkable.
	Reason string `json:"reason,omitempty"`
}

// Result is the judgement of one scenario.
type Result struct {
	Scenario string         `json:"scenario"`
	Findings []Finding      `json:"findings"`
	Clauses  []ClauseResult `json:"clauses"`
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

// Run is what one run of a scenario left behind.
type Run struct {
	// Name is the run's name (policy.Run.Name); empty for a single run.
	Name string
	// Set is the canary set (policy.Run.Set); empty means "a".
	Set string
	// Exchanges are the captured exchanges, in sequence order.
	Exchanges []*capture.Exchange
	// Facts are run.json's facts; nil when unknown, which makes timing,
	// exit and run-window checks unobservable.
	Facts *capture.Run
	// Stdout and Stderr are the tool's output; HaveLogs is false when they
	// were not captured, which makes log checks unobservable.
	Stdout, Stderr []byte
	HaveLogs       bool
	// Canaries are the values planted in this run.
	Canaries []canary.Canary
	// Egress is the run's egress.json: whether it ran sealed, its flows
	// and DNS questions; nil when unknown (egress is then unobservable).
	Egress *capture.Egress
	// State holds the tool's state files after the run, by the policy's
	// state names (the run folder's state/<name>); nil when none was kept.
	State map[string][]byte
}

// Input is what Judge judges.
type Input struct {
	Policy   *policy.Policy
	Scenario string
	// Runs in the scenario's run order.
	Runs []Run
	// Baseline are the facts of a fast-endpoint run of the same tool, for
	// the background check; nil to judge from the run alone.
	Baseline *capture.Run
}

// ErrNoRuns is returned when Input has no run.
var ErrNoRuns = errors.New("no run to judge")

// outcome is what one check found.
type outcome struct {
	findings []Finding
	// exercised is true when the check had something to judge.
	exercised bool
	// unobservable names why the check could not see what it needed.
	unobservable []string
	// notes qualify a pass (e.g. a role that was not planted).
	notes []string
}

func (o *outcome) unobs(format string, args ...any) {
	o.unobservable = append(o.unobservable, fmt.Sprintf(format, args...))
}

func (o *outcome) note(format string, args ...any) {
	o.notes = append(o.notes, fmt.Sprintf(format, args...))
}

// Judge evaluates every clause of in.Scenario on in.Runs.
func Judge(in Input) (*Result, error) {
	if in.Policy == nil {
		return nil, errors.New("judge: no policy")
	}
	sc, err := in.Policy.Scenario(in.Scenario)
	if err != nil {
		return nil, fmt.Errorf("judge: %w", err)
	}
	if len(in.Runs) == 0 {
		return nil, fmt.Errorf("judge scenario %s: %w", in.Scenario, ErrNoRuns)
	}
	j, err := newJudgement(in, sc)
	if err != nil {
		return nil, err
	}
	res := &Result{Scenario: sc.Name, Findings: []Finding{}}
	for _, c := range in.Policy.Clauses {
		cr := ClauseResult{Clause: c.ID}
		switch {
		case c.Testable == policy.TestableServerSide:
			cr.Verdict, cr.Reason = NotTestable, "a server-side promise: not testable from the client"
		case !sc.Exercises(c.ID):
			cr.Verdict, cr.Reason = NotExercised, "scenario "+sc.Name+" does not exercise this clause"
		default:
			var all outcome
			for _, ch := range c.Checks {
				o := j.check(c.ID, ch)
				all.findings = append(all.findings, o.findings...)
				all.exercised = all.exercised || o.exercised
				all.unobservable = append(all.unobservable, o.unobservable...)
				all.notes = append(all.notes, o.notes...)
			}
			cr.Findings = len(all.findings)
			switch {
			case len(all.findings) > 0:
				cr.Verdict = Violated
			case len(all.unobservable) > 0:
				cr.Verdict, cr.Reason = Unobservable, joinUnique(all.unobservable)
			case !all.exercised:
				cr.Verdict, cr.Reason = NotExercised, joinUnique(all.notes)
			default:
				cr.Verdict, cr.Reason = Passed, joinUnique(all.notes)
			}
			res.Findings = append(res.Findings, all.findings...)
		}
		res.Clauses = append(res.Clauses, cr)
	}
	// A safety net under the checks' own care: no finding may print a
	// planted value, whatever a tool put in a key, path or host.
	red := j.redactor()
	for i := range res.Findings {
		f := &res.Findings[i]
		f.Path, f.Message, f.Evidence = red(f.Path), red(f.Message), red(f.Evidence)
	}
	return res, nil
}

// redactor replaces every planted value, case-insensitively, by «role».
func (j *judgement) redactor() func(string) string {
	type rep struct {
		re   *regexp.Regexp
		role string
	}
	var reps []rep
	seen := map[string]bool{}
	for _, rv := range j.runs {
		for _, c := range rv.Canaries {
			if c.Value == "" || seen[strings.ToLower(c.Value)] {
				continue
			}
			seen[strings.ToLower(c.Value)] = true
			reps = append(reps, rep{regexp.MustCompile("(?i)" + regexp.QuoteMeta(c.Value)), c.Role})
		}
	}
	return func(s string) string {
		for _, r := range reps {
			s = r.re.ReplaceAllLiteralString(s, "«"+r.role+"»")
		}
		return s
	}
}

func joinUnique(s []string) string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return strings.Join(out, "; ")
}

// runView is one run with its exchanges observed.
type runView struct {
	Run
	obs []*observe.Observation
	// blind are exchanges whose content the harness could not see.
	blind []*capture.Exchange
	// canaryValues maps a role to its planted values.
	canaryValues map[string][]string
}

// judgement holds the state shared by the checks of one Judge call.
type judgement struct {
	p    *policy.Policy
	sc   *policy.Scenario
	in   Input
	runs []*runView
	// tagListOf maps a tag key to the name of the tag list declaring it.
	tagListOf map[string]string
	search    *searcher
	regexes   map[string]*regexp.Regexp
}

func newJudgement(in Input, sc *policy.Scenario) (*judgement, error) {
	j := &judgement{p: in.Policy, sc: sc, in: in, tagListOf: map[string]string{}, regexes: map[string]*regexp.Regexp{}}
	var opts observe.Options
	for _, f := range in.Policy.TagLists() {
		name := lastKey(f.Path)
		opts.TagLists = append(opts.TagLists, observe.TagList{Path: f.Path, Sep: f.Sep, Name: name})
		for _, t := range f.Tags {
			j.tagListOf[t.Key] = name
		}
	}
	var all []canary.Canary
	for i, r := range in.Runs {
		rv := &runView{Run: r, canaryValues: map[string][]string{}}
		if rv.Set == "" {
			rv.Set = "a"
		}
		for _, c := range r.Canaries {
			rv.canaryValues[c.Role] = append(rv.canaryValues[c.Role], c.Value)
		}
		all = append(all, r.Canaries...)
		for _, ex := range r.Exchanges {
			switch ex.Kind {
			case capture.KindTunnelRejected, capture.KindOpaqueTunnel:
				rv.blind = append(rv.blind, ex)
				continue
			}
			o, err := observe.Observe(ex, opts)
			if err != nil {
				return nil, fmt.Errorf("judge scenario %s run %d: observe exchange #%d: %w", sc.Name, i+1, ex.Seq, err)
			}
			rv.obs = append(rv.obs, o)
		}
		j.runs = append(j.runs, rv)
	}
	s, err := newSearcher(all)
	if err != nil {
		return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
	}
	j.search = s
	return j, nil
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// finding builds a finding of clause for a check in run rv.
func (j *judgement) finding(clause, kind string, rv *runView, ex int64, path, msg, evidence string) Finding {
	name := ""
	if rv != nil && len(j.runs) > 1 {
		name = rv.Name
	}
	return Finding{Clause: clause, Scenario: j.sc.Name, Run: name, Exchange: ex, Path: path, Check: kind, Message: msg, Evidence: evidence}
}

// toEndpoint reports whether an observation is a report: a request to the
// policy's endpoint (scheme, host, port, path and method), not a CONNECT.
func (j *judgement) toEndpoint(o *observe.Observation) bool {
	return o.Method != "CONNECT" && len(j.destinationProblems(o)) == 0
}

// reports are a run's requests to the endpoint.
func (j *judgement) reports(rv *runView) []*observe.Observation {
	var out []*observe.Observation
	for _, o := range rv.obs {
		if j.toEndpoint(o) {
			out = append(out, o)
		}
	}
	return out
}

// withBody are a run's requests that carry a body, wherever they went: data
// sent elsewhere is judged like data sent to the endpoint.
func withBody(rv *runView) []*observe.Observation {
	var out []*observe.Observation
	for _, o := range rv.obs {
		if len(o.Body) > 0 {
			out = append(out, o)
		}
	}
	return out
}

// blindReason says why a run's content is not fully observable; empty when
// it is.
func blindReason(rv *runView) string {
	if len(rv.blind) == 0 {
		return ""
	}
	var parts []string
	for _, ex := range rv.blind {
		parts = append(parts, fmt.Sprintf("exchange #%d is %s to %s", ex.Seq, ex.Kind, ex.Host))
	}
	sort.Strings(parts)
	return "the harness could not see inside: " + strings.Join(parts, ", ")
}

func (j *judgement) check(clause string, c policy.Check) outcome {
	switch c.Kind {
	case policy.KindNothingSent:
		return j.nothingSent(clause, c)
	case policy.KindNoLogMention:
		return j.noLogMention(clause, c)
	case policy.KindAllowedFields:
		return j.allowedFields(clause, c)
	case policy.KindAllowedHeaders:
		return j.allowedHeaders(clause, c)
	case policy.KindRequiredFields:
		return j.requiredFields(clause, c)
	case policy.KindFieldFormat:
		return j.fieldFormat(clause, c)
	case policy.KindIDSalted:
		return j.idSalted(clause, c)
	case policy.KindIDsUnlinkable:
		return j.idsUnlinkable(clause, c)
	case policy.KindIDsAbsent:
		return j.idsAbsent(clause, c)
	case policy.KindGoalsSubset:
		return j.goalsSubset(clause, c)
	case policy.KindGoalCount:
		return j.goalCount(clause, c)
	case policy.KindCanaryAbsent:
		return j.canaryAbsent(clause, c)
	case policy.KindForbiddenPattern:
		return j.forbiddenPatterns(clause, c)
	case policy.KindDestination:
		return j.destination(clause, c)
	case policy.KindOneReport:
		return j.oneReport(clause, c)
	case policy.KindRunID:
		return j.runID(clause, c)
	case policy.KindBackground:
		return j.background(clause, c)
	case policy.KindFailureHarmless:
		return j.failureHarmless(clause, c)
	case policy.KindEgress:
		return j.egress(clause, c)
	}
	// The loader rejects unknown kinds; a policy built in code may not.
	var o outcome
	o.unobs("check kind %q is not implemented", c.Kind)
	return o
}
