package proxy_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("transparent listeners", func() {
	var (
		s              *session
		httpsL, plainL net.Listener
	)

	BeforeEach(func() {
		var err error
		httpsL, err = net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred(), "net.Listen")
		plainL, err = net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred(), "net.Listen")
		// The proxy serves a listener handed in, as in a namespace.
		own, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred(), "net.Listen")
		s = startProxy(proxy.Options{Listener: own})
		Expect(s.p.Addr()).To(Equal(own.Addr().String()), "the proxy serves the listener it was given")
		Expect(s.p.ServeTransparent(httpsL, plainL)).To(Succeed())
	})

	// dialTo is a client that ignores every proxy and dials addr whatever
	// the URL's host, as it would after the namespace's DNS answered.
	dialTo := func(addr string) *http.Client {
		d := &net.Dialer{Timeout: 5 * time.Second}
		tr := &http.Transport{
			Proxy:           nil,
			TLSClientConfig: &tls.Config{RootCAs: s.caPool()},
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", addr)
			},
		}
		DeferCleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 20 * time.Second}
	}

	post := func(c *http.Client, url, body string) {
		GinkgoHelper()
		resp, err := c.Post(url, "application/json", strings.NewReader(body))
		Expect(err).NotTo(HaveOccurred(), "POST %s", url)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK), "sink answer for %s", url)
	}

	It("records a direct HTTPS request under its SNI, with the proxy's CA, marked transparent", func() {
		post(dialTo(httpsL.Addr().String()), "https://spire.bugout.dev/humbug/reports", `{"title":"x"}`)
		exs := s.exchanges()
		Expect(exs).To(HaveLen(1))
		ex := exs[0]
		Expect(ex.Path).To(Equal(capture.PathTransparent))
		Expect(ex.Host).To(Equal("spire.bugout.dev:443"), "the target comes from the SNI, not the listener address")
		Expect(ex.URL).To(Equal("https://spire.bugout.dev/humbug/reports"))
		Expect(ex.TLS).NotTo(BeNil())
		Expect(ex.TLS.SNI).To(Equal("spire.bugout.dev"))
		Expect(string(ex.Body.Bytes())).To(Equal(`{"title":"x"}`))
		Expect(ex.Response).NotTo(BeNil())
		Expect(ex.Response.Status).To(Equal(http.StatusOK))
	})

	It("records a direct plain HTTP request under its Host header", func() {
		post(dialTo(plainL.Addr().String()), "http://telemetry.example.net/v1", `{}`)
		exs := s.exchanges()
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].Path).To(Equal(capture.PathTransparent))
		Expect(exs[0].Host).To(Equal("telemetry.example.net:80"))
		Expect(exs[0].URL).To(Equal("http://telemetry.example.net/v1"))
		Expect(exs[0].TLS).To(BeNil())
	})

	It("leaves requests through the proxy unmarked", func() {
		post(s.client(), "https://spire.bugout.dev/humbug/reports", `{}`)
		exs := s.exchanges()
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].Path).To(BeEmpty(), "zero Path means through the proxy")
	})

	It("counts transparent connections as open and closes them at Close", func() {
		c, err := net.Dial("tcp", plainL.Addr().String())
		Expect(err).NotTo(HaveOccurred(), "net.Dial")
		defer c.Close()
		Eventually(func() int { n, _ := s.p.OpenConns(); return n }).WithTimeout(5 * time.Second).Should(Equal(1))
		Expect(s.p.Close()).To(Succeed())
		Expect(c.SetReadDeadline(time.Now().Add(5 * time.Second))).To(Succeed())
		_, err = c.Read(make([]byte, 1))
		Expect(err).To(MatchError(io.EOF), "the proxy closed the connection")
		_, err = net.Dial("tcp", plainL.Addr().String())
		Expect(err).To(HaveOccurred(), "the transparent listener is closed")
	})
})
