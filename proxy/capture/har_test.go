package capture_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// sample covers every kind of record and body the proxy writes.
func sample() []*capture.Exchange {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
	gz := []byte{0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00} // binary: not UTF-8
	return []*capture.Exchange{
		{
			Seq: 1, Kind: capture.KindHTTP, Time: t0, Mono: 1500, Conn: 1, Host: "spire.bugout.dev:443",
			TLS:    &capture.TLS{SNI: "spire.bugout.dev", ALPN: "http/1.1", Version: "TLS 1.3"},
			Method: "POST", URL: "https://spire.bugout.dev/humbug/reports?a=1&b=two%20words", Proto: "HTTP/1.1",
			Headers: []capture.Header{
				{Name: "Host", Value: "spire.bugout.dev"},
				{Name: "x-b", Value: "2"},
				{Name: "Authorization", Value: "Bearer s3cret"},
				{Name: "Cookie", Value: "session=abc; theme=dark"},
				{Name: "x-b", Value: "3"},
				{Name: "Content-Type", Value: "application/json"},
				{Name: "Content-Encoding", Value: "gzip"},
			},
			Body: capture.Body{Raw: gz, Size: 6, Encoding: "gzip", Decoded: []byte(`{"tags":["a:b"]}`)},
			Response: &capture.Response{
				Status: 200, Time: t0.Add(1500 * time.Microsecond),
				Headers: []capture.Header{{Name: "Content-Type", Value: "application/json"}},
				Body:    capture.Body{Raw: []byte(`{}`), Size: 2},
			},
		},
		{
			Seq: 2, Kind: capture.KindHTTP, Time: t0.Add(time.Second), Mono: 2000, Conn: 2, Host: "x.example:443",
			Method: "POST", URL: "https://x.example/bomb", Proto: "HTTP/1.1",
			Headers: []capture.Header{{Name: "Proxy-Authorization", Value: "Basic Zm9vOmJhcg=="}},
			Body: capture.Body{Raw: []byte{0xff, 0xfe}, Size: 100, RawTruncated: true, Encoding: "br",
				Decoded: []byte("aaaa"), Truncated: true, DecodeError: "stopped at the limit"},
		},
		{
			Seq: 3, Kind: capture.KindTunnelRejected, Time: t0.Add(2 * time.Second), Mono: 3000, Conn: 3,
			Host: "pinned.example:443", TLS: &capture.TLS{SNI: "pinned.example"}, BytesFromClient: 517, BytesToClient: 900,
			Note: "TLS handshake with the client failed: remote error: tls: bad certificate",
		},
		{
			Seq: 4, Kind: capture.KindOpaqueTunnel, Time: t0.Add(3 * time.Second), Mono: 4000, Conn: 4, Host: "db.internal:5432",
			Body: capture.Body{Raw: []byte{0, 1, 2, 0xfe}, Size: 4}, BytesFromClient: 4, Note: "not HTTP/1.x",
		},
		{
			Seq: 5, Kind: capture.KindWebSocket, Path: capture.PathTransparent, Time: t0.Add(4 * time.Second), Mono: 5000, Conn: 5,
			Host: "events.example:443", Method: "GET", URL: "https://events.example/stream", Proto: "HTTP/1.1",
			Headers:  []capture.Header{{Name: "Upgrade", Value: "websocket"}},
			Response: &capture.Response{Status: 101, Time: t0.Add(5 * time.Second), Error: "client gone"},
		},
		{
			Seq: 6, Kind: capture.KindHTTP, Time: t0.Add(5 * time.Second), Mono: 6000, Conn: 1, Host: "spire.bugout.dev:443",
			Method: "CONNECT", URL: "spire.bugout.dev:443", Proto: "HTTP/1.1",
			Response: &capture.Response{Status: 502, Time: t0.Add(5 * time.Second)},
		},
	}
}

func harSchema() *jsonschema.Schema {
	GinkgoHelper()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join("testdata", "har-1.2.schema.json"))
	Expect(err).NotTo(HaveOccurred(), "compiling the HAR 1.2 schema")
	return sch
}

func validateHAR(b []byte) error {
	GinkgoHelper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	Expect(err).NotTo(HaveOccurred(), "jsonschema.UnmarshalJSON")
	return harSchema().Validate(doc)
}

var _ = Describe("HAR", func() {
	It("validates against the HAR 1.2 structure", func() {
		var buf bytes.Buffer
		Expect(capture.WriteHAR(&buf, sample(), true)).To(Succeed())
		Expect(validateHAR(buf.Bytes())).To(Succeed())
	})

	It("the schema check can fail: a request without url is rejected", func() {
		var buf bytes.Buffer
		Expect(capture.WriteHAR(&buf, sample(), false)).To(Succeed())
		broken := strings.Replace(buf.String(), `"url": "https://x.example/bomb",`, "", 1)
		Expect(broken).NotTo(Equal(buf.String()))
		Expect(validateHAR([]byte(broken))).To(MatchError(ContainSubstring("url")))
	})

	It("round-trips through ReadHAR into the same exchanges", func() {
		var buf bytes.Buffer
		Expect(capture.WriteHAR(&buf, sample(), false)).To(Succeed())
		got, err := capture.ReadHAR(&buf, "sample.har")
		Expect(err).NotTo(HaveOccurred(), "capture.ReadHAR")
		Expect(got).To(Equal(sample()))
	})

	It("round-trips a capture read from JSON Lines, times included", func() {
		dir := GinkgoT().TempDir()
		w, err := capture.Create(filepath.Join(dir, capture.JSONLName))
		Expect(err).NotTo(HaveOccurred(), "capture.Create")
		for _, ex := range sample() {
			resp := ex.Response
			ex.Response = nil
			ex.Time = time.Now()
			Expect(w.Exchange(ex)).To(Succeed())
			if resp != nil {
				resp.Time = time.Now()
				Expect(w.Response(ex.Seq, resp)).To(Succeed())
			}
		}
		Expect(w.Close()).To(Succeed())
		fromJSONL, err := capture.Load(dir)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")

		harPath := filepath.Join(dir, capture.HARName)
		f, err := os.Create(harPath)
		Expect(err).NotTo(HaveOccurred(), "os.Create")
		Expect(capture.WriteHAR(f, fromJSONL, false)).To(Succeed())
		Expect(f.Close()).To(Succeed())
		fromHAR, err := capture.Load(harPath)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(fromHAR).To(HaveLen(len(fromJSONL)))
		for i := range fromHAR {
			Expect(fromHAR[i].Time.Equal(fromJSONL[i].Time)).To(BeTrue(), "time of #%d", i+1)
			fromHAR[i].Time, fromJSONL[i].Time = time.Time{}, time.Time{}
			if r := fromHAR[i].Response; r != nil {
				Expect(r.Time.Equal(fromJSONL[i].Response.Time)).To(BeTrue())
				r.Time, fromJSONL[i].Response.Time = time.Time{}, time.Time{}
			}
		}
		Expect(fromHAR).To(Equal(fromJSONL))
	})

	It("redacts credential headers and cookies, and nothing else", func() {
		var buf bytes.Buffer
		Expect(capture.WriteHAR(&buf, sample(), true)).To(Succeed())
		Expect(buf.String()).NotTo(ContainSubstring("s3cret"))
		Expect(buf.String()).NotTo(ContainSubstring("session=abc"))
		Expect(buf.String()).NotTo(ContainSubstring("Zm9vOmJhcg=="))
		got, err := capture.ReadHAR(&buf, "redacted.har")
		Expect(err).NotTo(HaveOccurred(), "capture.ReadHAR")
		Expect(got[0].Headers).To(ContainElements(
			capture.Header{Name: "Authorization", Value: capture.RedactedValue},
			capture.Header{Name: "Cookie", Value: capture.RedactedValue},
			capture.Header{Name: "x-b", Value: "2"},
		))
		Expect(got[1].Headers).To(Equal([]capture.Header{{Name: "Proxy-Authorization", Value: capture.RedactedValue}}))
		Expect(got[0].Body).To(Equal(sample()[0].Body), "bodies are not redacted")

		var plain bytes.Buffer
		Expect(capture.WriteHAR(&plain, sample(), false)).To(Succeed())
		Expect(plain.String()).To(ContainSubstring("Bearer s3cret"), "without redact the values stay")
	})

	It("writes binary bodies as base64 with encoding, text as text", func() {
		var buf bytes.Buffer
		Expect(capture.WriteHAR(&buf, sample(), false)).To(Succeed())
		var doc struct {
			Log struct {
				Entries []struct {
					Request struct {
						QueryString []map[string]string `json:"queryString"`
						Cookies     []map[string]string `json:"cookies"`
						PostData    struct {
							Text     string         `json:"text"`
							Encoding string         `json:"_encoding"`
							Raw      map[string]any `json:"_raw"`
						} `json:"postData"`
					} `json:"request"`
					Response struct {
						Content struct {
							Text     string `json:"text"`
							Encoding string `json:"encoding"`
						} `json:"content"`
					} `json:"response"`
				} `json:"entries"`
			} `json:"log"`
		}
		Expect(json.Unmarshal(buf.Bytes(), &doc)).To(Succeed())
		e0 := doc.Log.Entries[0]
		Expect(e0.Request.PostData.Text).To(Equal(`{"tags":["a:b"]}`), "decoded text")
		Expect(e0.Request.PostData.Raw).To(HaveKeyWithValue("encoding", "base64"), "raw gzip bytes as base64")
		Expect(e0.Request.QueryString).To(ContainElement(map[string]string{"name": "b", "value": "two words"}))
		Expect(e0.Request.Cookies).To(ContainElement(map[string]string{"name": "session", "value": "abc"}))
		Expect(e0.Response.Content.Text).To(Equal("{}"))
		e3 := doc.Log.Entries[3]
		Expect(e3.Request.PostData.Encoding).To(Equal("base64"))
		Expect(e3.Request.PostData.Text).To(Equal("AAEC/g=="))
	})

	It("says what is wrong with a file that is not a HAR capture", func() {
		_, err := capture.ReadHAR(strings.NewReader("{"), "bad.har")
		Expect(err).To(MatchError(ContainSubstring("read HAR bad.har: not a HAR JSON document")))
		_, err = capture.ReadHAR(strings.NewReader(`{"entries":[]}`), "bad.har")
		Expect(err).To(MatchError(ContainSubstring("log.version missing")))
		_, err = capture.ReadHAR(strings.NewReader(`{"log":{"version":"1.2","entries":[{"startedDateTime":"yesterday"}]}}`), "bad.har")
		Expect(err).To(MatchError(ContainSubstring("log.entries[0]: startedDateTime \"yesterday\"")))
	})

	It("loads a HAR written by another tool with what HAR has", func() {
		other := `{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[{
			"startedDateTime":"2026-01-02T03:04:05.000Z","time":12.5,
			"request":{"method":"POST","url":"https://spire.bugout.dev/humbug/reports","httpVersion":"HTTP/1.1",
			  "cookies":[],"headers":[{"name":"Content-Type","value":"application/json"}],"queryString":[],
			  "postData":{"mimeType":"application/json","text":"{\"a\":1}"},"headersSize":-1,"bodySize":7},
			"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[],
			  "content":{"size":2,"mimeType":"application/json","text":"{}"},"redirectURL":"","headersSize":-1,"bodySize":2},
			"cache":{},"timings":{"send":0,"wait":12.5,"receive":0}}]}}`
		got, err := capture.ReadHAR(strings.NewReader(other), "other.har")
		Expect(err).NotTo(HaveOccurred(), "capture.ReadHAR")
		Expect(got).To(HaveLen(1))
		Expect(got[0].Seq).To(BeEquivalentTo(1))
		Expect(got[0].Kind).To(Equal(capture.KindHTTP))
		Expect(got[0].Host).To(Equal("spire.bugout.dev"))
		Expect(string(got[0].Body.Raw)).To(Equal(`{"a":1}`))
		Expect(got[0].Body.Size).To(BeEquivalentTo(7))
		Expect(got[0].Response.Status).To(Equal(200))
		Expect(got[0].Response.Time.Sub(got[0].Time)).To(Equal(12500 * time.Microsecond))
	})
})
