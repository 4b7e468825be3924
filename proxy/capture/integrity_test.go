package capture_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("integrity chain", func() {
	var dir, path string

	// record writes n exchanges with their responses (2n lines) the way
	// the recorder does, and closes the writer (the tool is gone).
	record := func(n int) {
		GinkgoHelper()
		w, err := capture.Create(path)
		Expect(err).NotTo(HaveOccurred(), "capture.Create")
		for i := 1; i <= n; i++ {
			Expect(w.Exchange(&capture.Exchange{Seq: int64(i), Kind: capture.KindHTTP, Host: "spire.bugout.dev", Method: "POST",
				URL: "https://spire.bugout.dev/humbug/reports", Body: capture.Body{Raw: []byte(`{"n":1}`), Size: 7}})).To(Succeed())
			Expect(w.Response(int64(i), &capture.Response{Status: 200})).To(Succeed())
		}
		Expect(w.Close()).To(Succeed())
	}
	lines := func() [][]byte {
		GinkgoHelper()
		b, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		return bytes.SplitAfter(b, []byte("\n"))[:bytes.Count(b, []byte("\n"))]
	}
	rewrite := func(ls [][]byte) {
		GinkgoHelper()
		Expect(os.WriteFile(path, bytes.Join(ls, nil), 0o600)).To(Succeed())
	}

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		path = filepath.Join(dir, capture.JSONLName)
	})

	It("proves a capture is the recorder's, line for line, with a key that reaches the folder only at Close", func() {
		w, err := capture.Create(path)
		Expect(err).NotTo(HaveOccurred(), "capture.Create")
		Expect(w.Exchange(&capture.Exchange{Seq: 1, Kind: capture.KindHTTP, Host: "a.example", Method: "GET", URL: "https://a.example/"})).To(Succeed())
		_, err = os.Stat(filepath.Join(dir, capture.IntegrityName))
		Expect(os.IsNotExist(err)).To(BeTrue(), "no key while the tool may run")
		Expect(w.Close()).To(Succeed())

		Expect(capture.Verify(path)).To(Succeed())
		Expect(capture.Verify(dir)).To(Succeed())
		in, err := capture.ReadIntegrity(dir)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadIntegrity")
		Expect(in.Files).To(ConsistOf(And(HaveField("Name", capture.JSONLName), HaveField("Chain", HaveLen(1)))))
		fi, err := os.Stat(filepath.Join(dir, capture.IntegrityName))
		Expect(err).NotTo(HaveOccurred(), "os.Stat")
		Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o600)))
	})

	It("chains an empty capture too", func() {
		record(0)
		Expect(capture.Verify(path)).To(Succeed())
		Expect(os.WriteFile(path, []byte(`{"type":"exchange","exchange":{"seq":1,"kind":"http"}}`+"\n"), 0o600)).To(Succeed())
		Expect(capture.Verify(path)).To(MatchError(And(ContainSubstring(path+" line 1:"), ContainSubstring("0 lines were recorded, this one was added after"))))
	})

	DescribeTable("names the first line that is not the recorder's",
		func(edit func([][]byte) [][]byte, want string) {
			record(3)
			rewrite(edit(lines()))
			err := capture.Verify(path)
			Expect(err).To(MatchError(capture.ErrIntegrity))
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry("a changed byte", func(ls [][]byte) [][]byte {
			// Still valid JSON: only the chain can tell.
			ls[2] = append(bytes.TrimSuffix(ls[2], []byte("\n")), ' ', '\n')
			return ls
		}, "capture.jsonl line 3: capture does not match its integrity chain: the record was changed, inserted, removed or moved"),
		Entry("a removed line", func(ls [][]byte) [][]byte { return append(ls[:1], ls[2:]...) }, "capture.jsonl line 2:"),
		Entry("two lines swapped", func(ls [][]byte) [][]byte { ls[3], ls[4] = ls[4], ls[3]; return ls }, "capture.jsonl line 4:"),
		Entry("a line appended", func(ls [][]byte) [][]byte { return append(ls, ls[0]) }, "capture.jsonl line 7: capture does not match its integrity chain: 6 lines were recorded"),
		Entry("lines cut at the end", func(ls [][]byte) [][]byte { return ls[:5] }, "the file ends after line 5 but 6 lines were recorded"),
	)

	It("says a capture without integrity.json has no chain: judged, never proved", func() {
		record(1)
		Expect(os.Remove(filepath.Join(dir, capture.IntegrityName))).To(Succeed())
		err := capture.Verify(path)
		Expect(err).To(MatchError(capture.ErrNoIntegrity))
		Expect(err).NotTo(MatchError(capture.ErrIntegrity))
		Expect(err.Error()).To(ContainSubstring("recorded before captures were chained"))
	})

	It("seals a file written whole after the run and notices a change to it", func() {
		record(1)
		har := filepath.Join(dir, capture.HARName)
		Expect(os.WriteFile(har, []byte(`{"log":{}}`), 0o600)).To(Succeed())
		Expect(capture.SealFile(dir, capture.HARName)).To(Succeed())
		Expect(capture.Verify(har)).To(Succeed())
		Expect(capture.Verify(path)).To(Succeed(), "sealing keeps the chain")
		Expect(os.WriteFile(har, []byte(`{"log":{"x":1}}`), 0o600)).To(Succeed())
		err := capture.Verify(har)
		Expect(err).To(MatchError(capture.ErrIntegrity))
		Expect(err.Error()).To(ContainSubstring("changed after it was written"))
	})

	It("rejects a malformed integrity.json naming the file and what is wrong", func() {
		record(1)
		p := filepath.Join(dir, capture.IntegrityName)
		for _, c := range []struct{ doc, want string }{
			{`{"version":2,"algorithm":"x","key":"00","files":[]}`, "want version 1"},
			{`{"version":1,"algorithm":"HMAC-SHA256 chain over lines","key":"zz","files":[]}`, "key: want at least 16 bytes in hex"},
			{`{"version":1,"extra":true}`, `unknown field "extra"`},
		} {
			Expect(os.WriteFile(p, []byte(c.doc), 0o600)).To(Succeed())
			err := capture.Verify(path)
			Expect(err).To(MatchError(And(ContainSubstring(p), ContainSubstring(c.want))))
			Expect(err).NotTo(Or(MatchError(capture.ErrNoIntegrity), MatchError(capture.ErrIntegrity)))
		}
	})

	It("does not keep the key of a stale integrity.json for a new capture", func() {
		record(1)
		old, err := os.ReadFile(filepath.Join(dir, capture.IntegrityName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		record(1)
		now, err := os.ReadFile(filepath.Join(dir, capture.IntegrityName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		var a, b capture.Integrity
		Expect(json.Unmarshal(old, &a)).To(Succeed())
		Expect(json.Unmarshal(now, &b)).To(Succeed())
		Expect(a.Key).NotTo(Equal(b.Key), "a key per capture")
		Expect(strings.Repeat("0", 64)).NotTo(Equal(b.Key))
	})
})
