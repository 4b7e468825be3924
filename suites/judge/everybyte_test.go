package judge_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// Specs of issue #14's "every byte judged" rows (docs/threat-model.md).
var _ = Describe("every byte judged", func() {
	It("quotes every name of a fronted request's destination (CONNECT, SNI, Host, URL)", func() {
		p := loadPolicy("policy.yaml")
		res := judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/connect-fronted"))
		cr, ok := res.Clause("destination.processor-only")
		Expect(ok).To(BeTrue())
		Expect(cr.Verdict).To(Equal(judge.Violated))
		var msgs []string
		for _, f := range res.Findings {
			if f.Clause == "destination.processor-only" {
				msgs = append(msgs, f.Message)
			}
		}
		Expect(msgs).To(ContainElement(SatisfyAll(
			ContainSubstring("CONNECT metrics.example.com:443"),
			ContainSubstring("SNI metrics.example.com"),
			ContainSubstring("Host: spire.bugout.dev"),
			ContainSubstring("URL spire.bugout.dev:443"),
			ContainSubstring("each must be spire.bugout.dev:443"),
		)))
	})

	It("makes a body cut at the size limit unobservable for content clauses, with no finding about the cut", func() {
		p := loadPolicy("policy.yaml")
		res := judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/body-over-limit"))
		Expect(res.Findings).To(BeEmpty(), "the cut is the harness's, not the tool's")
		for _, id := range []string{"fields.documented-only", "fields.all-documented-present"} {
			cr, ok := res.Clause(id)
			Expect(ok).To(BeTrue())
			Expect(cr.Verdict).To(Equal(judge.Unobservable), id)
			Expect(cr.Reason).To(ContainSubstring("exchange #1's body was cut at the recording limit (68157440 bytes sent, the first 300 kept)"), id)
		}
		By("a planted value in the kept bytes is still a finding")
		dir := GinkgoT().TempDir()
		Expect(os.CopyFS(dir, os.DirFS(filepath.Join(root, "fixtures/captures/body-over-limit")))).To(Succeed())
		b, err := os.ReadFile(filepath.Join(dir, "capture.jsonl"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		// The cut body's prefix with the user canary at its start.
		lines := strings.SplitN(string(b), "\n", 2)
		var rec map[string]any
		Expect(json.Unmarshal([]byte(lines[0]), &rec)).To(Succeed())
		ex := rec["exchange"].(map[string]any)
		body := ex["body"].(map[string]any)
		body["raw"] = base64.StdEncoding.EncodeToString([]byte(`{"title": "malidosekuvala52`))
		first, err := json.Marshal(rec)
		Expect(err).NotTo(HaveOccurred(), "json.Marshal")
		Expect(os.WriteFile(filepath.Join(dir, "capture.jsonl"), []byte(string(first)+"\n"+lines[1]), 0o600)).To(Succeed())
		// The edited capture no longer matches its chain; without one it is
		// still judged, and its violations still reported.
		Expect(os.Remove(filepath.Join(dir, "integrity.json"))).To(Succeed())
		res = judgeFolders(p, "opt-in-custom-goals", dir)
		cr, ok := res.Clause("anonymity.no-personal-values")
		Expect(ok).To(BeTrue())
		Expect(cr.Verdict).To(Equal(judge.Violated))
		Expect(violatedClauses(res)).To(Equal([]string{"anonymity.no-personal-values"}))
	})

	It("finds a planted value in a DNS question name, as a label and split over labels", func() {
		p := loadPolicy("policy.yaml")
		for dir, path := range map[string]string{"dns-label-user": "dns.jsonl:1", "dns-label-split-hex": "dns.jsonl:1"} {
			res := judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures", dir))
			Expect(res.Findings).To(ContainElement(SatisfyAll(
				HaveField("Clause", "anonymity.no-personal-values"),
				HaveField("Path", path),
				HaveField("Message", ContainSubstring("the user canary is sent in a DNS question")),
			)), dir)
		}
	})

	It("judges every clause that holds everywhere in every run of every scenario, listed or not", func() {
		p := loadPolicy("policy.yaml")
		c := func(name string) string { return filepath.Join(root, "fixtures/captures", name) }
		By("a leak in the second run of repeated-runs, which does not list anonymity")
		sc, err := p.Scenario("repeated-runs")
		Expect(err).NotTo(HaveOccurred(), "p.Scenario")
		Expect(sc.Exercises("anonymity.no-personal-values")).To(BeFalse())
		res := judgeFolders(p, "repeated-runs", c("compliant"), c("user-raw"), c("compliant"))
		cr, ok := res.Clause("anonymity.no-personal-values")
		Expect(ok).To(BeTrue())
		Expect(cr.Verdict).To(Equal(judge.Violated))
		Expect(res.Findings).To(ContainElement(SatisfyAll(
			HaveField("Clause", "anonymity.no-personal-values"), HaveField("Run", "run-2"))))
		By("a clean run: the unlisted clause passes and says how it was judged")
		res = judgeFolders(p, "repeated-runs", c("compliant"), c("compliant"), c("compliant"))
		cr, _ = res.Clause("anonymity.no-personal-values")
		Expect(cr.Verdict).To(Equal(judge.Passed))
		Expect(cr.Reason).To(ContainSubstring("not listed by scenario repeated-runs"))
		By("consent and counts stay where the scenario lists them: sending is expected here")
		for _, id := range []string{"consent.nothing-until-opt-in", "fields.all-documented-present", "ids.salted-with-repo-id"} {
			cr, _ = res.Clause(id)
			Expect(cr.Verdict).To(Equal(judge.NotExercised), id)
		}
		By("what an unlisting scenario cannot see is not-exercised, not unobservable")
		res = judgeFolders(p, "slow-endpoint", c("opt-out-tunnel-rejected"))
		cr, _ = res.Clause("anonymity.no-personal-values")
		Expect(cr.Verdict).To(Equal(judge.NotExercised))
		Expect(cr.Reason).To(ContainSubstring("not fully observable"))
	})

	It("finds a value another scenario planted and names that scenario", func() {
		p := loadPolicy("policy.yaml")
		run, err := judge.LoadRun(filepath.Join(root, "fixtures/captures/user-raw"))
		Expect(err).NotTo(HaveOccurred(), "judge.LoadRun")
		// This scenario's user is another value; the one in the capture was
		// planted by two-repos.
		var sent string
		for i, c := range run.Canaries {
			if c.Role == "user" {
				sent = c.Value
				run.Canaries[i].Value = "kodalimerusapa71"
			}
		}
		Expect(sent).NotTo(BeEmpty())
		in := judge.Input{Policy: p, Scenario: "opt-in-custom-goals", Runs: []judge.RunData{run}}
		res, err := judge.Judge(in)
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		cr, _ := res.Clause("anonymity.no-personal-values")
		Expect(cr.Verdict).To(Equal(judge.Passed), "without the other scenarios' values the leak is not seen")

		in.Elsewhere, err = judge.NewElsewhere(p, []judge.Planted{
			{Scenario: "opt-in-custom-goals", Canaries: []canary.Canary{{Role: "user", Value: "kodalimerusapa71"}}},
			{Scenario: "two-repos", Canaries: []canary.Canary{{Role: "user", Value: sent}}},
		})
		Expect(err).NotTo(HaveOccurred())
		res, err = judge.Judge(in)
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		Expect(res.Findings).To(ContainElement(SatisfyAll(
			HaveField("Clause", "anonymity.no-personal-values"),
			HaveField("Message", ContainSubstring("the user canary planted in scenario two-repos is sent")),
		)))
		for _, f := range res.Findings {
			Expect(strings.ToLower(f.String())).NotTo(ContainSubstring(sent), "a value from elsewhere is redacted too")
		}
	})

	It("finds a run_id whose promised-random uuid part is not random", func() {
		p := loadPolicy("policy.yaml")
		res := judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/run-id-not-random"))
		Expect(res.Findings).To(ContainElement(SatisfyAll(
			HaveField("Clause", "run-id.unique-timestamped"),
			HaveField("Check", "random"),
			HaveField("Message", "run_id's random part is not random: byte 0x00 occurs 14 times in 16 bytes"),
		)))
		By("the research note's real run_id passes")
		res = judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/compliant"))
		cr, _ := res.Clause("run-id.unique-timestamped")
		Expect(cr.Verdict).To(Equal(judge.Passed))
	})

	It("judges a WebSocket client message like a body, and not what the server said", func() {
		p := loadPolicy("policy.yaml")
		res := judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/websocket-frame-user"))
		Expect(res.Findings).To(ContainElement(SatisfyAll(
			HaveField("Clause", "anonymity.no-personal-values"),
			HaveField("Exchange", BeEquivalentTo(3)),
			HaveField("Message", ContainSubstring("the user canary is sent")),
		)))
		for _, f := range res.Findings {
			Expect(f.Exchange).NotTo(BeEquivalentTo(4), "the server's message is not the tool's: %s", f)
		}
		var dest []string
		for _, f := range res.Findings {
			if f.Clause == "destination.processor-only" {
				dest = append(dest, f.String())
			}
		}
		Expect(dest).To(HaveLen(1), "the upgrade is the destination finding; its messages add none")
	})
})
