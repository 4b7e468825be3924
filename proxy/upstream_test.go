package proxy_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/telemetry-harness/telemetry-harness/proxy"
)

var _ = Describe("forward mode inside a tunnel (the tunnel's own upstream connection)", func() {
	var (
		s         *session
		origin    *httptest.Server
		conns     atomic.Int64 // TCP connections the origin accepted
		closeSeen atomic.Bool  // the origin saw Connection: close
		before    []gleak.Goroutine
	)

	BeforeEach(func() {
		conns.Store(0)
		closeSeen.Store(false)
		origin = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if r.Close {
				closeSeen.Store(true)
			}
			switch r.URL.Path {
			case "/chunked":
				for i := range 3 {
					fmt.Fprintf(w, "part%d;", i)
					w.(http.Flusher).Flush()
				}
			case "/empty":
				w.WriteHeader(http.StatusNoContent)
			default:
				w.Header().Set("X-Len", fmt.Sprint(len(b)))
				fmt.Fprintf(w, "echo:%s", b)
			}
		}))
		origin.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
		origin.StartTLS()
		DeferCleanup(origin.Close)
		pool := x509.NewCertPool()
		pool.AddCert(origin.Certificate())
		s = startProxy(proxy.Options{Forward: true, UpstreamTLS: &tls.Config{RootCAs: pool}})
		before = gleak.Goroutines()
	})

	// client goes through the proxy; keepAlive false sends Connection: close
	// and opens a new tunnel per request.
	client := func(keepAlive bool) *http.Client {
		u, err := url.Parse(s.p.URL())
		Expect(err).NotTo(HaveOccurred(), "url.Parse")
		tr := &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: s.caPool()}, DisableKeepAlives: !keepAlive}
		DeferCleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	do := func(c *http.Client, method, path, body string) (*http.Response, string) {
		GinkgoHelper()
		req, err := http.NewRequest(method, origin.URL+path, bytes.NewReader([]byte(body)))
		Expect(err).NotTo(HaveOccurred(), "http.NewRequest")
		resp, err := c.Do(req)
		Expect(err).NotTo(HaveOccurred(), "c.Do")
		b, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred(), "io.ReadAll")
		resp.Body.Close()
		return resp, string(b)
	}

	It("keeps the upstream connection across the client's Connection: close tunnels, never passing it on", func() {
		c := client(false)
		for i := range 3 {
			resp, body := do(c, "POST", "/t", fmt.Sprint(i))
			Expect(resp.StatusCode).To(Equal(200))
			Expect(body).To(Equal(fmt.Sprintf("echo:%d", i)))
		}
		Expect(closeSeen.Load()).To(BeFalse(), "Connection: close stayed on the client side")
		Expect(conns.Load()).To(BeEquivalentTo(1), "one upstream connection served three client connections")
		exs := s.exchanges()
		Expect(exs).To(HaveLen(3))
		for _, ex := range exs {
			Expect(ex.Response.Status).To(Equal(200))
			Expect(ex.Response.Error).To(BeEmpty())
		}
		// The proxy closed its pooled upstream connection: the origin's
		// goroutine for it is gone too.
		Eventually(gleak.Goroutines).ShouldNot(gleak.HaveLeaked(before))
	})

	It("streams chunked bodies, answers HEAD and 204 without a body, and records them", func() {
		c := client(true)
		resp, body := do(c, "GET", "/chunked", "")
		Expect(resp.StatusCode).To(Equal(200))
		Expect(body).To(Equal("part0;part1;part2;"))
		resp, body = do(c, "HEAD", "/t", "")
		Expect(resp.StatusCode).To(Equal(200))
		Expect(body).To(BeEmpty())
		resp, body = do(c, "POST", "/empty", "x")
		Expect(resp.StatusCode).To(Equal(http.StatusNoContent))
		Expect(body).To(BeEmpty())
		resp, body = do(c, "POST", "/t", "after")
		Expect(body).To(Equal("echo:after"), "the connection is still in step after HEAD and 204")
		Expect(resp.Header.Get("X-Len")).To(Equal("5"))
		Expect(conns.Load()).To(BeEquivalentTo(1))

		exs := s.exchanges()
		Expect(exs).To(HaveLen(4))
		Expect(string(exs[0].Response.Body.Raw)).To(Equal("part0;part1;part2;"))
		Expect(exs[1].Method).To(Equal("HEAD"))
		Expect(exs[1].Response.Status).To(Equal(200))
		Expect(exs[2].Response.Status).To(Equal(http.StatusNoContent))
		Expect(string(exs[3].Response.Body.Raw)).To(Equal("echo:after"))
	})

	It("sends a POST on a fresh connection when the host closed the kept one", func() {
		c := client(true)
		_, body := do(c, "POST", "/t", "one")
		Expect(body).To(Equal("echo:one"))
		origin.CloseClientConnections()
		resp, body := do(c, "POST", "/t", "two")
		Expect(resp.StatusCode).To(Equal(200), "not a 502 for a connection the host had closed")
		Expect(body).To(Equal("echo:two"))
		Expect(conns.Load()).To(BeEquivalentTo(2))
		exs := s.exchanges()
		Expect(exs).To(HaveLen(2))
		Expect(exs[1].Response.Error).To(BeEmpty())
	})
})
