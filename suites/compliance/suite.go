package compliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/matchers"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// Label prefixes: "scenario:<name>" and "clause:<id>" select specs with
// --label-filter, e.g. 'clause:ids.sha256-only && scenario:opt-in'.
const (
	LabelScenario = "scenario:"
	LabelClause   = "clause:"
	// LabelCompliance marks the whole suite.
	LabelCompliance = "compliance"
)

// Config configures the compliance specs.
type Config struct {
	// Policy is the promise; required.
	Policy *policy.Policy
	// Scenarios names the scenarios to run; nil means all of them.
	Scenarios []string
	// Runner runs the tool; its Out is where run folders go. Ignored when
	// Replay is set.
	Runner scenario.Options
	// Replay, when set, is a previous output folder: no tool runs, the
	// specs judge its run folders.
	Replay string
	// Timeout bounds the whole scenario phase; zero means 30 minutes.
	Timeout time.Duration
	// Log gets one line per scenario as it finishes; nil discards.
	Log io.Writer
}

// Outcome is what one scenario produced.
type Outcome struct {
	Scenario string
	// Dirs are its run folders, in run order.
	Dirs []string
	// Run is the runner's result; nil on replay.
	Run *scenario.Result
	// Judged is the judge's result; nil when Err is set.
	Judged *judge.Result
	// Err is a harness error: the tool could not be run or its run could
	// not be judged.
	Err error
}

// Suite is the compliance spec tree for one configuration. It holds its
// outcomes itself (no package state), so a CLI run reads them after
// RunSpecs returns.
type Suite struct {
	cfg      Config
	selected []*policy.Scenario

	mu       sync.Mutex
	outcomes map[string]*Outcome
}

// New checks cfg and selects the scenarios.
func New(cfg Config) (*Suite, error) {
	if cfg.Policy == nil {
		return nil, errors.New("compliance: no policy")
	}
	s := &Suite{cfg: cfg, outcomes: map[string]*Outcome{}}
	if len(cfg.Scenarios) == 0 {
		for i := range cfg.Policy.Scenarios {
			s.selected = append(s.selected, &cfg.Policy.Scenarios[i])
		}
		return s, nil
	}
	want := map[string]bool{}
	for _, name := range cfg.Scenarios {
		if _, err := cfg.Policy.Scenario(name); err != nil {
			return nil, fmt.Errorf("compliance: %w", err)
		}
		want[name] = true
	}
	// Policy order, whatever order the names came in: a run, its replay and
	// a merge of its shards then list scenarios identically.
	for i := range cfg.Policy.Scenarios {
		if want[cfg.Policy.Scenarios[i].Name] {
			s.selected = append(s.selected, &cfg.Policy.Scenarios[i])
		}
	}
	return s, nil
}

// Outcomes are the scenarios' outcomes in policy order; scenarios that the
// label filter left out are missing.
func (s *Suite) Outcomes() []*Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Outcome
	for _, sc := range s.selected {
		if o, ok := s.outcomes[sc.Name]; ok {
			out = append(out, o)
		}
	}
	return out
}

func (s *Suite) outcome(name string) (*Outcome, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.outcomes[name]
	return o, ok
}

// Define declares the spec tree. Call it once, before RunSpecs: Ginkgo
// builds the tree before any setup node runs, so the specs come from the
// policy here and never from BeforeSuite.
func (s *Suite) Define() {
	ginkgo.BeforeSuite(func(ctx ginkgo.SpecContext) {
		s.execute(ctx)
	}, ginkgo.NodeTimeout(s.timeout()))

	for _, sc := range s.selected {
		sc := sc
		ginkgo.Describe("scenario "+sc.Name, ginkgo.Label(LabelScenario+sc.Name), func() {
			// Listed clauses, then those judged everywhere (policy.Everywhere).
			for _, id := range s.cfg.Policy.JudgedClauses(sc) {
				cl, err := s.cfg.Policy.Clause(id)
				if err != nil || cl.Testable == policy.TestableServerSide {
					continue // the loader rejects unknown ids; server-side clauses are never specs
				}
				id := id
				ginkgo.It(fmt.Sprintf("%s: %s", id, lowerFirst(cl.Promise)), ginkgo.Label(LabelClause+id), func() {
					s.checkClause(sc, id)
				})
			}
		})
	}
}

func (s *Suite) timeout() time.Duration {
	if s.cfg.Timeout > 0 {
		return s.cfg.Timeout
	}
	return 30 * time.Minute
}

// checkClause is the body of every spec.
func (s *Suite) checkClause(sc *policy.Scenario, id string) {
	o, ok := s.outcome(sc.Name)
	if !ok {
		ginkgo.Fail(fmt.Sprintf("scenario %s did not run (harness defect: it has a selected spec but no outcome)", sc.Name))
		return
	}
	gomega.Expect(o.Err).NotTo(gomega.HaveOccurred(), "running scenario %s", sc.Name)
	cr, ok := o.Judged.Clause(id)
	if !ok {
		ginkgo.Fail(fmt.Sprintf("the judge returned no verdict for clause %s", id))
		return
	}
	// Shown only on failure or with -v: a passing run stays one line a spec.
	ginkgo.AddReportEntry("verdict", Entry{Scenario: sc.Name, Clause: id, Verdict: cr.Verdict, Reason: cr.Reason, Findings: findingsOf(o.Judged, id), Omitted: cr.Omitted},
		ginkgo.ReportEntryVisibilityFailureOrVerbose)
	if cr.Verdict == judge.NotExercised {
		ginkgo.Skip(fmt.Sprintf("clause %s not exercised in scenario %s: %s", id, sc.Name, cr.Reason))
	}
	gomega.Expect(o.Judged).To(matchers.ComplyWith(id))
}

// Entry is the report entry every spec attaches: the verdict and its
// redacted evidence, for the report writers.
type Entry struct {
	Scenario string          `json:"scenario"`
	Clause   string          `json:"clause"`
	Verdict  judge.Verdict   `json:"verdict"`
	Reason   string          `json:"reason,omitempty"`
	Findings []judge.Finding `json:"findings,omitempty"`
	// Omitted counts the clause's findings beyond judge.MaxFindings, which
	// Findings does not list.
	Omitted int `json:"omitted,omitempty"`
}

func findingsOf(r *judge.Result, id string) []judge.Finding {
	var out []judge.Finding
	for _, f := range r.Findings {
		if f.Clause == id {
			out = append(out, f)
		}
	}
	return out
}

// execute runs (or, on replay, loads) every scenario that has a spec the
// label filter selects, concurrently, and judges each.
func (s *Suite) execute(ctx context.Context) {
	needed, err := s.needed()
	if err != nil {
		ginkgo.Fail(err.Error())
		return
	}
	if len(needed) == 0 {
		return
	}
	if s.cfg.Replay != "" {
		dirs := map[string][]string{}
		for _, sc := range needed {
			dirs[sc.Name] = ScenarioDirs(sc, s.cfg.Replay)
		}
		elsewhere, err := plantedAll(s.cfg.Policy, needed, dirs, nil)
		for _, sc := range needed {
			o := &Outcome{Scenario: sc.Name, Dirs: dirs[sc.Name], Err: err}
			if err == nil {
				o.Judged, o.Err = JudgeRunsWith(s.cfg.Policy, sc, dirs[sc.Name], nil, elsewhere)
			}
			s.record(o)
		}
		return
	}
	names := make([]string, len(needed))
	for i, sc := range needed {
		names[i] = sc.Name
	}
	opts := s.cfg.Runner
	opts.Policy = s.cfg.Policy
	opts.Moved = Moved(s.cfg.Policy)
	opts.Enough = func(sc *policy.Scenario, dirs []string, held map[string]scenario.Held) (string, error) {
		res, err := JudgeRuns(s.cfg.Policy, sc, dirs, held)
		if err != nil {
			return "", err
		}
		var missing []string
		for _, m := range res.Missing {
			missing = append(missing, m.String())
		}
		return strings.Join(missing, "; "), nil
	}
	results, err := scenario.RunAll(ctx, opts, names)
	if err != nil && results == nil {
		ginkgo.Fail(fmt.Sprintf("running scenarios: %v", err))
		return
	}
	// Every scenario's traffic is searched for the values any scenario of
	// this invocation planted (as the runner holds them), gathered once
	// every run is done.
	dirs := map[string][]string{}
	allHeld := map[string]scenario.Held{}
	for i, sc := range needed {
		dirs[sc.Name] = ScenarioDirs(sc, opts.Out)
		if i < len(results) && results[i] != nil {
			for d, h := range results[i].Held() {
				allHeld[d] = h
			}
		}
	}
	elsewhere, plantedErr := plantedAll(s.cfg.Policy, needed, dirs, allHeld)
	for i, sc := range needed {
		o := &Outcome{Scenario: sc.Name}
		var held map[string]scenario.Held
		if i < len(results) && results[i] != nil {
			o.Run = results[i]
			for _, r := range results[i].Runs {
				o.Dirs = append(o.Dirs, r.Dir)
			}
			held = results[i].Held()
			o.Err = results[i].Err
		} else {
			o.Err = fmt.Errorf("scenario %s: no result", sc.Name)
		}
		if o.Err == nil {
			o.Err = plantedErr
		}
		if o.Err == nil {
			// The values and chains the runner kept in memory, not the
			// files written from them.
			o.Judged, o.Err = JudgeRunsWith(s.cfg.Policy, sc, ScenarioDirs(sc, opts.Out), held, elsewhere)
		}
		if o.Judged != nil && o.Run != nil {
			o.Judged.Retries = o.Run.Retries
		}
		s.record(o)
	}
}

func (s *Suite) record(o *Outcome) {
	s.mu.Lock()
	s.outcomes[o.Scenario] = o
	s.mu.Unlock()
	if s.cfg.Log != nil {
		fmt.Fprintln(s.cfg.Log, o.Line())
	}
}

// Line is the one-line summary of a scenario's outcome.
func (o *Outcome) Line() string {
	if o.Err != nil {
		return fmt.Sprintf("scenario %-22s ERROR %v", o.Scenario, o.Err)
	}
	counts := map[judge.Verdict]int{}
	findings := 0
	for _, c := range o.Judged.Clauses {
		counts[c.Verdict]++
		findings += c.Findings
	}
	return fmt.Sprintf("scenario %-22s %d passed, %d violated, %d unobservable, %d findings", o.Scenario,
		counts[judge.Passed], counts[judge.Violated], counts[judge.Unobservable], findings)
}

// needed returns the selected scenarios with at least one spec that the
// label filter keeps.
func (s *Suite) needed() ([]*policy.Scenario, error) {
	suiteCfg, _ := ginkgo.GinkgoConfiguration()
	filter := func([]string) bool { return true }
	if strings.TrimSpace(suiteCfg.LabelFilter) != "" {
		f, err := types.ParseLabelFilter(suiteCfg.LabelFilter)
		if err != nil {
			return nil, fmt.Errorf("label filter %q: %w", suiteCfg.LabelFilter, err)
		}
		filter = f
	}
	var out []*policy.Scenario
	for _, sc := range s.selected {
		for _, id := range s.cfg.Policy.JudgedClauses(sc) {
			if filter([]string{LabelCompliance, LabelScenario + sc.Name, LabelClause + id}) {
				out = append(out, sc)
				break
			}
		}
	}
	return out, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// plantedAll indexes what every scenario planted (PlantedIn), once, for
// each scenario's judge.Input.Elsewhere.
func plantedAll(p *policy.Policy, scs []*policy.Scenario, dirs map[string][]string, held map[string]scenario.Held) (*judge.Elsewhere, error) {
	var all []judge.Planted
	for _, sc := range scs {
		pl, err := PlantedIn(sc.Name, dirs[sc.Name], held)
		if err != nil {
			return nil, err
		}
		all = append(all, pl)
	}
	return judge.NewElsewhere(p, all)
}
