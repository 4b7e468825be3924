package proxy_test

import (
	"bufio"
	"io"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("chunked request bodies inside a tunnel", func() {
	It("records chunk extensions and trailers in wire order, and the next request on the connection", func() {
		s := startProxy(proxy.Options{})
		c := s.tlsConnect("spire.bugout.dev")
		req := "POST /humbug/reports HTTP/1.1\r\nHost: spire.bugout.dev\r\nTransfer-Encoding: chunked\r\nTrailer: X-Late\r\n\r\n" +
			"5;user=alice\r\nhello\r\n" +
			"6 ;a=1;b=\"two\"\r\n world\r\n" +
			"0\r\nX-Late: bob\r\nX-Other: 7\r\n\r\n" +
			"GET /next HTTP/1.1\r\nHost: spire.bugout.dev\r\n\r\n"
		_, err := io.WriteString(c, req)
		Expect(err).NotTo(HaveOccurred(), "io.WriteString")
		br := bufio.NewReader(c)
		for range 2 {
			resp, err := http.ReadResponse(br, nil)
			Expect(err).NotTo(HaveOccurred(), "the proxy answers both requests: the framing was read exactly")
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		c.Close()

		Eventually(s.p.Exchanges).Should(BeEquivalentTo(2))
		exs := s.exchanges()
		Expect(exs[0].Kind).To(Equal(capture.KindHTTP))
		Expect(string(exs[0].Body.Raw)).To(Equal("hello world"))
		Expect(exs[0].ChunkExtensions).To(Equal([]string{"user=alice", "a=1;b=\"two\""}))
		Expect(exs[0].Trailers).To(Equal([]capture.Header{{Name: "X-Late", Value: "bob"}, {Name: "X-Other", Value: "7"}}))
		Expect(exs[0].Note).To(BeEmpty(), "the head agrees with what net/http parsed: wire order kept")
		Expect(exs[0].Headers).To(ContainElement(capture.Header{Name: "Transfer-Encoding", Value: "chunked"}))
		Expect(exs[1].URL).To(HaveSuffix("/next"))
		Expect(exs[1].ChunkExtensions).To(BeEmpty())
	})

	It("records a malformed chunk size as an incomplete body, not a silent pass", func() {
		s := startProxy(proxy.Options{})
		c := s.tlsConnect("spire.bugout.dev")
		_, err := io.WriteString(c, "POST /humbug/reports HTTP/1.1\r\nHost: spire.bugout.dev\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
		Expect(err).NotTo(HaveOccurred(), "io.WriteString")
		Eventually(s.p.Exchanges).Should(BeEquivalentTo(1))
		c.Close()
		Expect(s.exchanges()[0].Note).To(ContainSubstring(`body incomplete: chunked body: bad chunk size "zz"`))
	})
})
