package proxy_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy"
)

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func brotlied(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zstded(b []byte) []byte {
	w, err := zstd.NewWriter(nil)
	Expect(err).NotTo(HaveOccurred(), "zstd.NewWriter")
	defer w.Close()
	return w.EncodeAll(b, nil)
}

func zlibbed(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func deflated(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

var _ = Describe("DecodeBody", func() {
	plain := []byte(`{"repo_id":"abc","tags":["goal:test"]}`)

	DescribeTable("undoes a content coding",
		func(encoding string, encode func([]byte) []byte) {
			got, truncated, err := proxy.DecodeBody(encoding, encode(plain), 1<<20)
			Expect(err).NotTo(HaveOccurred(), "proxy.DecodeBody")
			Expect(truncated).To(BeFalse())
			Expect(got).To(Equal(plain))
		},
		Entry("gzip", "gzip", gzipped),
		Entry("x-gzip, any case", "X-GZIP", gzipped),
		Entry("deflate as zlib", "deflate", zlibbed),
		Entry("deflate raw", "deflate", deflated),
		Entry("br", "br", brotlied),
		Entry("zstd", "zstd", zstded),
		Entry("identity", "identity", func(b []byte) []byte { return b }),
		Entry("a stack, undone in reverse", "gzip, br", func(b []byte) []byte { return brotlied(gzipped(b)) }),
	)

	It("stops a decompression bomb at the limit", func() {
		bomb := gzipped(make([]byte, 50<<20)) // 50 MiB of zeros, ~50 KiB compressed
		Expect(len(bomb)).To(BeNumerically("<", 1<<20))
		got, truncated, err := proxy.DecodeBody("gzip", bomb, 1<<20)
		Expect(err).NotTo(HaveOccurred(), "proxy.DecodeBody")
		Expect(truncated).To(BeTrue())
		Expect(got).To(HaveLen(1 << 20))
	})

	It("names an unknown coding", func() {
		_, _, err := proxy.DecodeBody("compress", []byte("x"), 10)
		Expect(err).To(MatchError(ContainSubstring(`unsupported content coding "compress"`)))
	})

	It("reports corrupt data", func() {
		_, _, err := proxy.DecodeBody("gzip", []byte("not gzip at all"), 10)
		Expect(err).To(MatchError(ContainSubstring("decode gzip")))
	})
})

var _ = Describe("recorded request bodies", func() {
	body := []byte(`{"title":"report","content":"{\"num_goals\":2}"}`)

	DescribeTable("are decoded per Content-Encoding",
		func(encoding string, encode func([]byte) []byte) {
			s := startProxy(proxy.Options{})
			wire := encode(body)
			req, err := http.NewRequest("POST", "https://spire.bugout.dev/humbug/reports", bytes.NewReader(wire))
			Expect(err).NotTo(HaveOccurred(), "http.NewRequest")
			req.Header.Set("Content-Encoding", encoding)
			resp, err := s.client().Do(req)
			Expect(err).NotTo(HaveOccurred(), "s.client")
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()

			exs := s.exchanges()
			Expect(exs).To(HaveLen(1))
			Expect(exs[0].Body.Raw).To(Equal(wire), "raw bytes as sent")
			Expect(exs[0].Body.Encoding).To(Equal(encoding))
			Expect(exs[0].Body.DecodeError).To(BeEmpty())
			Expect(exs[0].Body.Decoded).To(Equal(body))
			Expect(exs[0].Body.Bytes()).To(Equal(body))
		},
		Entry("gzip", "gzip", gzipped),
		Entry("br", "br", brotlied),
		Entry("zstd", "zstd", zstded),
	)

	It("stops a decompression bomb at MaxDecoded and says so", func() {
		s := startProxy(proxy.Options{MaxDecoded: 1 << 20})
		bomb := gzipped(make([]byte, 64<<20))
		req, err := http.NewRequest("POST", "https://spire.bugout.dev/humbug/reports", bytes.NewReader(bomb))
		Expect(err).NotTo(HaveOccurred(), "http.NewRequest")
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := s.client().Do(req)
		Expect(err).NotTo(HaveOccurred(), "s.client")
		resp.Body.Close()

		exs := s.exchanges()
		Expect(exs).To(HaveLen(1))
		b := exs[0].Body
		Expect(b.Truncated).To(BeTrue())
		Expect(b.Decoded).To(HaveLen(1 << 20))
		Expect(b.DecodeError).To(ContainSubstring("limit"))
		Expect(b.Raw).To(Equal(bomb), "the raw body is kept whole")
	})

	It("keeps MaxBody raw bytes of a longer body and counts all", func() {
		s := startProxy(proxy.Options{MaxBody: 10})
		resp, err := s.client().Post("https://spire.bugout.dev/x", "text/plain", bytes.NewReader([]byte("0123456789abcdef")))
		Expect(err).NotTo(HaveOccurred(), "s.client")
		resp.Body.Close()
		exs := s.exchanges()
		Expect(string(exs[0].Body.Raw)).To(Equal("0123456789"))
		Expect(exs[0].Body.Size).To(BeEquivalentTo(16))
		Expect(exs[0].Body.RawTruncated).To(BeTrue())
	})
})
