package payloaddiff_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/payloaddiff"
)

// runDir writes one scenario's run folder: capture.jsonl with one POST per
// body (to url) and canaries.json.
func runDir(dir, url string, cs []canary.Canary, bodies ...string) {
	GinkgoHelper()
	Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
	w, err := capture.Create(filepath.Join(dir, capture.JSONLName))
	Expect(err).NotTo(HaveOccurred(), "capture.Create")
	for i, b := range bodies {
		host := strings.SplitN(strings.TrimPrefix(url, "https://"), "/", 2)[0]
		Expect(w.Exchange(&capture.Exchange{Seq: int64(i + 1), Kind: capture.KindHTTP, Host: host + ":443", Method: "POST", URL: url,
			Headers: []capture.Header{{Name: "Content-Type", Value: "application/json"}},
			Body:    capture.Body{Raw: []byte(b), Size: int64(len(b))}})).To(Succeed())
	}
	Expect(w.Close()).To(Succeed())
	Expect(canary.WriteFile(filepath.Join(dir, "canaries.json"), cs)).To(Succeed())
}

var _ = Describe("Diff", func() {
	var a, b string
	depA, depB := canary.Generate("dep-name"), canary.Generate("dep-name")

	BeforeEach(func() {
		tmp := GinkgoT().TempDir()
		a, b = filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	})

	It("names added and removed endpoints, destinations, fields, event kinds, type changes and value counts", func() {
		runDir(filepath.Join(a, "default"), "https://t.example/v1", nil,
			`{"meta":{"v":"1"},"events":[{"eventName":"NEXT_BUILD","fields":{"size":1}}],"old":true}`)
		runDir(filepath.Join(b, "default"), "https://t.example/v2", nil,
			`{"meta":{"v":"{\"major\":1}"},"events":[{"eventName":"NEXT_BUILD","fields":{"size":1}},{"eventName":"NEXT_PACKAGE_DETECTED","fields":{"packageVersion":"1"}}]}`,
			`{"meta":{"v":"{\"major\":2}"},"events":[{"eventName":"NEXT_PACKAGE_DETECTED","fields":{"packageVersion":"2"}},{"eventName":"NEXT_PACKAGE_DETECTED","fields":{"packageVersion":"3"}}]}`)
		runDir(filepath.Join(b, "other"), "https://else.example/x", nil, `{}`)

		d, err := payloaddiff.Dirs(a, b)
		Expect(err).NotTo(HaveOccurred(), "payloaddiff.Dirs")
		Expect(d.Scenarios).To(HaveLen(2))
		s := d.Scenarios[0]
		Expect(s.Scenario).To(Equal("default"))
		Expect(s.Requests).To(Equal([2]int{1, 2}))
		Expect(s.EndpointsAdded).To(Equal([]string{"POST https://t.example/v2"}))
		Expect(s.EndpointsRemoved).To(Equal([]string{"POST https://t.example/v1"}))
		Expect(s.DestinationsAdded).To(BeEmpty(), "same host")
		Expect(s.EventsAdded).To(Equal([]string{"$.events[*].eventName = NEXT_PACKAGE_DETECTED"}))
		Expect(s.FieldsAdded).To(ContainElements("$.events[*].fields.packageVersion", "$.meta.v.major"))
		Expect(s.FieldsRemoved).To(Equal([]string{"$.old"}))
		Expect(s.TypesChanged).To(ContainElement(payloaddiff.TypeChange{Field: "$.meta.v", A: []string{"string"}, B: []string{"json-string(object)"}}))
		Expect(s.Values).To(ContainElement(payloaddiff.ValueChange{Field: "$.events[*].eventName", A: 1, B: 2}))
		Expect(d.Scenarios[1]).To(Equal(payloaddiff.ScenarioDiff{Scenario: "other", Only: "b", Requests: [2]int{0, 1}}))

		var text bytes.Buffer
		Expect(payloaddiff.Write(&text, d, "text")).To(Succeed())
		Expect(text.String()).NotTo(ContainSubstring("~ values $.events[*].fields.packageVersion"), "absent in A: a new field, no count line")
		Expect(text.String()).NotTo(ContainSubstring("~ values $.meta.v:"), "an object has no values: its type change says it")
		Expect(text.String()).To(ContainSubstring("~ values $.events[*].eventName: 1 -> 2 distinct values"))
		Expect(text.String()).To(ContainSubstring("only in B"))
	})

	It("compares planted keys by role and never prints a planted value, in any format", func() {
		url := "https://t.example/v1"
		runDir(filepath.Join(a, "default"), url, []canary.Canary{depA},
			`{"deps":{"`+depA.Value+`":"1.0"},"events":[{"eventName":"X"}]}`)
		runDir(filepath.Join(b, "default"), url, []canary.Canary{depB},
			`{"deps":{"`+depB.Value+`":"git+https://`+depB.Value+`@h/x"},"events":[{"eventName":"`+depB.Value+`"}],"name":"`+depB.Value+`"}`)

		d, err := payloaddiff.Dirs(a, b)
		Expect(err).NotTo(HaveOccurred(), "payloaddiff.Dirs")
		s := d.Scenarios[0]
		Expect(s.FieldsAdded).To(Equal([]string{"$.name"}), "the planted key is «dep-name» on both sides")
		Expect(s.EventsAdded).To(Equal([]string{"$.events[*].eventName = «dep-name»"}))
		for _, f := range payloaddiff.Formats {
			var out bytes.Buffer
			Expect(payloaddiff.Write(&out, d, f)).To(Succeed())
			Expect(out.String()).NotTo(ContainSubstring(depA.Value), f)
			Expect(out.String()).NotTo(ContainSubstring(depB.Value), f)
			Expect(out.String()).To(ContainSubstring("«dep-name»"), f)
		}
	})

	It("says so when nothing changed, and takes one scenario's folder as well as a run's", func() {
		runDir(filepath.Join(a, "default"), "https://t.example/v1", nil, `{"a":1}`)
		runDir(filepath.Join(b, "default"), "https://t.example/v1", nil, `{"a":2}`)
		d, err := payloaddiff.Dirs(filepath.Join(a, "default"), b)
		Expect(err).NotTo(HaveOccurred(), "payloaddiff.Dirs")
		Expect(d.Empty()).To(BeTrue(), "one value each side: a new value alone is no change (ids and durations change every run)")
		var md bytes.Buffer
		Expect(payloaddiff.Write(&md, d, "md")).To(Succeed())
		Expect(md.String()).To(ContainSubstring("No change"))
	})

	It("refuses a folder without captures, naming it", func() {
		empty := GinkgoT().TempDir()
		_, err := payloaddiff.Dirs(empty, empty)
		Expect(err).To(MatchError(ContainSubstring(empty + " holds no capture.jsonl")))
		_, err = payloaddiff.Dirs(filepath.Join(empty, "missing"), empty)
		Expect(err).To(MatchError(ContainSubstring("run's output folder")))
		Expect(payloaddiff.Write(&bytes.Buffer{}, &payloaddiff.Diff{}, "yaml")).To(MatchError(ContainSubstring(`unknown format "yaml"`)))
	})
})
