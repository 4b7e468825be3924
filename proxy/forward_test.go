package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy"
)

var _ = Describe("forward mode", func() {
	var (
		s         *session
		origin    *httptest.Server
		plain     *httptest.Server
		seen      atomic.Value // last request body the origin got
		closeSeen atomic.Bool  // the origin saw Connection: close
	)

	BeforeEach(func() {
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			seen.Store(string(b))
			if r.Close {
				closeSeen.Store(true)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Origin", "yes")
			fmt.Fprintf(w, `{"echo":%q}`, b)
		})
		origin = httptest.NewTLSServer(handler)
		DeferCleanup(origin.Close)
		plain = httptest.NewServer(handler)
		DeferCleanup(plain.Close)
		pool := x509.NewCertPool()
		pool.AddCert(origin.Certificate())
		s = startProxy(proxy.Options{Forward: true, UpstreamTLS: &tls.Config{RootCAs: pool}})
	})

	It("passes an HTTPS request on and records both sides", func() {
		resp, err := s.client().Post(origin.URL+"/t?x=1", "application/json", bytes.NewReader([]byte(`{"a":1}`)))
		Expect(err).NotTo(HaveOccurred(), "s.client")
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.Header.Get("X-Origin")).To(Equal("yes"), "the real origin answered")
		Expect(seen.Load()).To(Equal(`{"a":1}`))

		exs := s.exchanges()
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].URL).To(Equal(origin.URL + "/t?x=1"))
		Expect(string(exs[0].Body.Raw)).To(Equal(`{"a":1}`))
		Expect(exs[0].Response.Status).To(Equal(200))
		Expect(exs[0].Response.Body.Raw).To(Equal(b), "response body recorded as the client got it")
		Expect(exs[0].Response.Headers).To(ContainElement(HaveField("Name", "X-Origin")))
	})

	It("passes a plain HTTP request on and records both sides, without Connection: close upstream", func() {
		req, err := http.NewRequest("POST", plain.URL+"/p", bytes.NewReader([]byte("hi")))
		Expect(err).NotTo(HaveOccurred(), "http.NewRequest")
		req.Close = true
		resp, err := s.client().Do(req)
		Expect(err).NotTo(HaveOccurred(), "s.client")
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(string(b)).To(Equal(`{"echo":"hi"}`))
		Expect(closeSeen.Load()).To(BeFalse(), "the upstream connection is kept")

		exs := s.exchanges()
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].URL).To(Equal(plain.URL + "/p"))
		Expect(exs[0].Response.Status).To(Equal(200))
		Expect(string(exs[0].Response.Body.Raw)).To(Equal(`{"echo":"hi"}`))
	})

	It("records an upstream failure as the response error", func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred(), "net.Listen")
		dead := l.Addr().String()
		l.Close()
		resp, err := s.client().Post("https://"+dead+"/x", "application/json", nil)
		Expect(err).NotTo(HaveOccurred(), "s.client")
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusBadGateway))
		exs := s.exchanges()
		Expect(exs[0].Response.Error).To(ContainSubstring("upstream"))
	})
})

// earlyConn sends the CONNECT together with the client's first TLS bytes in
// one write, as some clients do, and hides the proxy's 200 from the TLS
// client.
type earlyConn struct {
	net.Conn
	connect []byte
	br      *bufio.Reader
	gotOK   bool
}

func (c *earlyConn) Write(p []byte) (int, error) {
	if c.connect != nil {
		_, err := c.Conn.Write(append(c.connect, p...))
		c.connect = nil
		return len(p), err
	}
	return c.Conn.Write(p)
}

func (c *earlyConn) Read(p []byte) (int, error) {
	if !c.gotOK {
		resp, err := http.ReadResponse(c.br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("CONNECT answered %d", resp.StatusCode)
		}
		c.gotOK = true
	}
	return c.br.Read(p)
}

var _ = Describe("a client that sends its ClientHello with the CONNECT", func() {
	It("is served: the early bytes are not lost", func() {
		s := startProxy(proxy.Options{})
		raw, err := net.Dial("tcp", s.p.Addr())
		Expect(err).NotTo(HaveOccurred(), "net.Dial")
		defer raw.Close()
		Expect(raw.SetDeadline(time.Now().Add(20 * time.Second))).To(Succeed())
		ec := &earlyConn{Conn: raw, connect: []byte("CONNECT spire.bugout.dev:443 HTTP/1.1\r\nHost: spire.bugout.dev:443\r\n\r\n"), br: bufio.NewReader(raw)}
		c := tls.Client(ec, &tls.Config{RootCAs: s.caPool(), ServerName: "spire.bugout.dev"})
		Expect(c.Handshake()).To(Succeed())
		_, err = io.WriteString(c, "GET /early HTTP/1.1\r\nHost: spire.bugout.dev\r\n\r\n")
		Expect(err).NotTo(HaveOccurred(), "io.WriteString")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		Expect(err).NotTo(HaveOccurred(), "http.ReadResponse")
		Expect(resp.StatusCode).To(Equal(200))
		c.Close()
		exs := s.exchanges()
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].URL).To(Equal("https://spire.bugout.dev/early"))
	})
})
