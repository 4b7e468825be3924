package judge

// The checkers: what one check found (outcome), the exchange they share (item), and the dispatch from check kind to checker.

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

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

// newChecker is a checker and the outcome its steps write to; with blind,
// its end step reports a run whose exchanges it could not see into as
// unobservable (blindEnd), which most checks of what was sent need.
func newChecker(blind bool) (*checker, *outcome) {
	k := &checker{}
	if blind {
		k.end = blindEnd(k)
	}
	return k, &k.out
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
