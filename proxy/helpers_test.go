package proxy_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// session is a proxy with its capture file, closed at the end of the spec.
type session struct {
	p    *proxy.Proxy
	w    *capture.Writer
	path string
}

func startProxy(opts proxy.Options) *session {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	path := filepath.Join(dir, capture.JSONLName)
	w, err := capture.Create(path)
	Expect(err).NotTo(HaveOccurred(), "creating capture %s", path)
	opts.Capture = w
	if opts.TempDir == "" {
		opts.TempDir = dir
	}
	p, err := proxy.New(opts)
	Expect(err).NotTo(HaveOccurred(), "starting proxy")
	s := &session{p: p, w: w, path: path}
	DeferCleanup(func() {
		Expect(p.Close()).To(Succeed())
		Expect(w.Close()).To(Succeed())
	})
	return s
}

// exchanges closes the proxy (so every record is written) and loads the
// capture.
func (s *session) exchanges() []*capture.Exchange {
	GinkgoHelper()
	Expect(s.p.Close()).To(Succeed())
	exs, err := capture.Load(s.path)
	Expect(err).NotTo(HaveOccurred(), "loading capture %s", s.path)
	return exs
}

func (s *session) caPool() *x509.CertPool {
	GinkgoHelper()
	pem, err := os.ReadFile(s.p.CACertFile())
	Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
	pool := x509.NewCertPool()
	Expect(pool.AppendCertsFromPEM(pem)).To(BeTrue(), "the CA file holds a certificate")
	return pool
}

// client is a Go HTTP client that goes through the proxy (set explicitly:
// ProxyFromEnvironment skips loopback) and trusts the session CA.
func (s *session) client() *http.Client {
	GinkgoHelper()
	u, err := url.Parse(s.p.URL())
	Expect(err).NotTo(HaveOccurred(), "url.Parse")
	tr := &http.Transport{
		Proxy:           http.ProxyURL(u),
		TLSClientConfig: &tls.Config{RootCAs: s.caPool()},
	}
	DeferCleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// connect opens a CONNECT tunnel to target through the proxy and returns
// the raw connection after the 200.
func (s *session) connect(target string) net.Conn {
	GinkgoHelper()
	c, err := net.DialTimeout("tcp", s.p.Addr(), 5*time.Second)
	Expect(err).NotTo(HaveOccurred(), "net.DialTimeout")
	DeferCleanup(func() { _ = c.Close() })
	Expect(c.SetDeadline(time.Now().Add(20 * time.Second))).To(Succeed())
	_, err = fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	Expect(err).NotTo(HaveOccurred(), "fmt.Fprintf")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	Expect(err).NotTo(HaveOccurred(), "http.ReadResponse")
	Expect(resp.StatusCode).To(Equal(http.StatusOK), "CONNECT %s answered", target)
	Expect(br.Buffered()).To(BeZero(), "nothing after the CONNECT answer")
	return c
}

// tlsConnect opens a MITM'd TLS connection to host:443 through the proxy.
func (s *session) tlsConnect(host string, alpn ...string) *tls.Conn {
	GinkgoHelper()
	raw := s.connect(host + ":443")
	tc := tls.Client(raw, &tls.Config{RootCAs: s.caPool(), ServerName: host, NextProtos: alpn})
	Expect(tc.Handshake()).To(Succeed(), "TLS handshake through the proxy for %s", host)
	return tc
}
