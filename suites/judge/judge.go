package judge

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/envsweep"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/textmatch"
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
	// Exchanges are the captured exchanges, in sequence order, when the
	// caller holds them in memory (LoadRun, tests); Judge uses them when
	// Capture is empty.
	Exchanges []*capture.Exchange
	// Capture is the capture file that Judge streams the exchanges from
	// (OpenRun sets it); empty to use Exchanges.
	Capture string
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
	// Unverified says why Capture could not be proved to be the
	// recorder's (no integrity chain); empty when it was, or when the
	// exchanges are held in memory. A clause that would pass on such a
	// run is unobservable instead: the tool could have changed it.
	Unverified string
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
	// Elsewhere are the values planted in the scenarios of the same
	// invocation (or the other run folders given to replay), indexed once
	// (NewElsewhere): searched in this scenario's traffic too, a hit
	// naming where it was planted; nil for none.
	Elsewhere *Elsewhere
	// Differential is what the scenario's differential runs showed
	// (suites/differential); nil when none were made, and the
	// differential check then adds nothing.
	Differential *Differential
}

// ErrNoRuns is returned when Input has no run.
var ErrNoRuns = errors.New("no run to judge")

// outcome is what one check found.
type outcome struct {
	// findings are the kept findings, at most MaxFindings; dropped counts
	// the others.
	findings []Finding
	dropped  int
	// exercised is true when the check had something to judge.
	exercised bool
	// unobservable names why the check could not see what it needed.
	unobservable []string
	// notes qualify a pass (e.g. a role that was not planted).
	notes []string
	// more counts distinct reasons and notes beyond maxReasons.
	more int
}

// maxReasons bounds the distinct reasons and notes an outcome keeps: a
// capture of many blind exchanges would otherwise grow one per exchange.
const maxReasons = 20

func (o *outcome) add(f Finding) {
	if len(o.findings) >= MaxFindings {
		o.dropped++
		return
	}
	o.findings = append(o.findings, f)
}

func (o *outcome) unobs(format string, args ...any) {
	o.unobservable = o.keep(o.unobservable, fmt.Sprintf(format, args...))
}

func (o *outcome) note(format string, args ...any) {
	o.notes = o.keep(o.notes, fmt.Sprintf(format, args...))
}

func (o *outcome) keep(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	if len(list) >= maxReasons {
		o.more++
		return list
	}
	return append(list, s)
}

// checker is one check of one clause, fed the runs as they stream by, so
// that no run's exchanges need be held at once: start before a run's first
// exchange, each for every exchange, end after its last (when the run's
// counts and blind exchanges are complete), final once after every run.
// Each step is optional.
type checker struct {
	start func(rv *runView)
	each  func(rv *runView, x *item)
	end   func(rv *runView)
	final func()
	out   outcome
}

// item is one exchange with what several checks share about it, computed
// at most once.
type item struct {
	j  *judgement
	ex *capture.Exchange
	// o is the observation; nil for an exchange the harness could not see
	// inside (a rejected or opaque tunnel).
	o *observe.Observation

	hits                []hit
	searched, probsDone bool
	probs               []string
	// other is the declared other traffic the request belongs to, once
	// otherDone (every payload check asks).
	otherDone bool
	other     *policy.OtherTraffic
	// ready is closed once a worker prepared the item; err is why it could
	// not.
	ready chan struct{}
	err   error
}

// canaryHits are the hits of every planted role in the exchange.
func (x *item) canaryHits() []hit {
	if !x.searched && x.o != nil {
		x.searched = true
		x.hits = x.j.search.find(x.o)
	}
	return x.hits
}

// hitsOf are the hits of the given roles.
func (x *item) hitsOf(roles map[string]bool) []hit {
	var out []hit
	for _, h := range x.canaryHits() {
		if roles[h.Role] {
			out = append(out, h)
		}
	}
	return out
}

// destProblems is destinationProblems of the observation.
func (x *item) destProblems() []string {
	if !x.probsDone && x.o != nil {
		x.probsDone = true
		x.probs = x.j.destinationProblems(x)
	}
	return x.probs
}

// isReport reports whether the exchange is a report: a request to the
// policy's endpoint (scheme, host, port, path and method), not a CONNECT.
func (x *item) isReport() bool {
	return x.o != nil && x.o.Method != "CONNECT" && len(x.destProblems()) == 0
}

// attributed is the declared non-telemetry traffic (policy.OtherTraffic)
// the request belongs to; nil for telemetry and for what the harness could
// not see inside. A CONNECT is never attributed: its path is unknown.
func (x *item) attributed() *policy.OtherTraffic {
	if !x.otherDone && x.o != nil && x.o.Method != "CONNECT" {
		x.otherDone = true
		x.other, _ = x.j.p.Attribute(x.o.Method, x.o.Host, x.o.Path)
	}
	return x.other
}

// payload reports whether the exchange carries a body the payload's field
// rules apply to: any request with a body, wherever it went (data sent
// elsewhere is judged like data sent to the endpoint), except declared
// non-telemetry traffic, whose shape is its own. Canary searches judge
// every body (hasBody).
func (x *item) payload() bool { return x.hasBody() && x.attributed() == nil }

// hasBody reports whether the exchange is a request carrying a body,
// wherever it went: data sent elsewhere is judged like data sent to the
// endpoint.
func (x *item) hasBody() bool { return x.o != nil && len(x.o.Body) > 0 }

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
	for _, rv := range j.runs {
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
	res := &Result{Scenario: sc.Name, Findings: []Finding{}, Diagnostic: diag}
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

// stream feeds one run's exchanges through every checker.
func (j *judgement) stream(rv *runView, ks []*checker) error {
	marks := make([]int, len(ks))
	for i, k := range ks {
		if k.start != nil {
			k.start(rv)
		}
		marks[i] = len(k.out.findings)
	}
	err := j.eachPrepared(rv, func(x *item) {
		switch {
		case x.ex.FromServer:
			// What the server said (forward mode) is not the tool's.
			return
		case x.ex.Kind == capture.KindWebSocketMessage:
			// A message on an upgrade is judged like a body, but it is
			// no request of its own (failure-harmless counts requests).
		default:
			rv.exchanges++
		}
		rv.lastSeq = max(rv.lastSeq, x.ex.Seq)
		switch {
		case x.o == nil && x.ex.Empty():
			// Nothing went through it: there is nothing to be blind to.
			rv.empty++
		case x.o == nil:
			rv.blind = append(rv.blind, blindExchange{Seq: x.ex.Seq, Kind: x.ex.Kind, Host: x.ex.Host})
		default:
			rv.observed++
			// A cut body is seen only in part: the run is blind to the rest.
			if r := cutReason(x.ex); r != "" {
				rv.blind = append(rv.blind, blindExchange{Seq: x.ex.Seq, Kind: x.ex.Kind, Host: x.ex.Host, Why: r})
			}
		}
		for _, k := range ks {
			if k.each != nil {
				k.each(rv, x)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("run %d: %w", rv.idx+1, err)
	}
	// A capture streams in completion order; findings about exchanges are
	// listed in sequence order, as a reader of the capture expects.
	for i, k := range ks {
		seg := k.out.findings[marks[i]:]
		sort.SliceStable(seg, func(a, b int) bool { return seg[a].Exchange < seg[b].Exchange })
		if k.end != nil {
			k.end(rv)
		}
	}
	return nil
}

// inFlight bounds the exchanges between the capture reader, the workers
// and the checks, so memory stays flat whatever the capture's size.
const inFlight = 32

// errStopped ends the capture reader early when judging failed.
var errStopped = errors.New("judging stopped")

// eachPrepared hands fn every exchange of rv, prepared (observed and
// searched for canaries: the costly part, independent per exchange) by
// GOMAXPROCS workers, in capture order and one at a time, so that the
// checks keep their state without locks.
func (j *judgement) eachPrepared(rv *runView, fn func(*item)) error {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 {
		return rv.EachExchange(func(ex *capture.Exchange) error {
			x := &item{j: j, ex: ex}
			if err := x.prepare(); err != nil {
				return err
			}
			fn(x)
			return nil
		})
	}
	work := make(chan *item, inFlight)
	ordered := make(chan *item, inFlight)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := range work {
				x.err = x.prepare()
				close(x.ready)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		err := rv.EachExchange(func(ex *capture.Exchange) error {
			x := &item{j: j, ex: ex, ready: make(chan struct{})}
			select {
			case ordered <- x:
			case <-stop:
				return errStopped
			}
			work <- x // never blocks for long: the workers drain work until it closes
			return nil
		})
		close(work)
		close(ordered)
		readErr <- err
	}()
	var failed error
	for x := range ordered {
		<-x.ready
		switch {
		case failed != nil: // drain what is in flight
		case x.err != nil:
			failed = x.err
			close(stop)
		default:
			fn(x)
		}
	}
	wg.Wait()
	if err := <-readErr; failed == nil {
		return err
	}
	return failed
}

// prepare observes the exchange and searches it for every planted canary;
// an exchange the harness could not see inside stays unobserved.
func (x *item) prepare() error {
	if x.ex == nil {
		return errors.New("a nil exchange in the run")
	}
	switch x.ex.Kind {
	case capture.KindTunnelRejected, capture.KindOpaqueTunnel:
		return nil
	}
	o, err := observe.Observe(x.ex, x.j.obsOpts)
	if err != nil {
		return fmt.Errorf("observe exchange #%d: %w", x.ex.Seq, err)
	}
	x.o = o
	x.canaryHits()
	return nil
}

// redactor replaces every planted value, case-insensitively, by «role».
func (j *judgement) redactor() func(string) string {
	type rep struct {
		re   *regexp.Regexp
		role string
	}
	var reps []rep
	seen := map[string]bool{}
	lists := [][]canary.Canary{j.elsewhere}
	for _, rv := range j.runs {
		lists = append(lists, rv.Canaries)
	}
	for _, cs := range lists {
		for _, c := range cs {
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
	Run
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
}

func newJudgement(in Input, sc *policy.Scenario) (*judgement, error) {
	j := &judgement{p: in.Policy, sc: sc, in: in, tagListOf: map[string]string{}, regexes: map[string]*textmatch.Regexp{}}
	for _, f := range in.Policy.TagLists() {
		name := lastKey(f.Path)
		j.obsOpts.TagLists = append(j.obsOpts.TagLists, observe.TagList{Path: f.Path, Sep: f.Sep, Name: name})
		for _, t := range f.Tags {
			j.tagListOf[t.Key] = name
		}
	}
	var all []canary.Canary
	for i, r := range in.Runs {
		rv := &runView{Run: r, idx: i, canaryValues: map[string][]string{}}
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

// maxBlindListed bounds the exchanges a blind reason names.
const maxBlindListed = 10

// blindReason says why a run's content is not fully observable; empty when
// it is. Only complete once the run has streamed by (a checker's end).
func blindReason(rv *runView) string {
	if len(rv.blind) == 0 {
		return ""
	}
	var parts, cut []string
	for _, ex := range rv.blind {
		if ex.Why != "" {
			cut = append(cut, ex.Why)
			continue
		}
		parts = append(parts, fmt.Sprintf("exchange #%d is %s to %s", ex.Seq, ex.Kind, ex.Host))
	}
	var out []string
	for _, l := range []struct {
		head  string
		items []string
	}{{"the harness could not see inside: ", parts}, {"the harness saw only part of: ", cut}} {
		if len(l.items) == 0 {
			continue
		}
		sort.Strings(l.items)
		more := ""
		if len(l.items) > maxBlindListed {
			more = fmt.Sprintf(" and %d more", len(l.items)-maxBlindListed)
			l.items = l.items[:maxBlindListed]
		}
		out = append(out, l.head+strings.Join(l.items, ", ")+more)
	}
	return strings.Join(out, "; ")
}

// blindEnd is a checker's end step that reports a run's blind exchanges as
// unobservable.
func blindEnd(k *checker) func(rv *runView) {
	return func(rv *runView) {
		if r := blindReason(rv); r != "" {
			k.out.unobs("%s", r)
		}
	}
}

// unobservableChecker is a checker that judges nothing: the check cannot
// run (an unknown field, a bad regexp, no ids declared).
func unobservableChecker(format string, args ...any) *checker {
	k := &checker{}
	k.out.unobs(format, args...)
	return k
}

func (j *judgement) checker(clause string, c policy.Check) *checker {
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
	case policy.KindRandom:
		return j.random(clause, c)
	case policy.KindDifferential:
		return j.differential(clause)
	}
	// The loader rejects unknown kinds; a policy built in code may not.
	return unobservableChecker("check kind %q is not implemented", c.Kind)
}
