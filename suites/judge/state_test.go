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

// policies/turborepo.yaml: a body that is a JSON list of events, ids in
// request headers, and a salt the tool draws itself, read back from its
// state file (telemetry.json) by the hash oracle. Hand-made exchanges of
// that shape, so the engine is checked without npm.
var _ = Describe("a tool whose salt lives in its state file (policies/turborepo.yaml)", func() {
	const (
		salt    = "58902f59-fe9e-46f4-9c67-f3d6ad0a993d"
		tid     = "a8fdf0c122ff80cda5022df5134e7432e8a799b0ba9c02d1b3ec2153162b1d87"
		workdir = "/tmp/x/pomiva-desutolanor/turborepo"
		pkg     = "dokime-varuselanor"
		task    = "fenomu-kalivelanor"
	)
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	canaries := []canary.Canary{{Role: "workdir", Value: workdir}, {Role: "package-name", Value: pkg}, {Role: "custom-task", Value: task}}
	state := func() map[string][]byte {
		b, err := json.Marshal(map[string]any{"telemetry_enabled": true, "telemetry_id": tid, "telemetry_salt": salt})
		Expect(err).NotTo(HaveOccurred(), "json.Marshal")
		return map[string][]byte{"telemetry-json": b}
	}
	uuid := "0f8fad5b-d9cb-469f-a165-70867728950e"
	batch := func(headerID string, events ...map[string]any) *capture.Exchange {
		b, err := json.Marshal(events)
		Expect(err).NotTo(HaveOccurred(), "json.Marshal")
		return &capture.Exchange{Seq: 1, Kind: capture.KindHTTP, Time: time.Now(), Host: "telemetry.vercel.com:443",
			TLS: &capture.TLS{SNI: "telemetry.vercel.com"}, Method: "POST", URL: "https://telemetry.vercel.com/api/turborepo/v1/events",
			Headers: []capture.Header{{Name: "host", Value: "telemetry.vercel.com"}, {Name: "content-type", Value: "application/json"},
				{Name: "x-turbo-telemetry-id", Value: headerID}, {Name: "x-turbo-session-id", Value: uuid}},
			Body: capture.Body{Raw: b, Size: int64(len(b))}}
	}
	repoEvent := func(repo string) map[string]any {
		return map[string]any{"repo": map[string]any{"id": uuid, "repo": repo, "key": "workspace_count", "value": "2", "parent_id": nil}}
	}
	taskEvent := func(p, t string, extra map[string]any) map[string]any {
		e := map[string]any{"id": uuid, "package": p, "task": t, "key": "env_mode", "value": "strict", "parent_id": uuid}
		for k, v := range extra {
			e[k] = v
		}
		return map[string]any{"task": e}
	}
	judgeRun := func(scenario string, st map[string][]byte, ex *capture.Exchange) *judge.Result {
		GinkgoHelper()
		res, err := judge.Judge(judge.Input{Policy: loadPolicy("policies/turborepo.yaml"), Scenario: scenario,
			Runs: []judge.RunData{{Exchanges: []*capture.Exchange{ex}, Canaries: canaries, State: st}}})
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		return res
	}
	verdict := func(res *judge.Result, clause string) judge.Verdict {
		GinkgoHelper()
		cr, ok := res.Clause(clause)
		Expect(ok).To(BeTrue(), clause)
		return cr.Verdict
	}

	It("recomputes every id with the salt read back from the state file", func() {
		res := judgeRun("custom-names", state(), batch(tid, repoEvent(hash(salt+workdir)),
			taskEvent(hash(salt+pkg), "build", nil), taskEvent(hash(salt+pkg), hash(salt+task), nil)))
		Expect(res.Findings).To(BeEmpty())
		Expect(verdict(res, "ids.random-or-salted")).To(Equal(judge.Passed))
		Expect(verdict(res, "fields.documented-only")).To(Equal(judge.Passed))
		Expect(verdict(res, "names.not-collected")).To(Equal(judge.Passed))
	})

	It("reports an id hashed with another salt, and a header id that is not the kept one", func() {
		other := "11111111-2222-3333-4444-555555555555"
		res := judgeRun("custom-names", state(), batch(hash("x"), repoEvent(hash(other+workdir))))
		Expect(verdict(res, "ids.random-or-salted")).To(Equal(judge.Violated))
		var msgs []string
		for _, f := range res.Findings {
			msgs = append(msgs, f.Path+": "+f.Message)
		}
		Expect(msgs).To(ContainElement(Equal("$[0].repo.repo: repo matches no declared formula (sha256(<salt telemetry-json $.telemetry_salt><workdir>))")))
		Expect(msgs).To(ContainElement(Equal("header:x-turbo-telemetry-id: telemetry_id is not the id the tool keeps in its state (telemetry-json $.telemetry_id)")))
	})

	It("reports an unsalted hash of a package name, in the id check and the canary search", func() {
		res := judgeRun("custom-names", state(), batch(tid, taskEvent(hash(pkg), "build", nil)))
		Expect(verdict(res, "ids.random-or-salted")).To(Equal(judge.Violated))
		Expect(verdict(res, "names.not-collected")).To(Equal(judge.Violated))
		var msgs []string
		for _, f := range res.Findings {
			msgs = append(msgs, f.Clause+" "+f.Path+": "+f.Message)
		}
		Expect(msgs).To(ContainElement(Equal("ids.random-or-salted $[0].task.package: package is an unsalted hash of a planted value: sha256(v)")))
		Expect(msgs).To(ContainElement(Equal("names.not-collected $[0].task.package: the package-name canary is sent (sha256)")))
	})

	It("is unobservable, not passed, when the tool left no state file", func() {
		res := judgeRun("custom-names", nil, batch(tid, repoEvent(hash(salt+workdir))))
		cr, _ := res.Clause("ids.random-or-salted")
		Expect(cr.Verdict).To(Equal(judge.Unobservable))
		Expect(cr.Reason).To(ContainSubstring("the tool left no state file telemetry-json in this run (state/telemetry-json is missing)"))
	})

	It("names the very event that holds an undocumented member", func() {
		res := judgeRun("custom-names", state(), batch(tid, repoEvent(hash(salt+workdir)),
			taskEvent(hash(salt+pkg), "build", map[string]any{"cwd": "/home/someone"})))
		Expect(verdict(res, "fields.documented-only")).To(Equal(judge.Violated))
		var paths []string
		for _, f := range res.Findings {
			if f.Clause == "fields.documented-only" {
				paths = append(paths, f.Path+": "+f.Message)
			}
		}
		Expect(paths).To(Equal([]string{`$[1].task.cwd: undocumented field "cwd"`}))
	})
})
