package observe_test

import (
	"encoding/json"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

var pantsOpts = observe.Options{TagLists: []observe.TagList{{Path: "$.tags", Sep: ":"}}}

func jsonExchange(url, body string) *capture.Exchange {
	return &capture.Exchange{
		Seq:    1,
		Kind:   capture.KindHTTP,
		Host:   "spire.bugout.dev:443",
		TLS:    &capture.TLS{SNI: "spire.bugout.dev"},
		Method: "POST",
		URL:    url,
		Headers: []capture.Header{
			{Name: "Host", Value: "spire.bugout.dev"},
			{Name: "User-Agent", Value: "python-requests/2.28.1"},
			{Name: "Content-Type", Value: "application/json"},
		},
		Body: capture.Body{Raw: []byte(body), Size: int64(len(body))},
	}
}

func texts(vs []observe.Value) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.Text)
	}
	return out
}

var _ = Describe("Observe", func() {
	Describe("a Pants 2.16 report", func() {
		var obs *observe.Observation
		var body []byte

		BeforeEach(func() {
			var err error
			body, err = os.ReadFile("testdata/pants-2.16.json")
			Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
			obs, err = observe.Observe(jsonExchange("https://spire.bugout.dev/humbug/reports", string(body)), pantsOpts)
			Expect(err).NotTo(HaveOccurred(), "observe.Observe")
		})

		It("splits the request line", func() {
			Expect(obs.Method).To(Equal("POST"))
			Expect(obs.Scheme).To(Equal("https"))
			Expect(obs.Host).To(Equal("spire.bugout.dev"))
			Expect(obs.Port).To(Equal("443"))
			Expect(obs.Path).To(Equal("/humbug/reports"))
			Expect(obs.ContentType).To(Equal("application/json"))
			Expect(obs.BodyError).To(BeEmpty())
			Expect(obs.IsJSON).To(BeTrue())
		})

		It("parses content, JSON inside a string, and reaches its members by path", func() {
			Expect(texts(obs.Get("$.content.user_id"))).To(Equal([]string{"c097d99e988826c75cb2b4d4b56f937590ba2f0cf32e8be063321ef97cd5ca51"}))
			Expect(texts(obs.Get("$.content.standard_goals[1]"))).To(Equal([]string{"lint"}))
			Expect(texts(obs.Get("$.content.standard_goals[*]"))).To(Equal([]string{"test", "lint"}))
			Expect(obs.Embedded).To(Equal([]string{"$.content"}))
			Expect(obs.Get("$.content")).To(BeEmpty(), "an embedded JSON string is a container, not a leaf")
		})

		It("keeps object keys in wire order", func() {
			Expect(obs.Keys("$")).To(Equal([]string{"title", "content", "tags"}))
			Expect(obs.Keys("$.content")).To(HaveExactElements("active_standard_backends", "duration", "machine_id",
				"num_goals", "outcome", "pants_version", "platform", "python_implementation", "python_version",
				"repo_id", "run_id", "standard_goals", "timestamp", "user_id"))
		})

		It("splits tags into key and value, keeping order and repeats", func() {
			tags := obs.Tags("tags")
			Expect(tags).To(HaveLen(15))
			Expect(tags[3]).To(Equal(observe.Tag{List: "tags", Path: "$.tags[3]", Index: 3, Key: "python", Value: "3", HasSep: true}))
			Expect(obs.Tags("$.tags")).To(Equal(tags))
			Expect(texts(obs.Get("tags[goal]"))).To(Equal([]string{"test", "lint"}))
			Expect(texts(obs.Get("tags[python]"))).To(Equal([]string{"3", "3.11", "3.11.2"}))
			Expect(texts(obs.Get("tags[source]"))).To(Equal([]string{"pantsbuild/pants"}), "only the first separator splits")
			Expect(obs.Get("tags[*]")).To(HaveLen(15))
		})

		It("finds headers case-insensitively", func() {
			Expect(texts(obs.Get("header:user-agent"))).To(Equal([]string{"python-requests/2.28.1"}))
			Expect(obs.Get("header:User-Agent")[0].Path).To(Equal("header:User-Agent"))
			Expect(texts(obs.Get("url"))).To(Equal([]string{"https://spire.bugout.dev/humbug/reports"}))
		})

		It("gives each body value the byte span of its token", func() {
			v := obs.Get("$.tags[3]")[0]
			Expect(string(body[v.Start:v.End])).To(Equal(`"python:3"`))
			inner := obs.Get("$.content.outcome")[0]
			outer := obs.Get("$.title")[0]
			Expect(body[inner.Start]).To(Equal(byte('"')))
			Expect(inner.End-inner.Start).To(BeNumerically(">", 500), "a value inside content gets the span of the whole content string")
			Expect(string(body[outer.Start:outer.End])).To(HavePrefix(`"pants run `))
		})
	})

	Describe("JSON shapes", func() {
		observeBody := func(body string) *observe.Observation {
			GinkgoHelper()
			obs, err := observe.Observe(jsonExchange("http://127.0.0.1:8080/v1/events?a=1", body), observe.Options{})
			Expect(err).NotTo(HaveOccurred(), "observe.Observe")
			return obs
		}

		It("handles a top-level array of events", func() {
			obs := observeBody(`[{"event":"a","n":1},{"event":"b","n":2.50}]`)
			Expect(texts(obs.Get("$[*].event"))).To(Equal([]string{"a", "b"}))
			Expect(obs.Get("$[1].n")[0]).To(HaveField("Kind", observe.KindNumber))
			Expect(texts(obs.Get("$[1].n"))).To(Equal([]string{"2.50"}), "numbers keep their text as written")
			Expect(obs.Port).To(Equal("8080"))
			Expect(obs.Scheme).To(Equal("http"))
		})

		It("keeps duplicate keys and reports them", func() {
			obs := observeBody(`{"a":1,"a":2}`)
			Expect(texts(obs.Get("$.a"))).To(Equal([]string{"1", "2"}))
			Expect(obs.Keys("$")).To(Equal([]string{"a", "a"}))
			Expect(obs.DuplicateKeys).To(Equal([]string{"$.a"}))
			Expect(obs.JSON).To(HaveKeyWithValue("a", json.Number("2")))
		})

		It("quotes keys that are not plain identifiers", func() {
			obs := observeBody(`{"a.b":{"x y":true},"*":null,"0":"z"}`)
			Expect(obs.Get(`$["a.b"]["x y"]`)).To(HaveExactElements(HaveField("Text", "true")))
			Expect(obs.Get(`$["*"]`)).To(HaveExactElements(HaveField("Kind", observe.KindNull)))
			Expect(obs.Get(`$["0"]`)).To(HaveExactElements(HaveField("Text", "z")))
			Expect(obs.Get(`$.*`)).To(HaveLen(2), "wildcard over the root's members")
		})

		It("parses JSON nested in JSON nested in a string", func() {
			inner, _ := json.Marshal(map[string]any{"deep": `{"user":"x"}`})
			outer, _ := json.Marshal(map[string]any{"content": string(inner)})
			obs := observeBody(string(outer))
			Expect(texts(obs.Get("$.content.deep.user"))).To(Equal([]string{"x"}))
			Expect(obs.Embedded).To(ConsistOf("$.content", "$.content.deep"))
		})

		It("leaves a string that only looks like JSON as a string", func() {
			obs := observeBody(`{"s":"[not json"}`)
			Expect(texts(obs.Get("$.s"))).To(Equal([]string{"[not json"}))
		})

		It("reads query parameters in order, decoded", func() {
			obs := observeBody(`{}`)
			Expect(texts(obs.Get("query:a"))).To(Equal([]string{"1"}))
			ex := jsonExchange("https://h.example/p?q=a%20b&q=c+d&bad=%zz", "")
			obs, err := observe.Observe(ex, observe.Options{})
			Expect(err).NotTo(HaveOccurred(), "observe.Observe")
			Expect(texts(obs.Get("query:q"))).To(Equal([]string{"a b", "c d"}))
			Expect(texts(obs.Get("query:bad"))).To(Equal([]string{"%zz"}), "an undecodable value is kept raw")
		})

		It("reports a body that claims JSON but is not", func() {
			obs := observeBody(`{"a":1,`)
			Expect(obs.BodyError).To(ContainSubstring("not valid JSON"))
			Expect(obs.IsJSON).To(BeFalse())
			Expect(obs.Get("$.a")).To(BeEmpty(), "a half-parsed body is dropped, not half-judged")
		})

		It("reports trailing data after the JSON value", func() {
			obs := observeBody(`{"a":1} {"b":2}`)
			Expect(obs.BodyError).To(ContainSubstring("data after the JSON value"))
		})

		It("stops at the depth limit without blowing the stack", func() {
			deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
			obs := observeBody(deep)
			Expect(obs.BodyError).To(ContainSubstring("nesting too deep"))
			Expect(obs.JSON).To(BeNil())
		})

		It("counts embedded JSON towards the depth limit", func() {
			s := `"x"`
			for range 10 {
				b, _ := json.Marshal(map[string]json.RawMessage{"c": json.RawMessage(s)})
				enc, _ := json.Marshal(string(b))
				s = string(enc)
			}
			ex := jsonExchange("https://h.example/p", `{"c":`+s+`}`)
			obs, err := observe.Observe(ex, observe.Options{MaxDepth: 8})
			Expect(err).NotTo(HaveOccurred(), "observe.Observe")
			Expect(obs.BodyError).To(ContainSubstring("nesting too deep"))
			obs, err = observe.Observe(ex, observe.Options{MaxDepth: 12})
			Expect(err).NotTo(HaveOccurred(), "observe.Observe")
			Expect(obs.BodyError).To(BeEmpty())
			Expect(obs.Embedded).To(HaveLen(10))
		})

		It("treats a non-JSON body as bytes, without an error", func() {
			ex := jsonExchange("https://h.example/p", "hello=world")
			ex.Headers = []capture.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}
			obs, err := observe.Observe(ex, observe.Options{})
			Expect(err).NotTo(HaveOccurred(), "observe.Observe")
			Expect(obs.BodyError).To(BeEmpty())
			Expect(obs.JSON).To(BeNil())
			Expect(string(obs.Body)).To(Equal("hello=world"))
		})

		It("uses the decoded body when the capture decoded one", func() {
			ex := jsonExchange("https://h.example/p", "")
			ex.Body = capture.Body{Raw: []byte{0x1f, 0x8b}, Encoding: "gzip", Decoded: []byte(`{"k":"v"}`)}
			obs, err := observe.Observe(ex, observe.Options{})
			Expect(err).NotTo(HaveOccurred(), "observe.Observe")
			Expect(texts(obs.Get("$.k"))).To(Equal([]string{"v"}))
		})
	})

	Describe("bad input", func() {
		It("rejects a nil exchange and unusable tag lists", func() {
			_, err := observe.Observe(nil, observe.Options{})
			Expect(err).To(MatchError(ContainSubstring("nil exchange")))
			_, err = observe.Observe(&capture.Exchange{}, observe.Options{TagLists: []observe.TagList{{Path: "$.tags"}}})
			Expect(err).To(MatchError(ContainSubstring("empty separator")))
			_, err = observe.Observe(&capture.Exchange{}, observe.Options{TagLists: []observe.TagList{{Path: "tags", Sep: ":"}}})
			Expect(err).To(MatchError(ContainSubstring("must start with $")))
		})

		It("observes a non-HTTP record without error", func() {
			obs, err := observe.Observe(&capture.Exchange{Kind: capture.KindTunnelRejected, Host: "Example.COM:443"}, observe.Options{})
			Expect(err).NotTo(HaveOccurred(), "observe.Observe")
			Expect(obs.Host).To(Equal("example.com"))
			Expect(obs.Port).To(Equal("443"))
		})

		DescribeTable("ValidatePath",
			func(path string, ok bool) {
				if ok {
					Expect(observe.ValidatePath(path)).To(Succeed())
				} else {
					Expect(observe.ValidatePath(path)).NotTo(Succeed())
				}
			},
			Entry("plain", "$.content.user_id", true),
			Entry("index", "$.content.standard_goals[0]", true),
			Entry("quoted", `$["a b"][2]`, true),
			Entry("wildcards", "$[*].tags.*", true),
			Entry("tag", "tags[goal]", true),
			Entry("header", "header:User-Agent", true),
			Entry("query", "query:x", true),
			Entry("url", "url", true),
			Entry("no root", "content.user_id", false),
			Entry("unclosed", "$.a[1", false),
			Entry("bad key", "$.a b", false),
			Entry("empty header", "header:", false),
		)
	})
})
