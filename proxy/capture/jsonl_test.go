package capture_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("JSON Lines captures", func() {
	var dir, path string

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		path = filepath.Join(dir, capture.JSONLName)
	})

	write := func(n int) {
		GinkgoHelper()
		w, err := capture.Create(path)
		Expect(err).NotTo(HaveOccurred(), "capture.Create")
		for i := 1; i <= n; i++ {
			Expect(w.Exchange(&capture.Exchange{Seq: int64(i), Kind: capture.KindHTTP, Method: "POST",
				URL: "https://spire.bugout.dev/humbug/reports", Body: capture.Body{Raw: []byte("body"), Size: 4}})).To(Succeed())
			Expect(w.Response(int64(i), &capture.Response{Status: 200})).To(Succeed())
		}
		Expect(w.Close()).To(Succeed())
	}

	It("is written 0600 and read back with responses merged", func() {
		write(3)
		st, err := os.Stat(path)
		Expect(err).NotTo(HaveOccurred(), "os.Stat")
		Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o600)))
		exs, err := capture.Load(dir)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(HaveLen(3))
		for i, ex := range exs {
			Expect(ex.Seq).To(BeEquivalentTo(i + 1))
			Expect(ex.Response.Status).To(Equal(200))
		}
	})

	It("loads a capture cut mid-line up to the last complete record", func() {
		write(3)
		b, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		lines := bytes.SplitAfter(b, []byte("\n"))
		// Keep exchange 1, its response, exchange 2, and half of 2's response
		// line: what a SIGKILL in the middle of a write leaves.
		cut := append(bytes.Join(lines[:3], nil), lines[3][:len(lines[3])/2]...)
		Expect(os.WriteFile(path, cut, 0o600)).To(Succeed())

		exs, err := capture.Load(path)
		Expect(err).To(MatchError(capture.ErrTruncated))
		Expect(err.Error()).To(ContainSubstring("line 4"))
		Expect(exs).To(HaveLen(2), "both complete exchanges")
		Expect(exs[0].Response).NotTo(BeNil())
		Expect(exs[1].Response).To(BeNil(), "the cut response is dropped")
	})

	It("names the line of a malformed record", func() {
		Expect(os.WriteFile(path, []byte("{\"type\":\"exchange\",\"exchange\":{\"seq\":1}}\nnot json\n"), 0o600)).To(Succeed())
		_, err := capture.Load(path)
		Expect(err).To(MatchError(ContainSubstring("line 2: not a capture record")))
	})

	It("rejects an unknown file type with the formats it knows", func() {
		p := filepath.Join(dir, "capture.txt")
		Expect(os.WriteFile(p, nil, 0o600)).To(Succeed())
		_, err := capture.Load(p)
		Expect(err).To(MatchError(ContainSubstring("want a run folder, .jsonl or .har")))
		Expect(strings.Contains(err.Error(), p)).To(BeTrue())
	})
})
