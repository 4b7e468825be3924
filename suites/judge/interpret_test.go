package judge_test

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// policies/turborepo.yaml says what the page says (task names are sent
// hashed) and accepts turbo's generic task names in clear only through the
// named interpretation generic-task-names.
var _ = Describe("interpretations (policies/turborepo.yaml)", func() {
	taskEvent := func(task string) *capture.Exchange {
		b, err := json.Marshal([]map[string]any{{"task": map[string]any{
			"id": "0f8fad5b-d9cb-469f-a165-70867728950e", "package": "1f2e", "task": task, "key": "env_mode", "value": "strict"}}})
		Expect(err).NotTo(HaveOccurred(), "json.Marshal")
		return &capture.Exchange{Seq: 1, Kind: capture.KindHTTP, Time: time.Now(), Host: "telemetry.vercel.com:443",
			TLS: &capture.TLS{SNI: "telemetry.vercel.com"}, Method: "POST", URL: "https://telemetry.vercel.com/api/turborepo/v1/events",
			Headers: []capture.Header{{Name: "Host", Value: "telemetry.vercel.com"}, {Name: "Content-Type", Value: "application/json"}},
			Body:    capture.Body{Raw: b, Size: int64(len(b))}}
	}
	names := func(p *policy.Policy, task string) judge.ClauseResult {
		GinkgoHelper()
		// One bare event carries no planted package: the scenario's
		// evidence requirements are another spec's business.
		for i := range p.Scenarios {
			p.Scenarios[i].Evidence = nil
		}
		res, err := judge.Judge(judge.Input{Policy: p, Scenario: "default", Runs: []judge.RunData{{Exchanges: []*capture.Exchange{taskEvent(task)}}}})
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		cr, ok := res.Clause("names.not-collected")
		Expect(ok).To(BeTrue())
		return cr
	}

	It("accepts a generic task name only under the interpretation, and says so", func() {
		cr := names(loadPolicy("policies/turborepo.yaml"), "build")
		Expect(cr.Verdict).To(Equal(judge.Passed))
		Expect(cr.Interpretations).To(Equal(map[string]int{"generic-task-names": 1}))
		Expect(cr.Reason).To(ContainSubstring("passed under interpretation generic-task-names (1 value(s) accepted)"))
	})

	It("judges the words alone when strict", func() {
		cr := names(loadPolicy("policies/turborepo.yaml").Strict(), "build")
		Expect(cr.Verdict).To(Equal(judge.Violated))
		Expect(cr.Interpretations).To(BeEmpty())
	})

	It("accepts nothing beyond the listed values", func() {
		cr := names(loadPolicy("policies/turborepo.yaml"), "deploy-prod")
		Expect(cr.Verdict).To(Equal(judge.Violated))
		Expect(cr.Interpretations).To(BeEmpty())
	})
})
