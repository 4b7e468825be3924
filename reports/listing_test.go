package reports_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/reports"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// bigRun lays out a run folder at dir from the user-raw fixture with a
// capture of n exchanges: the fixture's report (a planted value in its
// User-Agent) at sequence number whole, small JSON bodies elsewhere.
// Responses come in batches of 100 in reverse order, so that the capture
// streams in an order other than sequence order, as concurrent clients
// record it. It returns the capture's size and the request bytes.
func bigRun(dir string, n int, whole int64) (fileSize, bodies int64) {
	GinkgoHelper()
	fixture := filepath.Join(repoRoot, "fixtures", "captures", "user-raw")
	Expect(copyDir(fixture, dir)).To(Succeed())
	exs, err := capture.Load(filepath.Join(fixture, "capture.jsonl"))
	Expect(err).NotTo(HaveOccurred(), "capture.Load")
	Expect(exs).To(HaveLen(1))
	model := exs[0]
	w, err := capture.Create(filepath.Join(dir, "capture.jsonl"))
	Expect(err).NotTo(HaveOccurred(), "capture.Create")
	const batch = 100
	for start := 1; start <= n; start += batch {
		end := min(start+batch-1, n)
		for seq := start; seq <= end; seq++ {
			ex := *model
			ex.Seq, ex.Response = int64(seq), nil
			ex.Time = model.Time.Add(time.Duration(seq) * time.Millisecond)
			if int64(seq) != whole {
				body := fmt.Appendf(nil, `{"title":"pants run %d","content":"{}"}`, seq)
				ex.Body = capture.Body{Raw: body, Size: int64(len(body))}
				ex.Headers = nil
			}
			bodies += ex.Body.Size
			Expect(w.Exchange(&ex)).To(Succeed())
		}
		for seq := end; seq >= start; seq-- {
			Expect(w.Response(int64(seq), &capture.Response{Status: 200, Time: model.Time.Add(time.Duration(seq+5) * time.Millisecond)})).To(Succeed())
		}
	}
	Expect(w.Close()).To(Succeed())
	st, err := os.Stat(filepath.Join(dir, "capture.jsonl"))
	Expect(err).NotTo(HaveOccurred(), "os.Stat")
	return st.Size(), bodies
}

// resultOf is a judge result of one scenario with one clause violated:
// kept are the findings listed, omitted those the judge only counted.
func resultOf(scenario, clause string, kept []judge.Finding, omitted int) *judge.Result {
	return &judge.Result{Scenario: scenario, Findings: kept, Clauses: []judge.ClauseResult{
		{Clause: clause, Verdict: judge.Violated, Findings: len(kept) + omitted, Omitted: omitted},
	}}
}

const (
	bigScenario = "opt-in-custom-goals"
	bigClause   = "anonymity.no-personal-values"
)

var _ = Describe("a run folder with many exchanges", func() {
	const n = 20000
	const cited = n - 1 // beyond MaxListedRequests
	var (
		out              string
		p                *policy.Policy
		r                *reports.Report
		fileSize, bodies int64
		findings         []judge.Finding
	)

	BeforeEach(func() {
		out = GinkgoT().TempDir()
		pol, err := os.ReadFile(filepath.Join("testdata", "policy.yaml"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(os.WriteFile(filepath.Join(out, reports.PolicyName), pol, 0o644)).To(Succeed())
		fileSize, bodies = bigRun(filepath.Join(out, bigScenario), n, cited)
		p, err = policy.Load(filepath.Join(out, reports.PolicyName))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		findings = []judge.Finding{
			{Clause: bigClause, Scenario: bigScenario, Exchange: cited, Path: "header:User-Agent", Check: "canary-absent", Message: "the user name was sent"},
			{Clause: bigClause, Scenario: bigScenario, Exchange: 3, Path: "$.title", Check: "canary-absent", Message: "a cited request within the first ones"},
		}
		r = reports.Build(p, []reports.ScenarioOutcome{{Scenario: bigScenario, Dirs: []string{filepath.Join(out, bigScenario)},
			Judged: resultOf(bigScenario, bigClause, findings, 1234)}})
		r.Policy = reports.PolicyName
		reports.Attach(r, p, out)
	})

	It("lists the first MaxListedRequests requests by sequence number, every cited one, and counts the rest", func() {
		run := r.Scenarios[0].Runs[0]
		Expect(run.Error).To(BeEmpty())
		Expect(run.TotalRequests).To(Equal(n))
		Expect(run.TotalBytes).To(Equal(bodies))
		Expect(run.Capture).To(Equal(bigScenario + "/capture.jsonl"))
		Expect(run.Requests).To(HaveLen(reports.MaxListedRequests+1), "the first %d and the cited #%d; #3 is among the first", reports.MaxListedRequests, cited)
		Expect(run.RequestsOmitted).To(Equal(n - reports.MaxListedRequests - 1))
		for i, rq := range run.Requests[:reports.MaxListedRequests] {
			Expect(rq.Seq).To(Equal(int64(i+1)), "listed in sequence order although the capture streams in completion order")
			Expect(rq.Status).To(Equal(200))
		}
		Expect(run.Requests[reports.MaxListedRequests].Seq).To(Equal(int64(cited)))
	})

	It("lists a cited request beyond the first ones with its evidence, planted values redacted", func() {
		ev := r.Evidence(findings[0])
		Expect(ev).NotTo(BeEmpty(), "the request cited by a kept finding is listed with its evidence")
		var ua string
		for _, l := range ev {
			if l.Cites(findings[0].Path) {
				ua = l.Text
			}
		}
		Expect(ua).To(HavePrefix("User-Agent: "))
		Expect(ua).To(ContainSubstring("«user»"))
		Expect(r.Evidence(findings[1])).NotTo(BeEmpty(), "a cited request among the first ones keeps its evidence too")
		n := 0
		for _, rq := range r.Scenarios[0].Runs[0].Requests {
			if rq.Evidence != nil {
				n++
			}
		}
		Expect(n).To(Equal(2), "only cited requests carry evidence")
	})

	It("counts every report into the field table, holding no exchange", func() {
		Expect(r.Fields).NotTo(BeNil())
		Expect(r.Fields.Reports).To(Equal(n))
		sent := map[string]int{}
		for _, row := range r.Fields.Rows {
			sent[row.Path] = row.Sent
		}
		Expect(sent).To(HaveKeyWithValue("$.title", n))
		Expect(sent).To(HaveKeyWithValue("$.content.user_id", 1), "the fixture's report is the only one with content fields")
	})

	It("writes reports whose size does not grow with the capture", func() {
		Expect(reports.WriteAll(out, r)).To(Succeed())
		for _, name := range []string{reports.JSONName, reports.MarkdownName, reports.HTMLName, reports.SARIFName} {
			st, err := os.Stat(filepath.Join(out, name))
			Expect(err).NotTo(HaveOccurred(), "os.Stat")
			Expect(st.Size()).To(BeNumerically("<", fileSize/10), "%s lists a bounded number of requests, the %d-byte capture holds %d", name, fileSize, n)
		}
		html, err := os.ReadFile(filepath.Join(out, reports.HTMLName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(html)).To(ContainSubstring("and 19,499 more requests not listed (20,000 in all,"))
		Expect(string(html)).To(ContainSubstring("see <code>" + bigScenario + "/capture.jsonl</code>"))
		md, err := os.ReadFile(filepath.Join(out, reports.MarkdownName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(md)).To(ContainSubstring("19,499 more requests are not listed"))
		Expect(string(md)).To(ContainSubstring("| "+bigScenario+" | 1 | 20000 | 1236 |"), "the scenario table counts every request and finding, listed or not")
	})
})

var _ = Describe("omitted findings", func() {
	var (
		out string
		r   *reports.Report
	)

	BeforeEach(func() {
		out = outputFolder(bigScenario)
		p, err := policy.Load(filepath.Join(out, reports.PolicyName))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		kept := []judge.Finding{{Clause: bigClause, Scenario: bigScenario, Exchange: 1, Path: "header:User-Agent", Check: "canary-absent", Message: "the user name was sent"}}
		r = reports.Build(p, []reports.ScenarioOutcome{{Scenario: bigScenario, Dirs: []string{filepath.Join(out, bigScenario)},
			Judged: resultOf(bigScenario, bigClause, kept, 1234)}})
		r.Policy = reports.PolicyName
		reports.Attach(r, p, out)
		Expect(reports.WriteAll(out, r)).To(Succeed())
	})

	clauseOf := func(r *reports.Report, id string) reports.Clause {
		GinkgoHelper()
		for _, c := range r.Clauses {
			if c.ID == id {
				return c
			}
		}
		Fail("no clause " + id)
		return reports.Clause{}
	}

	It("are counted per clause and per scenario in report.json, which validates", func() {
		c := clauseOf(r, bigClause)
		Expect(c.Findings).To(HaveLen(1))
		Expect(c.Omitted).To(Equal(1234))
		Expect(c.Scenarios).To(ConsistOf(HaveField("Omitted", 1234)))
		Expect(r.Scenarios[0].Findings).To(Equal(1235), "the scenario counts listed and omitted findings")
		back, err := reports.ReadJSON(filepath.Join(out, reports.JSONName))
		Expect(err).NotTo(HaveOccurred(), "reports.ReadJSON")
		Expect(clauseOf(back, bigClause).Omitted).To(Equal(1234))
		b, err := os.ReadFile(filepath.Join(out, reports.JSONName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(validate(compile("report.schema.json", true), b)).To(Succeed())
	})

	It("are said in report.md and report.html", func() {
		md, err := os.ReadFile(filepath.Join(out, reports.MarkdownName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(md)).To(ContainSubstring("## Violations (1,235 findings, 1 listed)"))
		Expect(string(md)).To(ContainSubstring("- `" + bigClause + "`: 1,234 more findings of this clause are not listed"))
		html, err := os.ReadFile(filepath.Join(out, reports.HTMLName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(html)).To(ContainSubstring("1,234 more findings of this clause are not listed"))
	})

	It("have no SARIF result, only a count in the run's properties", func() {
		b, err := os.ReadFile(filepath.Join(out, reports.SARIFName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		var log struct {
			Runs []struct {
				Results    []json.RawMessage `json:"results"`
				Properties map[string]any    `json:"properties"`
			} `json:"runs"`
		}
		Expect(json.Unmarshal(b, &log)).To(Succeed())
		Expect(log.Runs[0].Results).To(HaveLen(1))
		Expect(log.Runs[0].Properties).To(HaveKeyWithValue("omittedFindings", BeNumerically("==", 1234)))
		Expect(validate(compile(filepath.Join("testdata", "sarif-2.1.0-reduced.schema.json"), true), b)).To(Succeed())
	})

	It("are added up by report --merge, per scenario and per clause", func() {
		// A second shard runs opt-in, which exercises the same clause.
		b := outputFolder()
		Expect(copyDir(filepath.Join(repoRoot, "fixtures", "captures", fixtureRuns[bigScenario]), filepath.Join(b, "opt-in"))).To(Succeed())
		p, err := policy.Load(filepath.Join(b, reports.PolicyName))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		kept := []judge.Finding{{Clause: bigClause, Scenario: "opt-in", Exchange: 1, Path: "header:User-Agent", Check: "canary-absent", Message: "the user name was sent"}}
		rb := reports.Build(p, []reports.ScenarioOutcome{{Scenario: "opt-in", Dirs: []string{filepath.Join(b, "opt-in")},
			Judged: resultOf("opt-in", bigClause, kept, 5)}})
		reports.Attach(rb, p, b)
		Expect(reports.WriteJSON(b, rb)).To(Succeed())

		merged := GinkgoT().TempDir()
		m, _, err := reports.Merge(merged, []string{out, b})
		Expect(err).NotTo(HaveOccurred(), "reports.Merge")
		c := clauseOf(m, bigClause)
		Expect(c.Findings).To(HaveLen(2))
		Expect(c.Omitted).To(Equal(1234 + 5))
		Expect(c.Scenarios).To(ConsistOf(
			And(HaveField("Scenario", bigScenario), HaveField("Omitted", 1234)),
			And(HaveField("Scenario", "opt-in"), HaveField("Omitted", 5))))
		total := map[string]int{}
		for _, s := range m.Scenarios {
			total[s.Name] = s.Findings
		}
		Expect(total).To(Equal(map[string]int{bigScenario: 1235, "opt-in": 6}))
	})
})

var _ = Describe("the run listing read once", func() {
	It("is the same whether the judge kept it in its pass or the reports read the run folders again", func() {
		out := outputFolder(fixtureScenarios...)
		kept, p := judgeFolderWith(true, out, fixtureScenarios...)
		again, _ := judgeFolderWith(false, out, fixtureScenarios...)
		a, err := json.Marshal(kept)
		Expect(err).NotTo(HaveOccurred(), "json.Marshal")
		b, err := json.Marshal(again)
		Expect(err).NotTo(HaveOccurred(), "json.Marshal")
		Expect(string(a)).To(Equal(string(b)))
		Expect(kept.Fields).NotTo(BeNil(), "the field table")

		// And the judge's pass held every cited request itself: no
		// second read was needed.
		sc, err := p.Scenario("opt-in-custom-goals")
		Expect(err).NotTo(HaveOccurred(), "p.Scenario")
		in, err := judge.OpenRuns(p, sc, []string{filepath.Join(out, "opt-in-custom-goals")})
		Expect(err).NotTo(HaveOccurred(), "judge.OpenRuns")
		in.Listing = true
		res, err := judge.Judge(in)
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		cited := map[int64]bool{}
		for _, f := range res.Findings {
			if f.Exchange != 0 {
				cited[f.Exchange] = true
			}
		}
		Expect(cited).NotTo(BeEmpty(), "the fixture has a finding on a request")
		run, ok := res.Listing(0, cited)
		Expect(ok).To(BeTrue(), "every cited request was printed in the judge's pass")
		var withEvidence int
		for _, rq := range run.Requests {
			if len(rq.Evidence) > 0 {
				withEvidence++
			}
		}
		Expect(withEvidence).To(Equal(len(cited)))

		_, ok = res.Listing(0, map[int64]bool{999999: true})
		Expect(ok).To(BeFalse(), "a cited exchange the pass never printed asks for a second read")
	})
})
