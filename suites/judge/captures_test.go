package judge_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

const root = "../.."

type captureCase struct {
	Name     string   `json:"name"`
	Scenario string   `json:"scenario"`
	Violated []string `json:"violated"`
	Note     string   `json:"note"`
}

// cases are read before the tree is built: the table is data.
func cases() []captureCase {
	b, err := os.ReadFile(filepath.Join(root, "fixtures/captures/cases.json"))
	if err != nil {
		panic("fixtures/captures/cases.json: " + err.Error()) // test setup only
	}
	var cs []captureCase
	if err := json.Unmarshal(b, &cs); err != nil {
		panic("fixtures/captures/cases.json: " + err.Error())
	}
	return cs
}

func loadPolicy(name string) *policy.Policy {
	GinkgoHelper()
	p, err := policy.Load(filepath.Join(root, name))
	Expect(err).NotTo(HaveOccurred(), "policy.Load")
	return p
}

func judgeFolders(p *policy.Policy, scenario string, dirs ...string) *judge.Result {
	GinkgoHelper()
	var runs []judge.RunData
	sc, err := p.Scenario(scenario)
	Expect(err).NotTo(HaveOccurred(), "p.Scenario")
	for i, d := range dirs {
		r, err := judge.LoadRun(d)
		Expect(err).NotTo(HaveOccurred(), "loading %s", d)
		if len(sc.Runs) > 0 {
			r.Name, r.Set = sc.Runs[i].Name, sc.Runs[i].Set
		}
		runs = append(runs, r)
	}
	res, err := judge.Judge(judge.Input{Policy: p, Scenario: scenario, Runs: runs})
	Expect(err).NotTo(HaveOccurred(), "judge.Judge")
	return res
}

func violatedClauses(res *judge.Result) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range res.Findings {
		if !seen[f.Clause] {
			seen[f.Clause] = true
			out = append(out, f.Clause)
		}
	}
	sort.Strings(out)
	return out
}

func canaryValues(dir string) []string {
	GinkgoHelper()
	cs, err := canary.ReadFile(filepath.Join(dir, "canaries.json"))
	Expect(err).NotTo(HaveOccurred(), "canary.ReadFile")
	var out []string
	for _, c := range cs {
		out = append(out, c.Value)
	}
	return out
}

var _ = Describe("hand-written captures", func() {
	var entries []TableEntry
	for _, c := range cases() {
		entries = append(entries, Entry(c.Name+": "+c.Note, c))
	}

	DescribeTable("yield exactly their clauses' findings",
		func(c captureCase) {
			p := loadPolicy("policy.yaml")
			dir := filepath.Join(root, "fixtures/captures", c.Name)
			res := judgeFolders(p, c.Scenario, dir)
			want := append([]string{}, c.Violated...)
			sort.Strings(want)
			if len(want) == 0 {
				Expect(res.Findings).To(BeEmpty())
			} else {
				Expect(violatedClauses(res)).To(Equal(want))
			}
			for _, cr := range res.Clauses {
				if cr.Verdict == judge.Violated {
					Expect(want).To(ContainElement(cr.Clause))
				} else {
					Expect(cr.Findings).To(BeZero())
				}
			}
			for _, id := range want {
				cr, ok := res.Clause(id)
				Expect(ok).To(BeTrue())
				Expect(cr.Verdict).To(Equal(judge.Violated), id)
			}
			By("never printing a canary value")
			for _, f := range res.Findings {
				line := strings.ToLower(f.String())
				for _, v := range canaryValues(dir) {
					Expect(line).NotTo(ContainSubstring(strings.ToLower(v)), "finding %q prints a canary", f.String())
				}
				Expect(line).NotTo(ContainSubstring("974b1acc"), "the bearer token is never printed")
			}
		},
		entries,
	)

	It("passes every clause the compliant report's scenario exercises, and never a server-side one", func() {
		p := loadPolicy("policy.yaml")
		res := judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/compliant"))
		sc, err := p.Scenario("opt-in-custom-goals")
		Expect(err).NotTo(HaveOccurred(), "p.Scenario")
		for _, cr := range res.Clauses {
			switch {
			case strings.HasPrefix(cr.Clause, "server."):
				Expect(cr.Verdict).To(Equal(judge.NotTestable), cr.Clause)
			case sc.Exercises(cr.Clause):
				Expect(cr.Verdict).To(Equal(judge.Passed), "%s: %s", cr.Clause, cr.Reason)
			default:
				Expect(cr.Verdict).To(Equal(judge.NotExercised), cr.Clause)
			}
		}
		cr, _ := res.Clause("ids.salted-with-repo-id")
		Expect(cr.Reason).To(ContainSubstring("unlinkability needs two runs"))
	})

	It("reports the undocumented field with its path and redacted evidence", func() {
		p := loadPolicy("policy.yaml")
		res := judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/undocumented-field"))
		Expect(res.Findings).To(HaveLen(1))
		Expect(res.Findings[0].String()).To(Equal(`fields.documented-only [exchange #1] $.content.active_standard_backends: undocumented field "active_standard_backends" (list of 1, values redacted)`))
	})

	It("says how the canary was found: role and form", func() {
		p := loadPolicy("policy.yaml")
		res := judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/user-base64"))
		Expect(res.Findings).To(HaveLen(1))
		Expect(res.Findings[0].String()).To(Equal("anonymity.no-personal-values [exchange #1] $.content.platform: the user canary is sent (base64) (role user, form base64, value of 16 chars)"))
	})

	It("calls nothing-sent unobservable, not passed, when the client rejected the CA", func() {
		p := loadPolicy("policy.yaml")
		res := judgeFolders(p, "opt-out", filepath.Join(root, "fixtures/captures/opt-out-tunnel-rejected"))
		Expect(res.Findings).To(BeEmpty())
		cr, _ := res.Clause("consent.nothing-until-opt-in")
		Expect(cr.Verdict).To(Equal(judge.Unobservable))
		Expect(cr.Reason).To(Equal("the harness could not see inside: exchange #1 is tunnel-rejected to spire.bugout.dev:443"))
		cr, _ = res.Clause("consent.opt-out-silences-logging")
		Expect(cr.Verdict).To(Equal(judge.Passed))
	})

	It("judges several runs together: a run_id reused across repeated runs", func() {
		p := loadPolicy("policy.yaml")
		dir := filepath.Join(root, "fixtures/captures/repeated-runs-fixed-run-id")
		res := judgeFolders(p, "repeated-runs", filepath.Join(dir, "run-1"), filepath.Join(dir, "run-2"), filepath.Join(dir, "run-3"))
		Expect(violatedClauses(res)).To(Equal([]string{"run-id.unique-timestamped"}))
		var lines []string
		for _, f := range res.Findings {
			lines = append(lines, f.String())
		}
		Expect(lines).To(ConsistOf(
			"run-id.unique-timestamped [run run-2 exchange #1] $.content.run_id: run_id repeats the one of run run-1",
			"run-id.unique-timestamped [run run-2 exchange #1] $.content.run_id: run_id time stamp 2023-06-13T23:46:40Z lies outside the run (2023-06-13T23:46:50Z to 2023-06-13T23:46:52Z)",
			// The random check (policy: run_id's uuid part is a random uuid4).
			"run-id.unique-timestamped [run run-2 exchange #1] $.content.run_id: run_id's random part repeats the one of run run-1: not different in every run",
			"run-id.unique-timestamped [run run-3 exchange #1] $.content.run_id: run_id's random part is a version-12 UUID, not a random (version-4) one (32 chars)",
		))
		cr, _ := res.Clause("reports.one-per-run")
		Expect(cr.Verdict).To(Equal(judge.Passed))
	})
})
