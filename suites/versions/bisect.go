package versions

import (
	"context"
	"fmt"
	"time"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/payloaddiff"
)

// State is a version's place in a bisection.
type State string

const (
	Good State = "good"
	Bad  State = "bad"
	Skip State = "skip"
)

// Step is one version tried.
type Step struct {
	Version string        `json:"version"`
	State   State         `json:"state"`
	Why     string        `json:"why"`
	Wall    time.Duration `json:"wall_ns"`
}

// Bisection is the outcome of Bisect.
type Bisection struct {
	Clause string `json:"clause,omitempty"`
	// FirstBad and LastGood are the neighbours the search ended between,
	// skipped versions aside.
	FirstBad *Result `json:"first_bad"`
	LastGood *Result `json:"last_good"`
	// Untested lists the versions between LastGood and FirstBad that were
	// skipped: the change may lie in any of them (as with git bisect
	// skip), so FirstBad is then the first bad version that ran.
	Untested []string `json:"untested,omitempty"`
	// Evidence are the findings that make FirstBad bad.
	Evidence []judge.Finding   `json:"evidence"`
	Diff     *payloaddiff.Diff `json:"diff,omitempty"`
	Steps    []Step            `json:"steps"`
	Wall     time.Duration     `json:"wall_ns"`
}

// Classify says whether r breaks clause (any clause when empty): bad when
// violated, good when the clause passed (or, for any clause, when nothing
// was violated), skip otherwise (skipped, or the clause not exercised).
func Classify(r *Result, clause string) (State, string) {
	if r.Skipped != "" {
		return Skip, r.Skipped
	}
	if clause == "" {
		var bad []string
		for _, c := range r.Clauses {
			if c.Verdict == judge.Violated {
				bad = append(bad, c.ID)
			}
		}
		if len(bad) > 0 {
			return Bad, fmt.Sprintf("violated: %v", bad)
		}
		return Good, "no clause violated (" + r.Verdict + ")"
	}
	c := r.Clause(clause)
	switch {
	case c == nil:
		return Skip, "the report has no clause " + clause
	case c.Verdict == judge.Violated:
		return Bad, fmt.Sprintf("%s violated (%d findings)", clause, len(c.Findings))
	case c.Verdict == judge.Passed:
		return Good, clause + " passed"
	}
	return Skip, fmt.Sprintf("%s is %s: neither good nor bad", clause, c.Verdict)
}

// Runner runs one version (Spec.Run in use, a stub in tests).
type Runner func(ctx context.Context, v string) (*Result, error)

// Bisect finds the first bad version of vs (ordered, vs[0] good, the last
// bad), checking both ends first. A version that cannot run is skipped
// and the search goes on next to it.
func Bisect(ctx context.Context, vs []string, clause string, run Runner) (*Bisection, error) {
	start := time.Now()
	if len(vs) < 2 {
		return nil, fmt.Errorf("bisect needs a good and a later bad version")
	}
	b := &Bisection{Clause: clause}
	results := map[int]*Result{}
	states := map[int]State{}
	try := func(i int) (State, error) {
		t := time.Now()
		r, err := run(ctx, vs[i])
		if err != nil {
			return "", fmt.Errorf("version %s: %w", vs[i], err)
		}
		st, why := Classify(r, clause)
		results[i], states[i] = r, st
		b.Steps = append(b.Steps, Step{Version: vs[i], State: st, Why: why, Wall: time.Since(t)})
		return st, nil
	}
	lo, hi := 0, len(vs)-1
	if st, err := try(lo); err != nil {
		return nil, err
	} else if st != Good {
		return b, fmt.Errorf("--good %s is not good: %s", vs[lo], b.Steps[len(b.Steps)-1].Why)
	}
	if st, err := try(hi); err != nil {
		return nil, err
	} else if st != Bad {
		return b, fmt.Errorf("--bad %s is not bad: %s", vs[hi], b.Steps[len(b.Steps)-1].Why)
	}
	for {
		mid := pick(lo, hi, states)
		if mid < 0 {
			break
		}
		st, err := try(mid)
		if err != nil {
			return nil, err
		}
		switch st {
		case Good:
			lo = mid
		case Bad:
			hi = mid
		}
	}
	b.LastGood, b.FirstBad = results[lo], results[hi]
	for i := lo + 1; i < hi; i++ {
		b.Untested = append(b.Untested, vs[i])
	}
	for _, c := range b.FirstBad.Clauses {
		if c.Verdict == judge.Violated && (clause == "" || c.ID == clause) {
			b.Evidence = append(b.Evidence, c.Findings...)
		}
	}
	if b.LastGood.Out != "" && b.FirstBad.Out != "" {
		d, err := payloaddiff.Dirs(b.LastGood.Out, b.FirstBad.Out)
		if err != nil {
			return nil, err
		}
		b.Diff = d
	}
	b.Wall = time.Since(start)
	return b, nil
}

// pick returns the untried version between lo and hi closest to the
// middle, or -1 when every one was tried (all skipped).
func pick(lo, hi int, tried map[int]State) int {
	mid := (lo + hi) / 2
	for d := 0; mid-d > lo || mid+d+1 < hi; d++ {
		if i := mid - d; i > lo && i < hi {
			if _, ok := tried[i]; !ok {
				return i
			}
		}
		if i := mid + d + 1; i > lo && i < hi {
			if _, ok := tried[i]; !ok {
				return i
			}
		}
	}
	return -1
}
