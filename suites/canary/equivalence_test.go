package canary_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// equivalenceCanaries mixes generated values with the shapes a real run
// plants (MAC addresses in three spellings, decimal node ids, a UUID) and
// short, upper-case, non-ASCII and punctuation-heavy values, so anchors of
// several lengths and every form occur. The values are fixed so that a
// fuzz failure replays.
func equivalenceCanaries() []canary.Canary {
	return []canary.Canary{
		{Role: "user", Value: "kaveromilasulano42"},
		{Role: "node", Value: "02fc00000001"},
		{Role: "node", Value: "02:fc:00:00:00:01"},
		{Role: "node", Value: "02FC00000001"},
		{Role: "node", Value: "115288820800612"},
		{Role: "repo-id", Value: "d3bc12b2-d92b-4531-9512-9c338eb05a15"},
		{Role: "short", Value: "abcd"},
		{Role: "short", Value: "Zq9x_"},
		{Role: "short", Value: "0123456"},
		{Role: "config-value", Value: "Zabcdefgh"}, // its anchor ends after the one of "abcd"
		{Role: "config-value", Value: "kavo~~~~~~~~?>?>"},
		{Role: "config-value", Value: `kavo"quo\te</x>&`},
		{Role: "home", Value: "/home/Jürgen Ödön"},
		{Role: "env-value", Value: "kavo 😀 emoji"},
		{Role: "host", Value: "sutebi-ravokela-61"},
		{Role: "custom-goal", Value: "gavibo-tunesolanor"},
		{Role: "cmdline-arg", Value: "nasodelivulanore83"},
	}
}

// spellingsOf is every way a body can carry v: each form of the package,
// in both cases where case does not matter.
func spellingsOf(v string) []string {
	out := []string{v, strings.ToUpper(v), strings.ToLower(v), url.QueryEscape(v), url.PathEscape(v)}
	var pct, unicode strings.Builder
	for i := 0; i < len(v); i++ {
		fmt.Fprintf(&pct, "%%%02x", v[i])
	}
	for _, r := range v {
		if r > 0xFFFF {
			r -= 0x10000
			fmt.Fprintf(&unicode, `\u%04X\u%04X`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			continue
		}
		fmt.Fprintf(&unicode, `\u%04x`, r)
	}
	out = append(out, pct.String(), strings.ToUpper(pct.String()), unicode.String(), jsonString(v)[1:len(jsonString(v))-1])
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		for a := range 3 {
			out = append(out, enc.EncodeToString([]byte(strings.Repeat("p", a)+v+"tail")))
		}
	}
	m := md5.Sum([]byte(v))
	s1 := sha1.Sum([]byte(v))
	s256 := sha256.Sum256([]byte(v))
	s512 := sha512.Sum512([]byte(v))
	for _, h := range [][]byte{[]byte(v), m[:], s1[:], s256[:], s512[:]} {
		out = append(out, hex.EncodeToString(h), strings.ToUpper(hex.EncodeToString(h)))
	}
	return out
}

// nearMiss spoils spelling sp so that, most of the time, it no longer
// matches: a prefix, a changed byte, a flipped case, a byte inserted.
func nearMiss(r *rand.Rand, sp string) string {
	if len(sp) < 2 {
		return sp
	}
	i := r.IntN(len(sp))
	switch r.IntN(4) {
	case 0:
		return sp[:1+r.IntN(len(sp)-1)]
	case 1:
		return sp[:i] + string(rune('a'+r.IntN(26))) + sp[i+1:]
	case 2:
		b := []byte(sp)
		b[i] ^= 0x20
		return string(b)
	default:
		return sp[:i] + " " + sp[i:]
	}
}

// fillers are body backgrounds: the scale capture's repeat, a Pants report,
// hex and base64 text, random bytes (invalid UTF-8) and nothing.
func fillers(r *rand.Rand, n int) [][]byte {
	report, err := os.ReadFile("../observe/testdata/pants-2.16.json")
	Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
	rnd := make([]byte, n)
	for i := range rnd {
		rnd[i] = byte(r.IntN(256))
	}
	return [][]byte{
		bytes.Repeat([]byte(`{"k":"0123456789abcdefghijklmnopqrstuvwxyz"},`), n/45+1)[:n],
		report,
		[]byte(strings.ToUpper(hex.EncodeToString(rnd[:n/2]))),
		[]byte(base64.StdEncoding.EncodeToString(rnd[:n*3/4])),
		rnd,
		{},
	}
}

// plant inserts each piece at a random offset of body.
func plant(r *rand.Rand, body []byte, pieces ...string) []byte {
	out := append([]byte(nil), body...)
	for _, p := range pieces {
		at := 0
		if len(out) > 0 {
			at = r.IntN(len(out) + 1)
		}
		out = append(out[:at], append([]byte(p), out[at:]...)...)
	}
	return out
}

// expectSame compares the new scan with the automaton it replaced on body,
// as free text, as a JSON body and as a URL, header and raw body.
func expectSame(s, ref *canary.Searcher, body []byte) {
	GinkgoHelper()
	Expect(s.ScanMatches(body)).To(Equal(ref.ScanMatches(body)), "scan of %q", body)
	Expect(s.SearchBytes(body, 3, "log")).To(Equal(ref.SearchBytes(body, 3, "log")))
	for _, ct := range []string{"application/json", "text/plain"} {
		ex := &capture.Exchange{Seq: 9, Kind: capture.KindHTTP, Host: "t.example:443", Method: "POST",
			URL:     "https://t.example/r?q=" + url.QueryEscape(string(body[:min(len(body), 64)])),
			Headers: []capture.Header{{Name: "Content-Type", Value: ct}, {Name: "X-Body", Value: string(body[:min(len(body), 40)])}},
			Body:    capture.Body{Raw: body, Encoding: "x-test", Decoded: bytes.TrimSpace(body)},
		}
		obs, err := observe.Observe(ex, pantsOpts)
		Expect(err).NotTo(HaveOccurred(), "observe.Observe")
		Expect(s.Search(obs)).To(Equal(ref.Search(obs)), "search of %q", body)
	}
}

var _ = Describe("the scan", func() {
	var (
		cs     []canary.Canary
		s, ref *canary.Searcher
		r      *rand.Rand
	)

	BeforeEach(func() {
		cs = equivalenceCanaries()
		var err error
		s, err = canary.NewSearcher(cs)
		Expect(err).NotTo(HaveOccurred(), "canary.NewSearcher")
		ref, err = canary.NewReferenceSearcher(cs)
		Expect(err).NotTo(HaveOccurred(), "canary.NewReferenceSearcher")
		seed := uint64(GinkgoRandomSeed())
		r = rand.New(rand.NewPCG(seed, seed^0x5eed))
	})

	It("finds what the Aho-Corasick automaton found, in every form at random offsets", func() {
		found := 0
		for _, fill := range fillers(r, 2048) {
			for _, c := range cs {
				sps := spellingsOf(c.Value)
				for k := 0; k < len(sps); k += 3 {
					body := plant(r, fill, sps[k:min(k+3, len(sps))]...)
					expectSame(s, ref, body)
					found += len(s.ScanMatches(body))
				}
			}
		}
		Expect(found).To(BeNumerically(">", 1000), "the planted spellings are found")
	})

	It("agrees on near misses, spellings cut by the end of the text, and empty text", func() {
		for _, fill := range fillers(r, 512) {
			for _, c := range cs {
				for _, sp := range spellingsOf(c.Value) {
					expectSame(s, ref, plant(r, fill, nearMiss(r, sp), nearMiss(r, sp)))
					expectSame(s, ref, append(append([]byte(nil), fill...), sp[:r.IntN(len(sp)+1)]...))
					expectSame(s, ref, []byte(sp[r.IntN(len(sp)):]))
				}
			}
		}
		expectSame(s, ref, nil)
		expectSame(s, ref, []byte{0xff, 0xfe, 'c', 'n', 'r', 'y', 0x80})
	})

	It("agrees on the benchmark's bodies with its 50 generated canaries", func() {
		var many []canary.Canary
		for i := range 50 {
			many = append(many, canary.Generate(fmt.Sprintf("role%d", i%11)))
		}
		var err error
		s, err = canary.NewSearcher(many)
		Expect(err).NotTo(HaveOccurred(), "canary.NewSearcher")
		ref, err = canary.NewReferenceSearcher(many)
		Expect(err).NotTo(HaveOccurred(), "canary.NewReferenceSearcher")
		hits := events(1<<18, many[0].Value)
		Expect(s.SearchBytes(hits, 1, "log")).NotTo(BeEmpty())
		for _, body := range [][]byte{events(1<<16, ""), hits} {
			ex := &capture.Exchange{Seq: 1, Method: "POST", URL: "https://telemetry.example/v1/events?v=1",
				Headers: []capture.Header{{Name: "Content-Type", Value: "application/json"}}, Body: capture.Body{Raw: body}}
			obs, err := observe.Observe(ex, observe.Options{TagLists: []observe.TagList{{Path: "$[*].tags", Sep: ":"}}})
			Expect(err).NotTo(HaveOccurred(), "observe.Observe")
			Expect(s.Search(obs)).To(Equal(ref.Search(obs)))
			Expect(s.ScanMatches(body)).To(Equal(ref.ScanMatches(body)))
		}
	})

	It("agrees on overlapping and adjacent spellings", func() {
		v := cs[0].Value
		for _, body := range []string{v + v, v[:8] + v, strings.ToUpper(v) + v + strings.ToUpper(v), "abcdabcdabcd", "zABCDEFGHzabcdefgh", "0123456701234560123456"} {
			expectSame(s, ref, []byte(body))
		}
	})

	It("agrees on overlapping occurrences when all anchors are 8 bytes", func() {
		var err error
		rep := []canary.Canary{{Role: "user", Value: "aaaaaaaaaaaa"}, {Role: "host", Value: "aaaaaaaaab"}}
		s, err = canary.NewSearcher(rep)
		Expect(err).NotTo(HaveOccurred(), "canary.NewSearcher")
		ref, err = canary.NewReferenceSearcher(rep)
		Expect(err).NotTo(HaveOccurred(), "canary.NewReferenceSearcher")
		body := []byte("xx" + strings.Repeat("a", 40) + "b" + strings.Repeat("A", 30) + "B")
		Expect(len(ref.ScanMatches(body))).To(BeNumerically(">", 20))
		expectSame(s, ref, body)
	})

	It("agrees with a single short canary, where every position is a window", func() {
		var err error
		one := []canary.Canary{{Role: "short", Value: "aBc1"}}
		s, err = canary.NewSearcher(one)
		Expect(err).NotTo(HaveOccurred(), "canary.NewSearcher")
		ref, err = canary.NewReferenceSearcher(one)
		Expect(err).NotTo(HaveOccurred(), "canary.NewReferenceSearcher")
		expectSame(s, ref, []byte("xxabc1ABC1aBc1 YWJjMQ== 61626331 aBc"))
	})
})

// FuzzSearchEquivalence checks that the scan and the automaton it replaced
// agree on any body.
func FuzzSearchEquivalence(f *testing.F) {
	cs := equivalenceCanaries()
	s, err := canary.NewSearcher(cs)
	if err != nil {
		f.Fatal(err)
	}
	ref, err := canary.NewReferenceSearcher(cs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{})
	f.Add([]byte(`{"k":"0123456789abcdefghijklmnopqrstuvwxyz"},`))
	for _, c := range cs[:6] {
		for _, sp := range spellingsOf(c.Value) {
			f.Add([]byte(`{"x":"` + sp + `","y":"` + sp[:len(sp)/2] + `"}`))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := s.ScanMatches(body), ref.ScanMatches(body); !equalMatches(got, want) {
			t.Fatalf("scan of %q:\n got %v\nwant %v", body, got, want)
		}
		if got, want := fmt.Sprint(s.SearchBytes(body, 1, "log")), fmt.Sprint(ref.SearchBytes(body, 1, "log")); got != want {
			t.Fatalf("SearchBytes of %q:\n got %s\nwant %s", body, got, want)
		}
		ex := &capture.Exchange{Seq: 1, Kind: capture.KindHTTP, Method: "POST", URL: "https://t.example/r",
			Headers: []capture.Header{{Name: "Content-Type", Value: "application/json"}}, Body: capture.Body{Raw: body}}
		obs, err := observe.Observe(ex, pantsOpts)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(s.Search(obs)), fmt.Sprint(ref.Search(obs)); got != want {
			t.Fatalf("Search of %q:\n got %s\nwant %s", body, got, want)
		}
	})
}

func equalMatches(a, b []canary.ScanMatch) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
