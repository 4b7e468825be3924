package differential_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/differential"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// folder writes a run folder with one POST of body and the planted values.
func folder(dir, body string, cs []canary.Canary, headers ...capture.Header) differential.Folder {
	GinkgoHelper()
	Expect(os.MkdirAll(dir, 0o755)).To(Succeed(), "make run folder")
	w, err := capture.Create(filepath.Join(dir, capture.JSONLName))
	Expect(err).NotTo(HaveOccurred(), "create capture")
	hs := append([]capture.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "Content-Length", Value: "99"}}, headers...)
	Expect(w.Exchange(&capture.Exchange{Seq: 1, Kind: capture.KindHTTP, Host: "t.example:443", Method: "POST", URL: "https://t.example/v1/events",
		Headers: hs, Body: capture.Body{Raw: []byte(body), Size: int64(len(body))}})).To(Succeed(), "write exchange")
	Expect(w.Close()).To(Succeed(), "close capture")
	return differential.Folder{Dir: dir, Canaries: cs}
}

const policyYAML = `version: 1
tool: {name: t, promise: {title: T, url: https://t.example/telemetry}}
endpoint:
  scheme: https
  host: t.example
  path: /v1/events
  method: POST
  headers: {allowed: [Content-Type, Content-Length, X-Session]}
payload: {encoding: json, closed: [$]}
fields:
  - {name: id, path: $.id, doc: salted id, type: string, format: sha256-hex}
  - {name: ts, path: $.ts, doc: time, type: number, format: unix-seconds, varies: per-run}
  - {name: free, path: $.free, doc: free text, type: string}
  - {name: events, path: $.events, envelope: true, type: string-list}
  - {name: session, path: "header:X-Session", doc: session, type: string, pattern: '^[0-9a-f]{8}$', varies: per-run}
ids:
  hash: sha256
  salt: repo-id
  separators: [""]
  fields: [{field: id, input: user}]
canaries:
  - {role: user, plant: user}
  - {role: repo-id, plant: repo-id}
clauses:
  - id: fields.documented-only
    promise: only documented data
    section: s
    testable: client
    checks: [{kind: differential}]
scenarios:
  - name: opt-in
    description: d
    repo: .
    goals: [build]
    canaries: [user, repo-id]
    expect: {reports: one, exit: success}
    clauses: [fields.documented-only]
`

var _ = Describe("Compare", func() {
	var (
		p   *policy.Policy
		tmp string
	)
	userA, userB := canary.Canary{Role: "user", Value: "qwmzrtvkpl42"}, canary.Canary{Role: "user", Value: "bxnhjyqoza17"}
	planted := func(u canary.Canary) []canary.Canary { return []canary.Canary{u} }

	BeforeEach(func() {
		var err error
		p, err = policy.Parse([]byte(policyYAML), "test.yaml")
		Expect(err).NotTo(HaveOccurred(), "parse the test policy")
		tmp = GinkgoT().TempDir()
	})

	compare := func(base, same, repl string, opts differential.Options, hs ...[]capture.Header) *judge.Differential {
		GinkgoHelper()
		h := make([][]capture.Header, 3)
		copy(h, hs)
		r := differential.Triple{
			Base:     folder(filepath.Join(tmp, "base"), base, planted(userA), h[0]...),
			Same:     folder(filepath.Join(tmp, "same"), same, planted(userA), h[1]...),
			Replaced: folder(filepath.Join(tmp, "repl"), repl, planted(userB), h[2]...),
			Roles:    []string{"user"},
		}
		d, err := differential.Compare(p, []differential.Triple{r}, opts)
		Expect(err).NotTo(HaveOccurred(), "compare")
		return d
	}

	It("finds nothing when every value repeats, and counts what it compared", func() {
		d := compare(`{"free":"linux","events":["a","b"]}`, `{"free":"linux","events":["b","a"]}`, `{"free":"linux","events":["a","b"]}`, differential.Options{})
		Expect(d.Findings).To(BeEmpty())
		Expect(d.Compared).To(BeNumerically(">=", 4), "group, path segments, header, body leaves")
	})

	It("reports a keyed transform of a planted value: same with identical inputs, changed with replaced values", func() {
		d := compare(`{"free":"linux 0a1b2c"}`, `{"free":"linux 0a1b2c"}`, `{"free":"linux 9f8e7d"}`, differential.Options{})
		Expect(d.Findings).To(HaveLen(1))
		f := d.Findings[0]
		Expect(f.Path).To(Equal("http POST t.example $.free"))
		Expect(f.Message).To(ContainSubstring("differential: the value repeats with identical inputs but changes when the value of one of the planted roles user is replaced"))
		Expect(f.Evidence).To(Equal(`base "linux 0a1b2c" | identical inputs "linux 0a1b2c" | replaced values "linux 9f8e7d"`))
	})

	It("reports a value that varies between identical runs unless its field varies: per-run", func() {
		d := compare(`{"ts":1,"free":"x1"}`, `{"ts":2,"free":"x2"}`, `{"ts":3,"free":"x1"}`, differential.Options{})
		Expect(d.Findings).To(HaveLen(1))
		Expect(d.Findings[0].Path).To(Equal("http POST t.example $.free"))
		Expect(d.Findings[0].Message).To(HavePrefix("unexplained variation"))
		Expect(d.Declared).To(Equal(1), "ts is declared")
	})

	It("accepts a declared id that moves with the planted values, and a declared per-run header", func() {
		d := compare(`{"id":"aa"}`, `{"id":"aa"}`, `{"id":"bb"}`, differential.Options{},
			[]capture.Header{{Name: "X-Session", Value: "00000001"}}, []capture.Header{{Name: "X-Session", Value: "00000002"}}, []capture.Header{{Name: "X-Session", Value: "00000003"}})
		Expect(d.Findings).To(BeEmpty())
		Expect(d.Declared).To(Equal(2))
	})

	It("leaves planted values the canary search knows to it: a clear user name compares equal as «user»", func() {
		d := compare(`{"free":"`+userA.Value+`"}`, `{"free":"`+userA.Value+`"}`, `{"free":"`+userB.Value+`"}`, differential.Options{})
		Expect(d.Findings).To(BeEmpty())
	})

	It("reports a planted value used as a key once, as a moving position", func() {
		d := compare(`{"k0a1b":1}`, `{"k0a1b":1}`, `{"k9f8e":1}`, differential.Options{})
		Expect(d.Findings).To(HaveLen(2), "the old key is gone and the new one appears")
	})

	It("for a best-effort tool, ignores reports one run lost but not a value that changed", func() {
		d := compare(`{"events":["a","b"]}`, `{"events":["a"]}`, `{"events":["a","b"]}`, differential.Options{BestEffort: true})
		Expect(d.Findings).To(BeEmpty())
		d = compare(`{"events":["a","b"]}`, `{"events":["a","c"]}`, `{"events":["a","b"]}`, differential.Options{BestEffort: true})
		Expect(d.Findings).To(HaveLen(1))
	})

	It("refuses a capture whose integrity chain does not verify", func() {
		base := folder(filepath.Join(tmp, "base"), `{}`, nil)
		base.Integrity = &capture.Integrity{Version: 1, Algorithm: capture.IntegrityAlgorithm, Key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
		_, err := differential.Compare(p, []differential.Triple{{Base: base, Same: folder(filepath.Join(tmp, "s"), `{}`, nil), Replaced: folder(filepath.Join(tmp, "r"), `{}`, nil)}}, differential.Options{})
		Expect(err).To(HaveOccurred())
	})
})
