package reports_test

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/reports"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

const repoRoot = ".."

// fixtureRuns maps a scenario of policy.yaml to the hand-made capture
// folder that stands in for its run: one violation with a planted value in
// a header, a request sent while opted out, and a multi-run scenario with
// a repeated run id.
var fixtureRuns = map[string]string{
	"opt-in-custom-goals": "user-raw",
	"opt-out":             "opt-out-request",
	"repeated-runs":       "repeated-runs-fixed-run-id",
}

// fixtureScenarios is the order the fixture run lists them (policy order).
var fixtureScenarios = []string{"opt-out", "opt-in-custom-goals", "repeated-runs"}

// fixedStart makes the report's own times deterministic for golden files.
var fixedStart = time.Date(2023, 6, 13, 23, 46, 0, 0, time.UTC)

// outputFolder lays out an output folder under a fresh temp dir as run
// would (policy.yaml and one folder per scenario) from fixture captures,
// for the given scenarios.
func outputFolder(scenarios ...string) string {
	GinkgoHelper()
	out := GinkgoT().TempDir()
	// A frozen copy of policy.yaml, so that the golden files change when
	// the writers or the judge change, not with every edit of the policy.
	pol, err := os.ReadFile(filepath.Join("testdata", "policy.yaml"))
	Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
	Expect(os.WriteFile(filepath.Join(out, reports.PolicyName), pol, 0o644)).To(Succeed())
	for _, s := range scenarios {
		Expect(copyDir(filepath.Join(repoRoot, "fixtures", "captures", fixtureRuns[s]), filepath.Join(out, s))).To(Succeed(), "copying fixture for %s", s)
	}
	return out
}

// judgeFolder judges the scenarios in out like the compliance specs do and
// builds the report with deterministic times and paths.
func judgeFolder(out string, scenarios ...string) (*reports.Report, *policy.Policy) {
	GinkgoHelper()
	return judgeFolderWith(true, out, scenarios...)
}

// judgeFolderWith is judgeFolder with the judge keeping the run listings
// in its pass (listing, as run does) or not (the reports then read each
// run folder with judge.ListRun).
func judgeFolderWith(listing bool, out string, scenarios ...string) (*reports.Report, *policy.Policy) {
	GinkgoHelper()
	p, err := policy.Load(filepath.Join(out, reports.PolicyName))
	Expect(err).NotTo(HaveOccurred(), "policy.Load")
	var outcomes []reports.ScenarioOutcome
	for _, name := range scenarios {
		sc, err := p.Scenario(name)
		Expect(err).NotTo(HaveOccurred(), "p.Scenario")
		var dirs []string
		for _, r := range sc.RunsOf() {
			dir := filepath.Join(out, name)
			if len(sc.Runs) > 0 {
				dir = filepath.Join(dir, r.Name)
			}
			dirs = append(dirs, dir)
		}
		in, err := judge.OpenRuns(p, sc, dirs)
		Expect(err).NotTo(HaveOccurred(), "judge.OpenRuns")
		in.Listing = listing
		res, err := judge.Judge(in)
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		outcomes = append(outcomes, reports.ScenarioOutcome{Scenario: name, Dirs: dirs, Judged: res})
	}
	r := reports.Build(p, outcomes)
	r.Policy = reports.PolicyName
	r.Started, r.Finished = fixedStart, fixedStart.Add(3*time.Second)
	r.Command = []string{"telemetry-harness", "run", "--out", "OUT"}
	reports.Attach(r, p, out)
	return r, p
}

// plantedValues are every canary value of the fixture folders in out.
func plantedValues(out string) []string {
	GinkgoHelper()
	var vs []string
	Expect(filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Name() == judge.CanariesName {
			cs, err := canary.ReadFile(path)
			if err != nil {
				return err
			}
			for _, c := range cs {
				vs = append(vs, c.Value)
			}
		}
		return err
	})).To(Succeed())
	Expect(vs).NotTo(BeEmpty(), "the fixtures plant canaries")
	return vs
}

func copyDir(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		t := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(t, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(t, b, 0o600)
	})
}
