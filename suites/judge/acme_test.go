package judge_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// The acme policy is a made-up tool with a flat JSON payload, other field
// names, a ':' separator in its salted id and no tags: the same engine
// judges it, with no acme-specific code.
var _ = Describe("a second tool's policy (fixtures/policies/acme.yaml)", func() {
	const (
		user    = "pumavilogorela27"
		project = "ragefo-sinubolano"
		script  = "lubero-zakimelan"
		token   = "Xb4kP9sLm2Qw7Rt"
	)
	canaries := []canary.Canary{{Role: "user", Value: user}, {Role: "project-id", Value: project},
		{Role: "script", Value: script}, {Role: "token", Value: token}}
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

	event := func(over map[string]any) *capture.Exchange {
		e := map[string]any{
			"event": "command", "cliVersion": "1.2.3", "sessionId": "0f8fad5b-d9cb-469f-a165-70867728950e",
			"anonymousId": hash(project + ":" + user), "commands": []string{"build", "test"},
			"commandCount": 3, "durationMs": 1234,
		}
		for k, v := range over {
			e[k] = v
		}
		b, err := json.Marshal(e)
		Expect(err).NotTo(HaveOccurred(), "json.Marshal")
		return &capture.Exchange{Seq: 1, Kind: capture.KindHTTP, Time: time.Now(), Host: "telemetry.acme.example:443",
			TLS: &capture.TLS{SNI: "telemetry.acme.example"}, Method: "POST", URL: "https://telemetry.acme.example/v1/events",
			Headers: []capture.Header{{Name: "Host", Value: "telemetry.acme.example"}, {Name: "Content-Type", Value: "application/json"},
				{Name: "X-Acme-Key", Value: "k-123"}},
			Body: capture.Body{Raw: b, Size: int64(len(b))}}
	}
	judgeAcme := func(scenario string, ex *capture.Exchange) *judge.Result {
		GinkgoHelper()
		res, err := judge.Judge(judge.Input{Policy: loadPolicy("fixtures/policies/acme.yaml"), Scenario: scenario,
			Runs: []judge.RunData{{Exchanges: []*capture.Exchange{ex}, Canaries: canaries}}})
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		return res
	}

	It("passes a compliant event", func() {
		res := judgeAcme("enabled", event(nil))
		Expect(res.Findings).To(BeEmpty())
		for _, id := range []string{"fields.listed-only", "ids.hashed", "anonymity.no-user-data", "commands.builtin-only", "destination.acme-only"} {
			cr, _ := res.Clause(id)
			Expect(cr.Verdict).To(Equal(judge.Passed), "%s: %s", id, cr.Reason)
		}
		cr, _ := res.Clause("server.deletion")
		Expect(cr.Verdict).To(Equal(judge.NotTestable))
	})

	It("finds the same kinds of violation as in Pants' payload", func() {
		res := judgeAcme("enabled", event(map[string]any{
			"login": user, "commands": []string{"build", script, "test"}, "anonymousId": hash(user),
		}))
		Expect(violatedClauses(res)).To(Equal([]string{"anonymity.no-user-data", "commands.builtin-only", "fields.listed-only", "ids.hashed"}))
		var lines []string
		for _, f := range res.Findings {
			lines = append(lines, f.String())
		}
		Expect(lines).To(ContainElements(
			`fields.listed-only [exchange #1] $.login: undocumented field "login" (string, 16 chars, value redacted)`,
			`ids.hashed [exchange #1] $.anonymousId: anon_id is an unsalted hash of a planted value: sha256(v) (role user, form sha256(v))`,
			`commands.builtin-only [exchange #1] $.commands[1]: a goal outside the builtin vocabulary is sent (the script canary, 16 chars, redacted)`,
		))
	})

	It("never prints a planted value, even one the tool used as a key", func() {
		res := judgeAcme("enabled", event(map[string]any{user: true}))
		var lines []string
		for _, f := range res.Findings {
			lines = append(lines, f.String())
		}
		Expect(lines).To(ContainElement(`fields.listed-only [exchange #1] $.«user»: undocumented field "«user»" (bool, 4 chars, value redacted)`))
		for _, l := range lines {
			Expect(l).NotTo(ContainSubstring(user))
		}
	})

	It("does not pass a format check whose fields no report carried", func() {
		ex := event(nil)
		var e map[string]any
		Expect(json.Unmarshal(ex.Body.Raw, &e)).To(Succeed())
		delete(e, "anonymousId")
		b, err := json.Marshal(e)
		Expect(err).NotTo(HaveOccurred(), "json.Marshal")
		ex.Body = capture.Body{Raw: b, Size: int64(len(b))}
		cr, _ := judgeAcme("enabled", ex).Clause("ids.hashed")
		Expect(cr.Verdict).To(Equal(judge.NotExercised), cr.Reason)
		Expect(cr.Reason).To(ContainSubstring("no report carried anon_id"))
	})

	It("names the chain of an encoded leak and a truncated one; the declared salted id is no leak", func() {
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		_, _ = w.Write([]byte(user))
		Expect(w.Close()).To(Succeed())
		res := judgeAcme("enabled", event(map[string]any{
			"cliVersion": "1.2.3 " + base64.StdEncoding.EncodeToString(gz.Bytes()),
			"event":      "command " + user[:12] + "…",
		}))
		var lines []string
		for _, f := range res.Findings {
			if f.Clause == "anonymity.no-user-data" {
				lines = append(lines, f.String())
			}
		}
		Expect(lines).To(ConsistOf(
			`anonymity.no-user-data [exchange #1] $.cliVersion: the user canary is sent (base64(gzip)) as base64(gzip(user)) (role user, form base64(gzip), value of 16 chars)`,
			`anonymity.no-user-data [exchange #1] $.event: the user canary is sent (raw) as truncated(user, 12 of 16 chars) (role user, form raw, value of 16 chars, truncated: first 12 chars)`,
		))
	})

	It("finds a hash of the user salted with another planted value outside the id field", func() {
		res := judgeAcme("enabled", event(map[string]any{"cliVersion": "1.2.3+" + hash(script+"-"+user)}))
		var msgs []string
		for _, f := range res.Findings {
			if f.Clause == "anonymity.no-user-data" {
				msgs = append(msgs, f.Message)
			}
		}
		Expect(msgs).To(ConsistOf(`the user canary is sent (salted-sha256) as sha256(script + "-" + user)`))
	})

	It("finds a hash under a salt from the tool's source only when tool.salts declares it", func() {
		const salt = "acme-telemetry-salt"
		ex := func() *capture.Exchange { return event(map[string]any{"cliVersion": "1.2.3+" + hash(salt+user)}) }
		leaks := func(res *judge.Result) []string {
			var msgs []string
			for _, f := range res.Findings {
				if f.Clause == "anonymity.no-user-data" {
					msgs = append(msgs, f.Message)
				}
			}
			return msgs
		}
		Expect(leaks(judgeAcme("enabled", ex()))).To(BeEmpty(), "without the declaration the salt is unknown")

		p := loadPolicy("fixtures/policies/acme.yaml")
		p.Tool.Salts = []string{salt}
		res, err := judge.Judge(judge.Input{Policy: p, Scenario: "enabled",
			Runs: []judge.RunData{{Exchanges: []*capture.Exchange{ex()}, Canaries: canaries}}})
		Expect(err).NotTo(HaveOccurred(), "judge.Judge with tool.salts")
		Expect(leaks(res)).To(ConsistOf(`the user canary is sent (salted-sha256) as sha256("acme-telemetry-salt" + user)`))
	})

	It("reads its own opt-out scenario", func() {
		res := judgeAcme("disabled", event(nil))
		Expect(violatedClauses(res)).To(Equal([]string{"consent.env-opt-out"}))
	})

	It("holds its salted id to the policy's separator, not Pants' dot", func() {
		res := judgeAcme("enabled", event(map[string]any{"anonymousId": hash(project + "." + user)}))
		Expect(violatedClauses(res)).To(Equal([]string{"ids.hashed"}))
		Expect(res.Findings[0].Message).To(Equal("anon_id is sha256(R.v) of the user canary, not the declared sha256(<project-id>:<user>)"))
	})
})
