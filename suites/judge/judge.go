package judge

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/textmatch"
)

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

// Judge evaluates every clause of in.Scenario on in.Runs, streaming each
// run's exchanges once through every check.
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
	type pending struct {
		cr ClauseResult
		ks []*checker
		// unlisted: the scenario does not list the clause; only its
		// checks judged everywhere run (policy.Everywhere).
		unlisted bool
	}
	var clauses []*pending
	var all []*checker
	for _, c := range in.Policy.Clauses {
		pc := &pending{cr: ClauseResult{Clause: c.ID}}
		switch {
		case c.Testable == policy.TestableServerSide:
			pc.cr.Verdict, pc.cr.Reason = NotTestable, "a server-side promise: not testable from the client"
		case !sc.Exercises(c.ID) && !c.JudgedEverywhere():
			pc.cr.Verdict, pc.cr.Reason = NotExercised, "scenario "+sc.Name+" does not exercise this clause"
		default:
			pc.unlisted = !sc.Exercises(c.ID)
			for _, ch := range c.Checks {
				if pc.unlisted && !policy.Everywhere(ch.Kind) {
					continue
				}
				k := skipCut(ch.Kind, j.checker(c.ID, ch))
				pc.ks = append(pc.ks, k)
				all = append(all, k)
			}
		}
		clauses = append(clauses, pc)
	}
	type required struct {
		e   policy.Evidence
		met *bool
	}
	var reqs []required
	for _, e := range sc.Evidence {
		k, met := j.evidence(e)
		reqs = append(reqs, required{e, met})
		all = append(all, k)
	}
	var diag *Diagnostic
	if sc.Diagnostic != nil {
		var k *checker
		k, diag = j.diagnostic(sc.Diagnostic)
		all = append(all, k)
	}
	if in.Listing {
		j.fields = NewFieldCounter(in.Policy)
	}
	for _, rv := range j.runs {
		if in.Listing {
			rv.lister = newLister(in.Policy, &rv.RunData, j.fields)
		}
		if err := j.stream(rv, all); err != nil {
			return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
		}
	}
	for _, k := range all {
		if k.final != nil {
			k.final()
		}
	}
	var unverified string
	for _, r := range in.Runs {
		if r.Unverified != "" {
			unverified = r.Unverified
			break
		}
	}
	res := &Result{Scenario: sc.Name, Findings: []Finding{}, Diagnostic: diag, fields: j.fields}
	if in.Listing {
		for _, rv := range j.runs {
			res.listers = append(res.listers, rv.lister)
		}
	}
	// A clause whose evidence never arrived has not passed: its checks
	// had nothing to look at (a violation found anyway still stands).
	missingFor := map[string][]string{}
	for _, r := range reqs {
		if *r.met {
			continue
		}
		m := Missing{ID: r.e.ID, What: r.e.What, Clauses: r.e.Clauses}
		res.Missing = append(res.Missing, m)
		for _, c := range r.e.Clauses {
			missingFor[c] = append(missingFor[c], m.String())
		}
	}
	byClause := map[string]string{}
	for _, in := range in.Policy.Interpretations {
		byClause[in.ID] = in.Clause
	}
	for _, pc := range clauses {
		cr := pc.cr
		for id, n := range j.used {
			if byClause[id] == cr.Clause {
				if cr.Interpretations == nil {
					cr.Interpretations = map[string]int{}
				}
				cr.Interpretations[id] = n
			}
		}
		if len(pc.ks) > 0 {
			var all outcome
			total := 0
			for _, k := range pc.ks {
				o := &k.out
				total += len(o.findings) + o.dropped
				all.findings = append(all.findings, o.findings...)
				all.exercised = all.exercised || o.exercised
				all.unobservable = append(all.unobservable, o.unobservable...)
				all.notes = append(all.notes, o.notes...)
				all.more += o.more
			}
			if len(all.findings) > MaxFindings {
				all.findings = all.findings[:MaxFindings]
			}
			cr.Findings, cr.Omitted = total, total-len(all.findings)
			more := ""
			if all.more > 0 {
				more = fmt.Sprintf("; and %d more", all.more)
			}
			switch {
			case total > 0:
				cr.Verdict = Violated
			case len(all.unobservable) > 0:
				cr.Verdict, cr.Reason = Unobservable, joinUnique(all.unobservable)+more
			case !all.exercised:
				cr.Verdict, cr.Reason = NotExercised, joinUnique(all.notes)
			case len(missingFor[cr.Clause]) > 0:
				cr.Verdict, cr.Reason = NotExercised, "the evidence it needs is missing: "+joinUnique(missingFor[cr.Clause])
			default:
				cr.Verdict, cr.Reason = Passed, joinUnique(all.notes)
				for id, n := range cr.Interpretations {
					cr.Reason = joinUnique([]string{cr.Reason, fmt.Sprintf("passed under interpretation %s (%d value(s) accepted)", id, n)})
				}
			}
			if pc.unlisted {
				cr = unlistedVerdict(sc.Name, cr)
			}
			if cr.Verdict == Passed && unverified != "" {
				cr.Verdict, cr.Reason = Unobservable, unverified
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

// redactor replaces every planted value of every run (and the other
// scenarios'), case-insensitively, by «role»: the raw part of the one
// Redactor.
func (j *judgement) redactor() func(string) string {
	all := slices.Clone(j.elsewhere)
	for _, rv := range j.runs {
		all = append(all, rv.Canaries...)
	}
	return newRawRedactor(all).Raw
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

// blindExchange is what a run keeps of an exchange whose content the
// harness could not see.
type blindExchange struct {
	Seq  int64
	Kind capture.Kind
	Host string
	// Why replaces the "could not see inside" wording: a body cut at the
	// size limit (cutReason).
	Why string
}

// runView is one run with what its stream has shown so far.
type runView struct {
	RunData
	idx int
	// canaryValues maps a role to its planted values.
	canaryValues map[string][]string
	// exchanges and observed count the run's exchanges, all and those seen
	// inside; lastSeq is the highest sequence number.
	exchanges, observed int
	lastSeq             int64
	// blind are exchanges whose content the harness could not see.
	blind []blindExchange
	// empty counts tunnels that carried no byte (capture.Exchange.Empty).
	empty int
	// lister keeps what a report lists of the run (Input.Listing).
	lister *lister
}

// judgement holds the state shared by the checks of one Judge call.
type judgement struct {
	p       *policy.Policy
	sc      *policy.Scenario
	in      Input
	runs    []*runView
	obsOpts observe.Options
	// tagListOf maps a tag key to the name of the tag list declaring it.
	tagListOf map[string]string
	search    *searcher
	regexes   map[string]*textmatch.Regexp
	// used counts the values each interpretation accepted, by its id.
	used map[string]int
	// elsewhere are the values other scenarios planted (Input.Elsewhere),
	// less this scenario's own.
	elsewhere []canary.Canary
	// fields counts the field table while the captures stream
	// (Input.Listing).
	fields *FieldCounter
}

func newJudgement(in Input, sc *policy.Scenario) (*judgement, error) {
	j := &judgement{p: in.Policy, sc: sc, in: in, tagListOf: map[string]string{}, regexes: map[string]*textmatch.Regexp{}}
	j.obsOpts.TagLists = TagLists(in.Policy)
	for _, f := range in.Policy.TagLists() {
		for _, t := range f.Tags {
			j.tagListOf[t.Key] = f.TagListName()
		}
	}
	var all []canary.Canary
	for i, r := range in.Runs {
		rv := &runView{RunData: r, idx: i, canaryValues: map[string][]string{}}
		if rv.Set == "" {
			rv.Set = "a"
		}
		for _, c := range r.Canaries {
			rv.canaryValues[c.Role] = append(rv.canaryValues[c.Role], c.Value)
		}
		for _, c := range r.Canaries {
			// Runs of one scenario share most values: search each once.
			if !slices.Contains(all, c) {
				all = append(all, c)
			}
		}
		j.runs = append(j.runs, rv)
	}
	own := map[string]bool{}
	for _, c := range all {
		own[c.Value] = true
	}
	others, vals, origin := in.Elsewhere.others(sc.Name, own)
	j.elsewhere = vals
	s, err := newSearcher(all, in.Policy)
	if err != nil {
		return nil, fmt.Errorf("judge scenario %s: %w", sc.Name, err)
	}
	s.others, s.origin = others, origin
	j.search = s
	return j, nil
}

// finding builds a finding of clause for a check in run rv.
func (j *judgement) finding(clause, kind string, rv *runView, ex int64, path, msg, evidence string) Finding {
	name := ""
	if rv != nil && len(j.runs) > 1 {
		name = rv.Name
	}
	return Finding{Clause: clause, Scenario: j.sc.Name, Run: name, Exchange: ex, Path: path, Check: kind, Message: msg, Evidence: evidence}
}

// TagLists are the policy's tag lists as observe splits them: every reader
// of a capture observes with these, so that tags have one path grammar.
func TagLists(p *policy.Policy) []observe.TagList {
	var out []observe.TagList
	for _, f := range p.TagLists() {
		out = append(out, observe.TagList{Path: f.Path, Sep: f.Sep, Name: f.TagListName()})
	}
	return out
}
