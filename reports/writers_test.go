package reports_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/telemetry-harness/telemetry-harness/reports"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

func render(write func(io.Writer, *reports.Report) error, r *reports.Report) []byte {
	GinkgoHelper()
	var b bytes.Buffer
	Expect(write(&b, r)).To(Succeed())
	return b.Bytes()
}

func jsonOf(r *reports.Report) []byte {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	Expect(reports.WriteJSON(dir, r)).To(Succeed())
	b, err := os.ReadFile(filepath.Join(dir, reports.JSONName))
	Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
	return b
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(name string, got []byte) {
	GinkgoHelper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		Expect(os.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
		Expect(os.WriteFile(path, got, 0o644)).To(Succeed())
		return
	}
	want, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "golden file %s is missing: run go test ./reports -update", path)
	Expect(string(got)).To(Equal(string(want)), "%s differs from the writer's output; if the change is intended, run go test ./reports -update and review the diff", path)
}

func compile(path string, assertFormat bool) *jsonschema.Schema {
	GinkgoHelper()
	c := jsonschema.NewCompiler()
	if assertFormat {
		c.AssertFormat()
	}
	s, err := c.Compile(path)
	Expect(err).NotTo(HaveOccurred(), "compiling %s", path)
	return s
}

func validate(s *jsonschema.Schema, b []byte) error {
	GinkgoHelper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	Expect(err).NotTo(HaveOccurred(), "jsonschema.UnmarshalJSON")
	return s.Validate(doc)
}

var _ = Describe("report writers", func() {
	var (
		out string
		r   *reports.Report
	)

	BeforeEach(func() {
		out = outputFolder(fixtureScenarios...)
		r, _ = judgeFolder(out, fixtureScenarios...)
	})

	It("lists every clause of the policy once, the fixture violations among them", func() {
		seen := map[string]int{}
		for _, c := range r.Clauses {
			seen[c.ID]++
		}
		p, err := policy.Load(filepath.Join(out, reports.PolicyName))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		Expect(seen).To(HaveLen(len(p.Clauses)))
		for id, n := range seen {
			Expect(n).To(Equal(1), "clause %s", id)
		}
		Expect(r.Verdict).To(Equal(reports.Violations))
		verdicts := map[string]string{}
		for _, c := range r.Clauses {
			verdicts[c.ID] = string(c.Verdict)
		}
		Expect(verdicts).To(HaveKeyWithValue("anonymity.no-personal-values", "violated"))
		Expect(verdicts).To(HaveKeyWithValue("consent.nothing-until-opt-in", "violated"))
		Expect(verdicts).To(HaveKeyWithValue("run-id.unique-timestamped", "violated"))
		Expect(verdicts).To(HaveKeyWithValue("transport.background", "not-exercised"))
		Expect(verdicts).To(HaveKeyWithValue("server.retention-1y", "not-testable"))
	})

	It("records run folders relative to the output folder, with timing per request", func() {
		Expect(r.Scenarios[0].Dirs).To(Equal([]string{"opt-out"}))
		Expect(r.Scenarios[2].Dirs).To(Equal([]string{"repeated-runs/run-1", "repeated-runs/run-2", "repeated-runs/run-3"}))
		run := r.Scenarios[1].Runs[0]
		Expect(run.Name).To(BeEmpty(), "a single run is unnamed, as in findings")
		Expect(run.Requests).To(HaveLen(1))
		Expect(run.Requests[0].OffsetMS).To(BeNumerically("==", 2650), "request complete 2.65 s after the run started (run.json)")
		Expect(r.Scenarios[2].Runs[1].Name).To(Equal("run-2"))
	})

	It("pretty-prints a cited request with the offending path and no planted value or secret", func() {
		var f *reports.Line
		for _, c := range r.Clauses {
			if c.ID != "anonymity.no-personal-values" {
				continue
			}
			Expect(c.Findings).NotTo(BeEmpty())
			ev := r.Evidence(c.Findings[0])
			Expect(ev).NotTo(BeEmpty(), "the cited request is loaded from the run folder")
			for i := range ev {
				if ev[i].Cites(c.Findings[0].Path) {
					f = &ev[i]
				}
				Expect(ev[i].Text).NotTo(ContainSubstring("Bearer"), "the Authorization value is a secret")
			}
		}
		Expect(f).NotTo(BeNil(), "a line cites the finding's path")
		Expect(f.Text).To(HavePrefix("User-Agent: "))
		Expect(f.Text).To(ContainSubstring("«user»"))
	})

	It("lists the fields sent beside the documented ones", func() {
		Expect(r.Fields).NotTo(BeNil())
		Expect(r.Fields.Scenario).To(Equal("opt-in-custom-goals"))
		status := map[string]string{}
		for _, row := range r.Fields.Rows {
			status[row.Path] = row.Status
		}
		Expect(status).To(HaveKeyWithValue("$.content.user_id", reports.FieldDocumentedSent))
		Expect(status).To(HaveKeyWithValue("$.title", reports.FieldEnvelope))
		Expect(status).To(HaveKeyWithValue("tags[goal]", reports.FieldDocumentedSent))
	})

	It("flags an undocumented field and a missing one", func() {
		out := outputFolder("opt-in-custom-goals")
		Expect(os.RemoveAll(filepath.Join(out, "opt-in-custom-goals"))).To(Succeed())
		Expect(copyDir(filepath.Join(repoRoot, "fixtures", "captures", "undocumented-field"), filepath.Join(out, "opt-in-custom-goals"))).To(Succeed())
		r, _ := judgeFolder(out, "opt-in-custom-goals")
		status := map[string]string{}
		for _, row := range r.Fields.Rows {
			status[row.Path] = row.Status
		}
		Expect(status).To(ContainElement(reports.FieldUndocumented), "the fixture sends a field the page does not list: %v", status)
	})

	It("writes no planted value into any report", func() {
		Expect(reports.WriteAll(out, r)).To(Succeed())
		for _, name := range []string{reports.JSONName, reports.MarkdownName, reports.HTMLName, reports.SARIFName} {
			b, err := os.ReadFile(filepath.Join(out, name))
			Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
			for _, v := range plantedValues(out) {
				Expect(strings.ToLower(string(b))).NotTo(ContainSubstring(strings.ToLower(v)), "%s prints a planted value", name)
			}
			Expect(string(b)).NotTo(ContainSubstring("Bearer "), "%s prints a secret", name)
		}
	})

	Describe("golden files", func() {
		It("report.json", func() { golden("report.json", jsonOf(r)) })
		It("report.md", func() { golden("report.md", render(reports.Markdown, r)) })
		It("report.html", func() { golden("report.html", render(reports.HTML, r)) })
		It("report.sarif", func() { golden("report.sarif", render(reports.SARIF, r)) })
	})

	Describe("report.json", func() {
		It("validates against reports/report.schema.json", func() {
			Expect(validate(compile("report.schema.json", true), jsonOf(r))).To(Succeed())
		})

		It("the schema check can fail: a clause without verdict is rejected", func() {
			var doc map[string]any
			Expect(json.Unmarshal(jsonOf(r), &doc)).To(Succeed())
			delete(doc["clauses"].([]any)[0].(map[string]any), "verdict")
			b, _ := json.Marshal(doc)
			Expect(validate(compile("report.schema.json", true), b)).To(MatchError(ContainSubstring("verdict")))
		})
	})

	Describe("report.sarif", func() {
		sarifSchema := filepath.Join("testdata", "sarif-2.1.0-reduced.schema.json")

		It("validates against the SARIF 2.1.0 structure", func() {
			Expect(validate(compile(sarifSchema, true), render(reports.SARIF, r))).To(Succeed())
		})

		It("has one rule per clause and one result per finding, ruleId the clause id, located at the clause", func() {
			var log struct {
				Runs []struct {
					Tool struct {
						Driver struct {
							Rules []struct{ ID string } `json:"rules"`
						} `json:"driver"`
					} `json:"tool"`
					Results []struct {
						RuleID    string `json:"ruleId"`
						RuleIndex int    `json:"ruleIndex"`
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
								Region           struct{ StartLine int } `json:"region"`
							} `json:"physicalLocation"`
						} `json:"locations"`
					} `json:"results"`
				} `json:"runs"`
			}
			Expect(json.Unmarshal(render(reports.SARIF, r), &log)).To(Succeed())
			Expect(log.Runs).To(HaveLen(1))
			Expect(log.Runs[0].Tool.Driver.Rules).To(HaveLen(len(r.Clauses)))
			n := 0
			for _, c := range r.Clauses {
				n += len(c.Findings)
			}
			Expect(log.Runs[0].Results).To(HaveLen(n))
			for _, res := range log.Runs[0].Results {
				Expect(log.Runs[0].Tool.Driver.Rules[res.RuleIndex].ID).To(Equal(res.RuleID))
				Expect(res.Locations[0].PhysicalLocation.ArtifactLocation.URI).To(Equal("policy.yaml"))
				Expect(res.Locations[0].PhysicalLocation.Region.StartLine).To(BeNumerically(">", 1))
			}
		})

		It("the schema check can fail: a result without message is rejected", func() {
			b := bytes.Replace(render(reports.SARIF, r), []byte(`"message"`), []byte(`"mesage"`), 1)
			Expect(validate(compile(sarifSchema, true), b)).NotTo(Succeed())
		})
	})
})
