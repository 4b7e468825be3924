package canary_test

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gstruct"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

var pantsOpts = observe.Options{TagLists: []observe.TagList{{Path: "$.tags", Sep: ":"}}}

func exchange(url string, body string, headers ...capture.Header) *capture.Exchange {
	return &capture.Exchange{
		Seq: 7, Kind: capture.KindHTTP, Host: "telemetry.example:443", Method: "POST", URL: url,
		Headers: append([]capture.Header{{Name: "Content-Type", Value: "application/json"}}, headers...),
		Body:    capture.Body{Raw: []byte(body), Size: int64(len(body))},
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func hexOf(sum []byte) string { return hex.EncodeToString(sum) }

// hit matches a Hit by role, form and location.
func hit(role, form, location string) OmegaMatcher {
	return gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
		"Canary":   HaveField("Role", role),
		"Form":     Equal(form),
		"Location": Equal(location),
		"Exchange": Equal(int64(7)),
	})
}

var _ = Describe("Searcher", func() {
	var (
		user, goal canary.Canary
		s          *canary.Searcher
	)

	search := func(ex *capture.Exchange) []canary.Hit {
		GinkgoHelper()
		obs, err := observe.Observe(ex, pantsOpts)
		Expect(err).NotTo(HaveOccurred(), "observe.Observe")
		return s.Search(obs)
	}

	BeforeEach(func() {
		user = canary.Canary{Role: "user", Value: "kaveromilasulano42"}
		goal = canary.Generate("custom-goal")
		var err error
		s, err = canary.NewSearcher([]canary.Canary{user, goal, canary.Generate("host")})
		Expect(err).NotTo(HaveOccurred(), "canary.NewSearcher")
	})

	It("finds nothing in a compliant report", func() {
		Expect(search(exchange("https://telemetry.example/r", `{"a":"5a01f053c895c2078d9a3db0496d8944fda894ec5f43a4f5df0023bc927e8fb5","b":"test"}`))).To(BeEmpty())
	})

	Describe("each form", func() {
		DescribeTable("in a JSON string value",
			func(form string, spell func(v string) string) {
				hits := search(exchange("https://telemetry.example/r", `{"x":`+jsonString("before "+spell(user.Value)+" after")+`}`))
				Expect(hits).To(ContainElement(hit("user", form, "$.x")))
			},
			Entry("raw", canary.FormRaw, func(v string) string { return v }),
			Entry("upper", canary.FormUpper, strings.ToUpper),
			Entry("title", canary.FormTitle, func(v string) string { return strings.ToUpper(v[:1]) + v[1:] }),
			Entry("mixed case", canary.FormCaseFolded, func(v string) string { return strings.ToUpper(v[:1]) + v[1:4] + strings.ToUpper(v[4:8]) + v[8:] }),
			Entry("percent-encoded", canary.FormURL, func(v string) string {
				var b strings.Builder
				for i := 0; i < len(v); i++ {
					fmt.Fprintf(&b, "%%%02x", v[i])
				}
				return b.String()
			}),
			Entry("hex", canary.FormHex, func(v string) string { return hex.EncodeToString([]byte(v)) }),
			Entry("HEX", canary.FormHex, func(v string) string { return strings.ToUpper(hex.EncodeToString([]byte(v))) }),
			Entry("md5", canary.FormMD5, func(v string) string { s := md5.Sum([]byte(v)); return hexOf(s[:]) }),
			Entry("sha1", canary.FormSHA1, func(v string) string { s := sha1.Sum([]byte(v)); return hexOf(s[:]) }),
			Entry("sha256", canary.FormSHA256, func(v string) string { s := sha256.Sum256([]byte(v)); return hexOf(s[:]) }),
			Entry("SHA256", canary.FormSHA256, func(v string) string { s := sha256.Sum256([]byte(v)); return strings.ToUpper(hexOf(s[:])) }),
			Entry("sha512", canary.FormSHA512, func(v string) string { s := sha512.Sum512([]byte(v)); return hexOf(s[:]) }),
		)

		DescribeTable("base64 inside longer base64, at every alignment, padded or not",
			func(enc *base64.Encoding, form, prefix, suffix string) {
				b64 := enc.EncodeToString([]byte(prefix + user.Value + suffix))
				hits := search(exchange("https://telemetry.example/r", `{"blob":"`+b64+`"}`))
				Expect(hits).To(ContainElement(hit("user", form, "$.blob")), b64)
			},
			Entry("std, aligned, padded end", base64.StdEncoding, canary.FormBase64, "", ""),
			Entry("std, offset 1", base64.StdEncoding, canary.FormBase64, "x", "trailing bytes"),
			Entry("std, offset 2", base64.StdEncoding, canary.FormBase64, "xy", "t"),
			Entry("std unpadded, offset 1", base64.RawStdEncoding, canary.FormBase64, "{", ""),
			Entry("url, offset 2", base64.URLEncoding, canary.FormBase64, "ab", "cd"),
		)

		It("tells the URL alphabet from the standard one", func() {
			odd := canary.Canary{Role: "config-value", Value: "kavo~~~~~~~~?>?>"}
			var err error
			s, err = canary.NewSearcher([]canary.Canary{odd})
			Expect(err).NotTo(HaveOccurred(), "canary.NewSearcher")
			for a := range 3 {
				std := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("p", a) + odd.Value))
				url := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("p", a) + odd.Value))
				Expect(std).NotTo(Equal(url), "the value must make the alphabets differ")
				Expect(search(exchange("https://t.example/r", `{"s":"`+std+`","u":"`+url+`"}`))).To(ContainElements(
					hit("config-value", canary.FormBase64, "$.s"),
					hit("config-value", canary.FormBase64URL, "$.u")))
			}
		})

		It("finds the \\u-escaped form in the raw body and the decoded value", func() {
			var esc strings.Builder
			for _, r := range user.Value {
				fmt.Fprintf(&esc, `\u%04X`, r)
			}
			hits := search(exchange("https://telemetry.example/r", `{"x":"`+esc.String()+`"}`))
			Expect(hits).To(ContainElements(hit("user", canary.FormJSON, "$.x"), hit("user", canary.FormRaw, "$.x")))
		})

		It("finds url-encoded query values with + for space", func() {
			spaced := canary.Canary{Role: "cmdline-arg", Value: "kavo arg 0k3j9x"}
			var err error
			s, err = canary.NewSearcher([]canary.Canary{spaced})
			Expect(err).NotTo(HaveOccurred(), "canary.NewSearcher")
			hits := search(exchange("https://telemetry.example/r?a=kavo+arg+0k3j9x&b=kavo%20arg%200k3j9x", ""))
			Expect(hits).To(ContainElements(
				HaveField("Form", canary.FormURL),
				hit("cmdline-arg", canary.FormRaw, "query:a"),
				hit("cmdline-arg", canary.FormRaw, "query:b")))
		})
	})

	Describe("locations", func() {
		It("finds a canary inside JSON inside a JSON string by its inner path only", func() {
			content, _ := json.Marshal(map[string]any{"user_id": user.Value, "num_goals": "3"})
			body := `{"title":"t","content":` + jsonString(string(content)) + `,"tags":["goal:test","goal:` + goal.Value + `"]}`
			hits := search(exchange("https://telemetry.example/r", body))
			Expect(hits).To(ConsistOf(
				hit("user", canary.FormRaw, "$.content.user_id"),
				hit("custom-goal", canary.FormRaw, "$.tags[1]"),
			))
		})

		It("finds canaries in the URL, headers, host and SNI", func() {
			ex := exchange("https://telemetry.example/u/"+user.Value+"/x", "", capture.Header{Name: "X-Goal", Value: "g=" + goal.Value})
			ex.Host = user.Value + ".example:443"
			ex.TLS = &capture.TLS{SNI: user.Value + ".example"}
			Expect(search(ex)).To(ConsistOf(
				hit("user", canary.FormRaw, "url"),
				hit("user", canary.FormRaw, "host"),
				hit("user", canary.FormRaw, "sni"),
				hit("custom-goal", canary.FormRaw, "header:X-Goal"),
			))
		})

		It("locates hits outside values by byte offset", func() {
			body := `{"` + user.Value + `":1}`
			hits := search(exchange("https://t.example/r", body))
			Expect(hits).To(ContainElement(hit("user", canary.FormRaw, "body@2")))
			for _, h := range hits {
				Expect(h.Location).NotTo(ContainSubstring(user.Value), "locations are redacted")
			}
		})

		It("searches non-JSON bodies by offset", func() {
			hits := search(exchange("https://t.example/r", "name="+user.Value, capture.Header{Name: "Content-Type", Value: "text/plain"}))
			Expect(hits).To(ContainElement(hit("user", canary.FormRaw, "body@5")))
		})

		It("searches the decoded body and the raw bytes of an encoded one", func() {
			ex := exchange("https://t.example/r", "")
			ex.Body = capture.Body{Raw: []byte("zz" + strings.ToUpper(user.Value)), Encoding: "x-test", Decoded: []byte(`{"k":"` + user.Value + `"}`)}
			Expect(search(ex)).To(ConsistOf(
				hit("user", canary.FormRaw, "$.k"),
				hit("user", canary.FormUpper, "raw-body@2"),
			))
		})

		It("reports each canary, location and form once", func() {
			hits := search(exchange("https://t.example/r", `{"k":"`+user.Value+` `+user.Value+`"}`))
			Expect(hits).To(HaveLen(1))
		})
	})

	Describe("excerpts", func() {
		It("replaces every canary with its role and shortens long tokens", func() {
			id := strings.Repeat("ab", 32)
			hits := search(exchange("https://t.example/r", `{"k":"id=`+id+` u=`+user.Value+` g=`+goal.Value+`"}`))
			Expect(hits).NotTo(BeEmpty())
			for _, h := range hits {
				Expect(h.Excerpt).NotTo(ContainSubstring(user.Value))
				Expect(h.Excerpt).NotTo(ContainSubstring(goal.Value))
				Expect(h.Excerpt).NotTo(ContainSubstring(id[:16]))
				Expect(h.Excerpt).To(ContainSubstring("«user»"))
				Expect(len(h.Excerpt)).To(BeNumerically("<", 80))
			}
		})
	})

	Describe("near misses", func() {
		DescribeTable("are not hits",
			func(spell func(v string) string) {
				Expect(search(exchange("https://t.example/r?q="+spell(user.Value), `{"x":`+jsonString(spell(user.Value))+`}`))).To(BeEmpty())
			},
			// A change before the 12th character: a longer prefix is a
			// truncated hit.
			Entry("one character changed", func(v string) string { return v[:10] + "z" + v[11:] }),
			Entry("truncated below the minimum prefix", func(v string) string { return v[:11] }),
			Entry("base64 of a neighbour", func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v[:5] + "z" + v[6:])) }),
			Entry("sha256 salted with a repo id", func(v string) string {
				s := sha256.Sum256([]byte("7775F8D5-FC58-4DBC-9302-D00AE4A1505F." + v))
				return hexOf(s[:])
			}),
			Entry("hex with a byte changed", func(v string) string { return hex.EncodeToString([]byte(v[:5] + "z" + v[6:])) }),
		)
	})

	It("searches free text such as a log", func() {
		hits := s.SearchBytes([]byte("error: unknown goal "+goal.Value+"\n"), 0, "stderr")
		Expect(hits).To(ConsistOf(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
			"Location": Equal("stderr@20"), "Form": Equal(canary.FormRaw),
		})))
	})

	It("refuses unusable canaries", func() {
		_, err := canary.NewSearcher(nil)
		Expect(err).To(MatchError(ContainSubstring("no canaries")))
		_, err = canary.NewSearcher([]canary.Canary{{Role: "user", Value: "bob"}})
		Expect(err).To(MatchError(ContainSubstring("shorter than 4")))
	})
})
