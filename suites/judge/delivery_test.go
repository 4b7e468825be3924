package judge_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// fixtures/policies/batches.yaml: a batching client whose last batch (the
// custom task's event) may be lost at exit. Its evidence requirement says
// names.not-collected needs that event.
var _ = Describe("evidence that must arrive (fixtures/policies/batches.yaml)", func() {
	const (
		salt = "0123456789abcdef0123456789abcdef"
		task = "quarterlyreportq7w2"
	)
	canaries := []canary.Canary{{Role: "user", Value: "mkowalskiz3k9"}, {Role: "custom-task", Value: task}}
	state := map[string][]byte{"batches-json": []byte(`{"salt": "` + salt + `"}`)}
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

	post := func(seq int64, events ...map[string]any) *capture.Exchange {
		b, err := json.Marshal(events)
		Expect(err).NotTo(HaveOccurred(), "json.Marshal")
		return &capture.Exchange{Seq: seq, Kind: capture.KindHTTP, Time: time.Now(), Host: "telemetry.batches.example:443",
			TLS: &capture.TLS{SNI: "telemetry.batches.example"}, Method: "POST", URL: "https://telemetry.batches.example/v1/events",
			Headers: []capture.Header{{Name: "Host", Value: "telemetry.batches.example"}, {Name: "Content-Type", Value: "application/json"}},
			Body:    capture.Body{Raw: b, Size: int64(len(b))}}
	}
	first := func() *capture.Exchange {
		return post(1, map[string]any{"key": "execution", "value": "started"}, map[string]any{"key": "platform", "value": "linux"})
	}
	last := func(taskValue string) *capture.Exchange {
		return post(2, map[string]any{"key": "task", "task": taskValue}, map[string]any{"key": "execution", "value": "ended"})
	}
	// abandoned is what a send cancelled at exit leaves: a CONNECT the
	// proxy answered, then a tunnel closed without a byte.
	abandoned := func(seq int64) *capture.Exchange {
		return &capture.Exchange{Seq: seq, Kind: capture.KindOpaqueTunnel, Time: time.Now(), Host: "telemetry.batches.example:443",
			BytesToClient: 39, Note: "client closed the tunnel without sending a byte"}
	}
	judgeRuns := func(scenario string, runs ...[]*capture.Exchange) *judge.Result {
		GinkgoHelper()
		in := judge.Input{Policy: loadPolicy("fixtures/policies/batches.yaml"), Scenario: scenario}
		for _, exs := range runs {
			in.Runs = append(in.Runs, judge.RunData{Exchanges: exs, Canaries: canaries, State: state})
		}
		res, err := judge.Judge(in)
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		return res
	}
	verdict := func(res *judge.Result, id string) judge.ClauseResult {
		GinkgoHelper()
		cr, ok := res.Clause(id)
		Expect(ok).To(BeTrue(), "clause %s judged", id)
		return cr
	}

	It("passes a clause only when its evidence arrived", func() {
		res := judgeRuns("custom-task", []*capture.Exchange{first(), last(hash(salt + task))})
		Expect(verdict(res, "names.not-collected").Verdict).To(Equal(judge.Passed))
		Expect(res.Missing).To(BeEmpty())
	})

	It("calls a clause not exercised, naming what is missing, when the batch with its evidence was lost", func() {
		res := judgeRuns("custom-task", []*capture.Exchange{first(), abandoned(2)})
		cr := verdict(res, "names.not-collected")
		Expect(cr.Verdict).To(Equal(judge.NotExercised), "the first batch alone cannot show how the custom task is sent")
		Expect(cr.Reason).To(ContainSubstring("the task event of the custom task (evidence custom-task-event) never arrived"))
		Expect(res.Missing).To(ConsistOf(judge.Missing{ID: "custom-task-event", What: "the task event of the custom task", Clauses: []string{"names.not-collected"}}))
		Expect(verdict(res, "destination.batches-only").Verdict).To(Equal(judge.Passed), "a clause without the requirement is judged as usual")
	})

	It("does not take a task value that is not derived from the planted task as the evidence", func() {
		res := judgeRuns("custom-task", []*capture.Exchange{first(), last(hash(salt + "build"))})
		Expect(res.Missing).To(HaveLen(1), "another task's hash is not the custom task's event")
	})

	It("keeps a violation found without the evidence: a leak is a leak", func() {
		leak := post(2, map[string]any{"key": "platform", "value": "linux " + task})
		res := judgeRuns("custom-task", []*capture.Exchange{first(), leak})
		Expect(verdict(res, "names.not-collected").Verdict).To(Equal(judge.Violated))
	})

	It("judges the union of attempts: the evidence of any attempt counts", func() {
		res := judgeRuns("custom-task", []*capture.Exchange{first(), abandoned(2)}, []*capture.Exchange{first(), last(hash(salt + task))})
		Expect(verdict(res, "names.not-collected").Verdict).To(Equal(judge.Passed))
		Expect(res.Missing).To(BeEmpty())
	})

	Describe("a tunnel closed without a byte", func() {
		It("hides nothing: the clauses are judged, not unobservable", func() {
			res := judgeRuns("custom-task", []*capture.Exchange{first(), last(hash(salt + task)), abandoned(3)})
			for _, id := range []string{"names.not-collected", "destination.batches-only"} {
				Expect(verdict(res, id).Verdict).To(Equal(judge.Passed), id)
			}
		})

		It("is still blind when the tunnel carried bytes the harness could not read", func() {
			opaque := abandoned(3)
			opaque.Body = capture.Body{Raw: []byte("\x16\x03\x01junk"), Size: 8}
			opaque.BytesFromClient = 8
			res := judgeRuns("custom-task", []*capture.Exchange{first(), last(hash(salt + task)), opaque})
			cr := verdict(res, "destination.batches-only")
			Expect(cr.Verdict).To(Equal(judge.Unobservable))
			Expect(cr.Reason).To(ContainSubstring("exchange #3 is opaque-tunnel"))
		})

		It("is still a connection to another host when it went elsewhere", func() {
			elsewhere := abandoned(3)
			elsewhere.Host = "collector.example.net:443"
			res := judgeRuns("custom-task", []*capture.Exchange{first(), last(hash(salt + task)), elsewhere})
			Expect(verdict(res, "destination.batches-only").Verdict).To(Equal(judge.Violated))
		})
	})
})

var _ = Describe("a connection without a byte where nothing may be sent", func() {
	It("is a finding of nothing-sent, like a DNS lookup of the endpoint", func() {
		ex := &capture.Exchange{Seq: 1, Kind: capture.KindOpaqueTunnel, Time: time.Now(), Host: "telemetry.acme.example:443",
			BytesToClient: 39}
		res, err := judge.Judge(judge.Input{Policy: loadPolicy("fixtures/policies/acme.yaml"), Scenario: "disabled",
			Runs: []judge.RunData{{Exchanges: []*capture.Exchange{ex}, Canaries: []canary.Canary{{Role: "user", Value: "mkowalskiz3k9"}}}}})
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		cr, _ := res.Clause("consent.env-opt-out")
		Expect(cr.Verdict).To(Equal(judge.Violated))
		Expect(res.Findings[0].Message).To(ContainSubstring("a connection to telemetry.acme.example was opened (tunnel), then closed without a byte"))
	})
})

var _ = Describe("declared non-telemetry traffic (other_traffic)", func() {
	const task = "quarterlyreportq7w2"
	canaries := []canary.Canary{{Role: "user", Value: "mkowalskiz3k9"}, {Role: "custom-task", Value: task}}
	get := func(seq int64, url string, headers ...capture.Header) *capture.Exchange {
		return &capture.Exchange{Seq: seq, Kind: capture.KindHTTP, Time: time.Now(), Host: "registry.batches.example:443",
			TLS: &capture.TLS{SNI: "registry.batches.example"}, Method: "GET", URL: url,
			Headers: append([]capture.Header{{Name: "Host", Value: "registry.batches.example"}}, headers...)}
	}
	judgeOne := func(exs ...*capture.Exchange) *judge.Result {
		GinkgoHelper()
		res, err := judge.Judge(judge.Input{Policy: loadPolicy("fixtures/policies/batches.yaml"), Scenario: "custom-task",
			Runs: []judge.RunData{{Exchanges: exs, Canaries: canaries}}})
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		return res
	}

	It("is attributed, not a telemetry destination, and its headers are its own", func() {
		res := judgeOne(get(1, "https://registry.batches.example/latest", capture.Header{Name: "X-Npm-Session", Value: "abc"}))
		cr, _ := res.Clause("destination.batches-only")
		Expect(cr.Verdict).To(Equal(judge.Passed))
		Expect(cr.Reason).To(ContainSubstring("exchange #1 is attributed to version-check"))
		Expect(res.Findings).To(BeEmpty())
	})

	It("is still searched for every planted value", func() {
		res := judgeOne(get(1, "https://registry.batches.example/latest?from="+task))
		Expect(violatedClauses(res)).To(Equal([]string{"names.not-collected"}))
	})

	It("covers only the declared path and methods", func() {
		other := get(1, "https://registry.batches.example/collect")
		post := get(2, "https://registry.batches.example/latest")
		post.Method = "POST"
		res := judgeOne(other, post)
		Expect(violatedClauses(res)).To(Equal([]string{"destination.batches-only"}))
		Expect(res.Findings).To(HaveLen(2))
	})
})
