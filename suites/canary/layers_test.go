package canary_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gstruct"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// Transforms as a sender would apply them, for the layered search's specs.
func b64(s string) string    { return base64.StdEncoding.EncodeToString([]byte(s)) }
func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
func hx(s string) string     { return hex.EncodeToString([]byte(s)) }

func b32(s string) string { return base32.StdEncoding.EncodeToString([]byte(s)) }

func compress(kind, s string) string {
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch kind {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zlib":
		w = zlib.NewWriter(&buf)
	case "deflate":
		w, _ = flate.NewWriter(&buf, flate.BestCompression)
	case "brotli":
		w = brotli.NewWriter(&buf)
	case "zstd":
		w, _ = zstd.NewWriter(&buf)
	}
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return buf.String()
}

func utf16le(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

func utf16be(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return string(b)
}

func rot13(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		}
		return r
	}, s)
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func pctAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func ents(s, format string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, format, r)
	}
	return b.String()
}

var _ = Describe("Layered search", func() {
	// Values shaped like the ones planted without a prefix: an ordinary
	// word and a random part.
	user := canary.Canary{Role: "user", Value: "maple7k2q9xw4tz"}
	host := canary.Canary{Role: "host", Value: "buildbox-r8d3n6vq1m"}
	goal := canary.Canary{Role: "custom-goal", Value: "deploy-5hx0c2lp8e"}
	var s *canary.Searcher

	BeforeEach(func() {
		var err error
		s, err = canary.NewSearcherWith([]canary.Canary{user, host, goal}, canary.Options{Constants: []string{"pantsbuild/pants"}})
		Expect(err).NotTo(HaveOccurred(), "canary.NewSearcherWith")
	})

	// platform is free text in the Pants policy: the leaks go there.
	search := func(leak string) []canary.Hit {
		GinkgoHelper()
		body := `{"title":"pants run x","platform":` + jsonString("Linux-6.1-x86_64 "+leak) + `,"tags":["os:Linux"]}`
		obs, err := observe.Observe(exchange("https://telemetry.example/r", body), pantsOpts)
		Expect(err).NotTo(HaveOccurred(), "observe.Observe")
		return s.Search(obs)
	}
	withChain := func(hs []canary.Hit) []map[string]any {
		var out []map[string]any
		for _, h := range hs {
			out = append(out, map[string]any{"Canary": h.Canary, "Form": h.Form, "Location": h.Location, "Chain": h.Chain()})
		}
		return out
	}
	v := user.Value

	DescribeTable("finds each transform family and names the chain",
		func(leak string, form, name string) {
			hs := search(leak)
			Expect(withChain(hs)).To(ContainElement(gstruct.MatchKeys(gstruct.IgnoreExtras, gstruct.Keys{
				"Canary": HaveField("Role", "user"), "Form": Equal(form), "Location": Equal("$.platform"), "Chain": Equal(name),
			})), "leak %q", leak)
			for _, h := range hs {
				Expect(h.Excerpt).NotTo(ContainSubstring(v))
				Expect(h.Location).NotTo(ContainSubstring(v))
			}
		},
		Entry("upper", strings.ToUpper(v), canary.FormUpper, "upper(user)"),
		Entry("title", "Maple7K2Q9Xw4Tz", canary.FormTitle, "title(user)"),
		Entry("reversal", reverse(v), canary.FormReverse, "reverse(user)"),
		Entry("rot13", rot13(v), canary.FormROT13, "rot13(user)"),
		Entry("HEX", strings.ToUpper(hx(v)), canary.FormHex, "hex(user)"),
		// Without '-' or '_' the alphabets agree: the hit says base64.
		Entry("base64url unpadded", b64url("xy"+v), canary.FormBase64, "base64(user)"),
		Entry("base32", b32(v), canary.FormBase32, "base32(user)"),
		Entry("base32 at an offset", b32("abc"+v+"z"), canary.FormBase32, "base32(user)"),
		Entry("percent twice", strings.ReplaceAll(pctAll(v), "%", "%25"), "url-encoded(url-encoded)", "url-encoded(url-encoded(user))"),
		Entry("HTML decimal entities", ents(v, "&#%d;"), canary.FormHTML, "html-entities(user)"),
		Entry("XML hex entities", ents(v, "&#x%X;"), canary.FormHTML, "html-entities(user)"),
		Entry("UTF-16LE in hex", hx(utf16le(v)), "hex(utf16le)", "hex(utf16le(user))"),
		Entry("UTF-16BE in base64", b64(utf16be(v)), "base64(utf16be)", "base64(utf16be(user))"),
		Entry("base64 twice", b64(b64(v)), "base64(base64)", "base64(base64(user))"),
		Entry("hex of base64", hx(b64(v)), "hex(base64)", "hex(base64(user))"),
		Entry("gzip then base64", b64(compress("gzip", v)), "base64(gzip)", "base64(gzip(user))"),
		Entry("zlib then hex", hx(compress("zlib", v)), "hex(zlib)", "hex(zlib(user))"),
		Entry("deflate then base64", b64(compress("deflate", v)), "base64(deflate)", "base64(deflate(user))"),
		Entry("brotli then base64", b64(compress("brotli", strings.Repeat(`{"u":"`+v+`"},`, 4))), "base64(brotli)", "base64(brotli(user))"),
		Entry("zstd then hex", hx(compress("zstd", v)), "hex(zstd)", "hex(zstd(user))"),
		Entry("three layers", b64(compress("gzip", b64(v))), "base64(gzip(base64))", "base64(gzip(base64(user)))"),
		Entry("percent-encoded base64", pctAll(b64(v)), "url-encoded(base64)", "url-encoded(base64(user))"),
		Entry("md5", fmt.Sprintf("%x", md5.Sum([]byte(v))), canary.FormMD5, "md5(user)"),
		Entry("SHA1", fmt.Sprintf("%X", sha1.Sum([]byte(v))), canary.FormSHA1, "sha1(user)"),
		Entry("sha512", fmt.Sprintf("%x", sha512.Sum512([]byte(v))), canary.FormSHA512, "sha512(user)"),
		Entry("sha256 as base64", func() string { h := sha256.Sum256([]byte(v)); return base64.StdEncoding.EncodeToString(h[:]) }(), "base64(sha256)", "base64(sha256(user))"),
		Entry("md5 as base64, unpadded", func() string { h := md5.Sum([]byte(v)); return base64.RawStdEncoding.EncodeToString(h[:]) }(), "base64(md5)", "base64(md5(user))"),
		Entry("sha256 salted with another planted value", fmt.Sprintf("%x", sha256.Sum256([]byte(host.Value+"|"+v))), "salted-sha256", `sha256(host + "|" + user)`),
		// v + goal reads both ways; the salt-first reading (goal salted
		// with v) is the one reported, so a constant shows the other.
		Entry("sha1 salted after, no separator", fmt.Sprintf("%x", sha1.Sum([]byte(v+"pantsbuild/pants"))), "salted-sha1", `sha1(user + "pantsbuild/pants")`),
		Entry("sha256 salted with a policy constant", fmt.Sprintf("%x", sha256.Sum256([]byte("pantsbuild/pants/"+v))), "salted-sha256", `sha256("pantsbuild/pants" + "/" + user)`),
	)

	It("finds a truncated value from its first 12 characters, and says so", func() {
		hs := search("err=" + v[:12] + "...")
		Expect(withChain(hs)).To(ConsistOf(gstruct.MatchKeys(gstruct.IgnoreExtras, gstruct.Keys{
			"Form": Equal(canary.FormRaw), "Chain": Equal("truncated(user, 12 of 15 chars)"),
		})))
		Expect(hs[0].Matched).To(Equal(12))
		Expect(search("err=" + v[:11] + "...")).To(BeEmpty())
	})

	It("says truncated for a value cut inside JSON inside a JSON string", func() {
		inner := jsonString(`{"platform":"Linux ` + v[:13] + `","n":"\u00e9"}`)
		obs, err := observe.Observe(exchange("https://telemetry.example/r", `{"content":`+inner+`}`), pantsOpts)
		Expect(err).NotTo(HaveOccurred(), "observe.Observe")
		Expect(withChain(s.Search(obs))).To(ConsistOf(gstruct.MatchKeys(gstruct.IgnoreExtras, gstruct.Keys{
			"Location": Equal("$.content.platform"), "Chain": Equal("truncated(user, 13 of 15 chars)"),
		})))
	})

	It("takes the policy's minimum prefix per role, and refuses one below 8", func() {
		var err error
		s, err = canary.NewSearcherWith([]canary.Canary{user}, canary.Options{MinPrefixByRole: map[string]int{"user": 9}})
		Expect(err).NotTo(HaveOccurred(), "canary.NewSearcherWith")
		Expect(search("err=" + v[:9] + "...")).To(ContainElement(HaveField("Matched", 9)))
		_, err = canary.NewSearcherWith([]canary.Canary{user}, canary.Options{MinPrefixByRole: map[string]int{"user": 5}})
		Expect(err).To(MatchError(ContainSubstring("role user: minimum prefix 5 is below 8")))
	})

	It("finds a value split over two fields, and over three positions", func() {
		body := `{"a":"x-` + v[:6] + `","b":"` + v[6:] + `-y"}`
		obs, err := observe.Observe(exchange("https://telemetry.example/r", body), pantsOpts)
		Expect(err).NotTo(HaveOccurred(), "observe.Observe")
		hs := s.Search(obs)
		Expect(withChain(hs)).To(ConsistOf(gstruct.MatchKeys(gstruct.IgnoreExtras, gstruct.Keys{
			"Form": Equal(canary.FormFragments), "Location": Equal("$.a + $.b"), "Chain": Equal("fragments(user, 2 pieces)"),
		})))

		h := host.Value // 18 chars: three pieces of 6
		obs, err = observe.Observe(exchange("https://telemetry.example/r?q="+h[12:], `{"a":"`+h[6:12]+`","b":"`+h[:6]+`"}`), pantsOpts)
		Expect(err).NotTo(HaveOccurred(), "observe.Observe")
		Expect(withChain(s.Search(obs))).To(ContainElement(gstruct.MatchKeys(gstruct.IgnoreExtras, gstruct.Keys{
			"Form": Equal(canary.FormFragments), "Chain": Equal("fragments(host, 3 pieces)"),
		})))
	})

	It("needs every piece of a fragmented value", func() {
		Expect(search(v[:6] + " and " + v[7:])).To(BeEmpty())
	})

	It("finds nothing in a report whose long runs hold no planted value", func() {
		id := fmt.Sprintf("%x", sha256.Sum256([]byte("unrelated")))
		Expect(search(id + " " + b64(strings.Repeat("zq", 20)) + " " + hx(compress("gzip", "no value here")) + " 3f2a-UUID-d3bc12b2-d92b-4531-9512-9c338eb05a15")).To(BeEmpty())
	})

	It("knows the transform names a form may chain", func() {
		Expect(canary.ValidForm("base64(gzip(hex))")).To(BeTrue())
		Expect(canary.ValidForm("salted-sha256")).To(BeTrue())
		Expect(canary.ValidForm("base64(rot26)")).To(BeFalse())
		Expect(canary.ValidForm("base64(gzip")).To(BeFalse())
	})
})
