package mutation_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/shlex"
	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/reports"
	"github.com/telemetry-harness/telemetry-harness/suites/compliance"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// Labels: every entry has LabelMutation and one of "mutant:<name>" or
// "profile:<name>", so --label-filter runs one tool.
const (
	LabelMutation = "mutation"
	labelMutant   = "mutant:"
	labelProfile  = "profile:"
)

// How hard the bench drives the machine: pool tools at once, each with
// parallel scenarios at once. CI machines and this one have 2 cores; the
// tool runs mostly wait (python start-up, the sink's delays), so 3×3 keeps
// them busy without starving the proxies.
const (
	defaultPool     = 3
	defaultParallel = 3
	// runTimeout bounds one tool run; the slowest legitimate run (a
	// foreground send to the 10 s slow sink) ends after the reference's
	// 5 s client timeout.
	runTimeout = 45 * time.Second
	// noDeadlineTimeout bounds the tool runs when go test has no deadline
	// (-timeout 0).
	noDeadlineTimeout = 30 * time.Minute
	// deadlineMargin is left of go test's deadline for judging, the
	// entries and the report, so a slow machine fails as a spec with a
	// message instead of go test's panic dump.
	deadlineMargin = 45 * time.Second
)

// The reference's two profiles.
const (
	profileDocumented = "documented"
	profilePants216   = "pants-2.16"
)

// subject is one tool the bench runs through every scenario.
type subject struct {
	// Name is the mutant's or profile's name.
	Name string
	// Kind is "mutant" or "profile".
	Kind string
	// Words are the tool words, paths made absolute.
	Words []string
	// Expect are the clauses that must end violated, sorted; nothing else
	// may.
	Expect []string
	// SealedOnly: the mutant misbehaves only in sealed runs.
	SealedOnly bool
	// Scenarios limits the run (all when empty); Finding is a substring
	// some finding of the expected clauses must hold (manifest).
	Scenarios []string
	Finding   string
	// HarnessError: the mutant must end in harness errors holding this
	// text (see mutant.HarnessError).
	HarnessError string
	// Differential runs the scenarios with --differential.
	Differential bool
}

// outcome is what running one subject gave.
type outcome struct {
	Report  *reports.Report
	Err     error
	Elapsed time.Duration
	// Runs and Sealed count the tool runs and those that ran in a sealed
	// namespace; Unsealed is why one did not (egress.json's reason).
	Runs, Sealed int
	Unsealed     string
}

type benchConfig struct {
	Policy  *policy.Policy
	Root    string
	Out     string
	Mutants []mutant
	// Deadline is go test's deadline (t.Deadline); zero means none.
	Deadline time.Time
}

// timeout bounds the whole run phase: up to go test's deadline, less a
// margin. On a loaded 2-core machine the phase can take 7 minutes, close
// to go test's default 10; `go test -timeout 20m` gives it room.
func (c benchConfig) timeout() time.Duration {
	if c.Deadline.IsZero() {
		return noDeadlineTimeout
	}
	if d := time.Until(c.Deadline) - deadlineMargin; d > 0 {
		return d
	}
	return time.Second
}

// bench runs the subjects and holds their outcomes (no package state).
type bench struct {
	cfg      benchConfig
	subjects []subject

	// Written by BeforeSuite before any entry or report node reads them:
	// results[i] belongs to subjects[i], nil when the label filter left
	// it out.
	results []*outcome
	wall    time.Duration
	ran     int
}

func newBench(cfg benchConfig) (*bench, error) {
	b := &bench{cfg: cfg}
	// The interpreter itself, not a version manager's shim: a pyenv shim
	// costs about 1 s of CPU per start against 0.25 s for the interpreter,
	// and the bench starts it for some 30 tools × 16 runs on 2 cores. Same
	// interpreter, same verdicts.
	python, err := scenario.Python(context.Background())
	if err != nil {
		return nil, err
	}
	for _, m := range cfg.Mutants {
		words, err := shlex.Split(m.Tool)
		if err != nil {
			return nil, fmt.Errorf("mutant %s: tool %q: cannot split into words: %w", m.Name, m.Tool, err)
		}
		if len(words) == 0 {
			return nil, fmt.Errorf("mutant %s: tool %q names no command", m.Name, m.Tool)
		}
		if words[0] == "python3" {
			words[0] = python
		}
		b.subjects = append(b.subjects, subject{Name: m.Name, Kind: "mutant", Words: scenario.ResolveTool(words, cfg.Root), Expect: m.Clauses, SealedOnly: m.Sealed,
			Scenarios: m.Scenarios, Finding: m.Finding, HarnessError: m.HarnessError, Differential: m.Differential})
	}
	ref := []string{python, filepath.Join(cfg.Root, "fixtures", "reference", "pants.py")}
	b.subjects = append(b.subjects,
		subject{Name: profilePants216, Kind: "profile", Words: append(ref[:2:2], "--ref-profile="+profilePants216), Expect: pants216Findings()},
		subject{Name: profileDocumented, Kind: "profile", Words: append(ref[:2:2], "--ref-profile="+profileDocumented)},
		// The reference keeps its promise under a differential run too:
		// every value that moves is declared (varies: per-run, or an id).
		subject{Name: profileDocumented + "-differential", Kind: "profile", Words: append(ref[:2:2], "--ref-profile="+profileDocumented), Differential: true},
	)
	b.results = make([]*outcome, len(b.subjects))
	return b, nil
}

// pants216Findings are what Pants 2.16 really did: it sent the
// undocumented active_standard_backends, and it sent in the foreground, so
// a slow endpoint slowed the run.
func pants216Findings() []string {
	return []string{"fields.documented-only", "transport.background"}
}

func (s subject) labels() Labels {
	if s.Kind == "mutant" {
		return Label(LabelMutation, labelMutant+s.Name)
	}
	return Label(LabelMutation, labelProfile+s.Name)
}

// define declares the spec tree; call it before RunSpecs.
func (b *bench) define() {
	BeforeSuite(func(ctx SpecContext) {
		b.run(ctx)
	}, NodeTimeout(b.cfg.timeout()))

	entries := make([]TableEntry, 0, len(b.subjects))
	for i, s := range b.subjects {
		entries = append(entries, Entry(s.Name, i, s.labels()))
	}
	DescribeTable("a tool run through every scenario violates exactly its clauses",
		func(i int) { b.check(i) }, entries)

	ReportAfterSuite("mutation score", func(r Report) {
		line := b.score()
		fmt.Fprintln(GinkgoWriter, line)
		fmt.Println(line)
	})
}

// selected returns the subjects whose entry the label filter keeps.
func (b *bench) selected() ([]int, error) {
	filter := func([]string) bool { return true }
	if expr := strings.TrimSpace(GinkgoLabelFilter()); expr != "" {
		f, err := types.ParseLabelFilter(expr)
		if err != nil {
			return nil, fmt.Errorf("label filter %q: %w", expr, err)
		}
		filter = f
	}
	var out []int
	for i, s := range b.subjects {
		if filter(s.labels()) {
			out = append(out, i)
		}
	}
	return out, nil
}

// run runs the selected subjects, defaultPool at once.
func (b *bench) run(ctx context.Context) {
	idx, err := b.selected()
	Expect(err).NotTo(HaveOccurred(), "b.selected")
	if len(idx) == 0 {
		return
	}
	start := time.Now()
	sem := make(chan struct{}, defaultPool)
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			b.results[i] = b.runOne(ctx, b.subjects[i])
		}()
	}
	wg.Wait()
	b.wall, b.ran = time.Since(start), len(idx)
	// Printed on every run (not only on failure): the suite's cost is a
	// number CI keeps an eye on.
	var msg strings.Builder
	fmt.Fprintf(&msg, "mutation: %d tool(s) × %d scenarios in %s (%d tools at once, %d scenarios each)",
		b.ran, len(b.cfg.Policy.Scenarios), b.wall.Round(100*time.Millisecond), defaultPool, defaultParallel)
	for _, i := range idx {
		o := b.results[i]
		fmt.Fprintf(&msg, "\n  %-30s %6s  %d/%d runs sealed  %s", b.subjects[i].Name, o.Elapsed.Round(100*time.Millisecond), o.Sealed, o.Runs, o.line())
	}
	fmt.Fprintln(GinkgoWriter, msg.String())
	AddReportEntry("wall time", msg.String())
}

// runOne runs every scenario with one tool, judges each and aggregates the
// verdicts per clause, as `telemetry-harness run` does.
func (b *bench) runOne(ctx context.Context, s subject) *outcome {
	p := b.cfg.Policy
	if len(s.Scenarios) > 0 {
		only := *p
		only.Scenarios = nil
		for _, sc := range p.Scenarios {
			if slices.Contains(s.Scenarios, sc.Name) {
				only.Scenarios = append(only.Scenarios, sc)
			}
		}
		p = &only
	}
	start := time.Now()
	o := &outcome{}
	defer func() { o.Elapsed = time.Since(start) }()
	out := filepath.Join(b.cfg.Out, s.Kind+"-"+s.Name)
	opts := scenario.Options{Policy: p, Tool: s.Words, Root: b.cfg.Root, Out: out, Parallel: defaultParallel, Timeout: runTimeout, Differential: s.Differential, Moved: compliance.Moved(p)}
	results, err := scenario.RunAll(ctx, opts, nil)
	if err != nil {
		o.Err = fmt.Errorf("%s %s: %w", s.Kind, s.Name, err)
		return o
	}
	// As run does: every scenario is searched for what any scenario planted
	// (as the runner holds it).
	held := map[string]scenario.Held{}
	for _, r := range results {
		if r != nil {
			for d, h := range r.Held() {
				held[d] = h
			}
		}
	}
	var planted []judge.Planted
	for i := range p.Scenarios {
		sc := &p.Scenarios[i]
		pl, err := compliance.PlantedIn(sc.Name, compliance.ScenarioDirs(sc, out), held)
		if err != nil {
			o.Err = fmt.Errorf("%s %s: %w", s.Kind, s.Name, err)
			return o
		}
		planted = append(planted, pl)
	}
	elsewhere, err := judge.NewElsewhere(p, planted)
	if err != nil {
		o.Err = fmt.Errorf("%s %s: %w", s.Kind, s.Name, err)
		return o
	}
	outs := make([]reports.ScenarioOutcome, 0, len(p.Scenarios))
	for i := range p.Scenarios {
		sc := &p.Scenarios[i]
		ro := reports.ScenarioOutcome{Scenario: sc.Name}
		switch {
		case i >= len(results) || results[i] == nil:
			ro.Err = fmt.Errorf("scenario %s: no result", sc.Name)
		case results[i].Err != nil:
			ro.Err = results[i].Err
		default:
			ro.Dirs = compliance.ScenarioDirs(sc, out)
			ro.Judged, ro.Err = compliance.JudgeRunsWith(p, sc, ro.Dirs, held, elsewhere)
			o.countSealed(ro.Dirs)
		}
		outs = append(outs, ro)
	}
	o.Report = reports.Build(p, outs)
	// The run folders are only needed for judging; 27 tools' worth would
	// otherwise pile up in the temp folder until the suite ends.
	os.RemoveAll(out)
	return o
}

// countSealed reads each run folder's egress.json: whether the run was
// sealed decides whether a sealed-only mutant could misbehave at all.
func (o *outcome) countSealed(dirs []string) {
	for _, d := range dirs {
		o.Runs++
		e, err := capture.ReadEgress(d)
		switch {
		case err != nil:
			o.Unsealed = err.Error()
		case e.Sealed:
			o.Sealed++
		default:
			o.Unsealed = e.Reason
		}
	}
}

// violated are the clauses whose aggregated verdict is violated, sorted.
func (o *outcome) violated() []string {
	var ids []string
	for _, c := range o.Report.Clauses {
		if c.Verdict == reports.Violated {
			ids = append(ids, c.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// harnessErrors lists the scenarios that could not be run or judged.
func (o *outcome) harnessErrors() []string {
	var errs []string
	for _, sc := range o.Report.Scenarios {
		if sc.Error != "" {
			errs = append(errs, fmt.Sprintf("scenario %s: %s", sc.Name, sc.Error))
		}
	}
	return errs
}

// line is a one-line summary for progress output.
func (o *outcome) line() string {
	if o.Err != nil {
		return "ERROR " + o.Err.Error()
	}
	if errs := o.harnessErrors(); len(errs) > 0 {
		return fmt.Sprintf("%d harness error(s); violated: %s", len(errs), strings.Join(o.violated(), " "))
	}
	return "violated: " + strings.Join(o.violated(), " ")
}

// check is the body of every entry.
func (b *bench) check(i int) {
	s := b.subjects[i]
	o := b.results[i]
	Expect(o).NotTo(BeNil(), "%s %s was not run (harness defect: its entry is selected but BeforeSuite skipped it)", s.Kind, s.Name)
	Expect(o.Err).NotTo(HaveOccurred(), "running %s %s", s.Kind, s.Name)
	if s.HarnessError != "" {
		// Changed evidence is refused, never judged: a harness error
		// where the mutant reached the evidence (runs that are not
		// sealed), its leak violated where it could not (a sealed run
		// hides the output folder), never a clean pass.
		errs := o.harnessErrors()
		for _, e := range errs {
			Expect(e).To(ContainSubstring(s.HarnessError), "%s %s", s.Kind, s.Name)
		}
		Expect(s.Expect).To(ContainElements(o.violated()), func() string { return explain(s, o) })
		Expect(len(errs)+len(o.violated())).To(BeNumerically(">", 0), "%s %s survives: no harness error, no violation\n%s", s.Kind, s.Name, explain(s, o))
		return
	}
	Expect(o.harnessErrors()).To(BeEmpty(), "%s %s: every scenario must run and be judged", s.Kind, s.Name)
	if s.SealedOnly && o.Sealed < o.Runs {
		Skip(fmt.Sprintf("mutant %s misbehaves only in sealed runs, and %d of %d runs were not sealed: %s",
			s.Name, o.Runs-o.Sealed, o.Runs, o.Unsealed))
	}
	// ConsistOf of nothing needs an empty slice, not nil elements.
	expect := make([]any, len(s.Expect))
	for j, id := range s.Expect {
		expect[j] = id
	}
	Expect(o.violated()).To(ConsistOf(expect...), func() string { return explain(s, o) })
	if s.Finding != "" {
		var msgs []string
		for _, c := range o.Report.Clauses {
			if slices.Contains(s.Expect, c.ID) {
				for _, f := range c.Findings {
					msgs = append(msgs, f.Message)
				}
			}
		}
		Expect(msgs).To(ContainElement(ContainSubstring(s.Finding)), "%s %s: no finding names the chain; findings: %q", s.Kind, s.Name, msgs)
	}
}

// explain says why the violated clauses differ from the expected ones:
// every surviving clause with its verdict per scenario, every extra
// clause with its findings.
func explain(s subject, o *outcome) string {
	want := map[string]bool{}
	for _, id := range s.Expect {
		want[id] = true
	}
	got := map[string]bool{}
	for _, id := range o.violated() {
		got[id] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s): the violated clauses differ from the expected ones\n", s.Kind, s.Name, strings.Join(s.Words, " "))
	for _, c := range o.Report.Clauses {
		switch {
		case want[c.ID] && !got[c.ID]:
			fmt.Fprintf(&b, "missing (the %s survives): %s is %s\n", s.Kind, c.ID, c.Verdict)
			for _, sv := range c.Scenarios {
				fmt.Fprintf(&b, "    scenario %s: %s", sv.Scenario, sv.Verdict)
				if sv.Reason != "" {
					fmt.Fprintf(&b, " (%s)", sv.Reason)
				}
				b.WriteString("\n")
			}
		case got[c.ID] && !want[c.ID]:
			fmt.Fprintf(&b, "extra: %s is violated, %d finding(s)\n", c.ID, len(c.Findings))
			for _, f := range firstFindings(c.Findings, 5) {
				fmt.Fprintf(&b, "    scenario %s: %s\n", f.Scenario, f.String())
			}
		}
	}
	return b.String()
}

func firstFindings(fs []judge.Finding, n int) []judge.Finding {
	if len(fs) > n {
		return fs[:n]
	}
	return fs
}

// score is the summary line: mutants killed (every listed clause
// violated), and whether the profiles gave what they should.
func (b *bench) score() string {
	if b.ran == 0 {
		return "mutation score: not measured (no tool ran)"
	}
	var mutants, killed, exact, unsealed int
	var parts []string
	for i, s := range b.subjects {
		o := b.results[i]
		if o == nil {
			continue
		}
		ok, survived := judgeOutcome(s, o)
		switch {
		case s.Kind == "mutant" && s.SealedOnly && o.Err == nil && o.Sealed < o.Runs:
			unsealed++
		case s.Kind == "mutant":
			mutants++
			if !survived {
				killed++
			}
			if ok {
				exact++
			}
		default:
			switch {
			case ok && len(s.Expect) > 0:
				parts = append(parts, s.Name+": expected findings")
			case ok:
				parts = append(parts, s.Name+": no violations")
			default:
				parts = append(parts, s.Name+": unexpected findings")
			}
		}
	}
	line := fmt.Sprintf("mutation score: %d/%d mutants killed", killed, mutants)
	if exact != mutants {
		line += fmt.Sprintf(" (%d/%d exactly)", exact, mutants)
	}
	if unsealed > 0 {
		line += fmt.Sprintf(" (%d sealed-only not judged: no sealed runs)", unsealed)
	}
	for _, p := range parts {
		line += ", " + p
	}
	return line + fmt.Sprintf("; %s wall time", b.wall.Round(100*time.Millisecond))
}

// judgeOutcome says whether o is exactly what s expects, and whether a
// mutant survived (a listed clause not violated, or no clean run).
func judgeOutcome(s subject, o *outcome) (ok, survived bool) {
	if s.HarnessError != "" && o.Err == nil {
		// Killed when the harness refused the changed evidence, or caught
		// the leak where the evidence was out of reach.
		errs := o.harnessErrors()
		for _, e := range errs {
			if !strings.Contains(e, s.HarnessError) {
				return false, true
			}
		}
		caught := len(errs) + len(o.violated())
		return caught > 0, caught == 0
	}
	if o.Err != nil || len(o.harnessErrors()) > 0 {
		return false, true
	}
	got := map[string]bool{}
	for _, id := range o.violated() {
		got[id] = true
	}
	for _, id := range s.Expect {
		if !got[id] {
			survived = true
		}
	}
	return !survived && len(got) == len(s.Expect), survived
}
