package proxy_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// otherCA is a CA the proxy knows nothing about.
func otherCA() *x509.CertPool {
	GinkgoHelper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred(), "ecdsa.GenerateKey")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pinned"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred(), "x509.CreateCertificate")
	cert, err := x509.ParseCertificate(der)
	Expect(err).NotTo(HaveOccurred(), "x509.ParseCertificate")
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

var _ = Describe("tunnels that carry no readable HTTP", func() {
	var s *session

	BeforeEach(func() {
		s = startProxy(proxy.Options{})
	})

	When("the client trusts only its own CA", func() {
		It("records the tunnel as rejected, with the host and the TLS error", func() {
			raw := s.connect("spire.bugout.dev:443")
			c := tls.Client(raw, &tls.Config{RootCAs: otherCA(), ServerName: "spire.bugout.dev"})
			Expect(c.Handshake()).To(MatchError(ContainSubstring("unknown authority")))
			raw.Close()

			Eventually(s.p.Exchanges).Should(BeEquivalentTo(1), "recorded at once, not at Close")
			exs := s.exchanges()
			Expect(exs).To(HaveLen(1))
			Expect(exs[0].Kind).To(Equal(capture.KindTunnelRejected))
			Expect(exs[0].Host).To(Equal("spire.bugout.dev:443"))
			Expect(exs[0].TLS.SNI).To(Equal("spire.bugout.dev"))
			Expect(exs[0].Note).To(ContainSubstring("bad certificate"), "the client's TLS alert")
			Expect(exs[0].BytesFromClient).To(BeNumerically(">", 0))
		})
	})

	When("the client speaks HTTP/2 with prior knowledge inside TLS", func() {
		It("records an opaque tunnel with byte counts and the bytes", func() {
			c := s.tlsConnect("spire.bugout.dev", "h2")
			Expect(c.ConnectionState().NegotiatedProtocol).To(Equal("h2"), "the handshake succeeds so the bytes are seen")
			preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
			_, err := io.WriteString(c, preface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
			Expect(err).NotTo(HaveOccurred(), "io.WriteString")
			Expect(c.CloseWrite()).To(Succeed())

			Eventually(s.p.Exchanges).Should(BeEquivalentTo(1))
			exs := s.exchanges()
			Expect(exs[0].Kind).To(Equal(capture.KindOpaqueTunnel))
			Expect(exs[0].Note).To(ContainSubstring("HTTP/2 connection preface"))
			Expect(exs[0].Body.Size).To(BeEquivalentTo(len(preface) + 9))
			Expect(string(exs[0].Body.Raw)).To(HavePrefix(preface))
			Expect(exs[0].TLS.ALPN).To(Equal("h2"))
			Expect(exs[0].BytesFromClient).To(BeNumerically(">", exs[0].Body.Size), "wire bytes include TLS")
			Expect(exs[0].BytesToClient).To(BeNumerically(">", 0))
		})
	})

	When("the client sends random bytes in a plain tunnel", func() {
		It("records an opaque tunnel", func() {
			c := s.connect("db.internal:5432")
			junk := []byte{0x00, 0x01, 0xfe, 'x', '\n', 0x7f}
			_, err := c.Write(junk)
			Expect(err).NotTo(HaveOccurred(), "c.Write")
			c.Close()

			Eventually(s.p.Exchanges).Should(BeEquivalentTo(1))
			exs := s.exchanges()
			Expect(exs[0].Kind).To(Equal(capture.KindOpaqueTunnel))
			Expect(exs[0].Host).To(Equal("db.internal:5432"))
			Expect(exs[0].Body.Raw).To(Equal(junk))
			Expect(exs[0].BytesFromClient).To(BeEquivalentTo(len(junk)))
			Expect(exs[0].TLS).To(BeNil())
		})
	})

	When("the client upgrades to a WebSocket", func() {
		It("records the upgrade as a WebSocket exchange and accepts it", func() {
			c := s.tlsConnect("events.example")
			key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
			_, err := fmt.Fprintf(c, "GET /stream HTTP/1.1\r\nHost: events.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", key)
			Expect(err).NotTo(HaveOccurred(), "fmt.Fprintf")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			Expect(err).NotTo(HaveOccurred(), "http.ReadResponse")
			Expect(resp.StatusCode).To(Equal(http.StatusSwitchingProtocols))
			sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			Expect(resp.Header.Get("Sec-WebSocket-Accept")).To(Equal(base64.StdEncoding.EncodeToString(sum[:])))
			c.Close()

			exs := s.exchanges()
			Expect(exs).To(HaveLen(1))
			Expect(exs[0].Kind).To(Equal(capture.KindWebSocket))
			Expect(exs[0].URL).To(Equal("https://events.example/stream"))
			Expect(exs[0].Response.Status).To(Equal(http.StatusSwitchingProtocols))
		})
	})
})

var _ = Describe("sink answers", func() {
	It("answers per host: status, body, content type", func() {
		s := startProxy(proxy.Options{Answers: map[string]proxy.Answer{
			"spire.bugout.dev": {Status: 503, Body: []byte("down"), ContentType: "text/plain"},
		}})
		resp, err := s.client().Post("https://spire.bugout.dev/humbug/reports", "application/json", nil)
		Expect(err).NotTo(HaveOccurred(), "s.client")
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(503))
		Expect(string(b)).To(Equal("down"))
		Expect(resp.Header.Get("Content-Type")).To(Equal("text/plain"))

		resp, err = s.client().Get("https://other.example/")
		Expect(err).NotTo(HaveOccurred(), "s.client")
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(200), "other hosts get the default")
	})

	It("delays the answer, and Close cuts the delay short", func() {
		s := startProxy(proxy.Options{Answers: map[string]proxy.Answer{"slow.example": {Delay: time.Hour}}})
		errc := make(chan error, 1)
		client := s.client()
		go func() {
			defer GinkgoRecover()
			resp, err := client.Post("https://slow.example/r", "application/json", nil)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		Eventually(s.p.Exchanges).Should(BeEquivalentTo(1), "recorded before the delayed answer")
		Consistently(errc, "200ms").ShouldNot(Receive(), "the answer is held back")
		start := time.Now()
		Expect(s.p.Close()).To(Succeed())
		Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second), "Close does not wait out the delay")
		Eventually(errc).Should(Receive(HaveOccurred()), "the client sees its connection closed")
	})

	It("stops holding a delayed answer when the client gives up, and records why", func() {
		s := startProxy(proxy.Options{Answers: map[string]proxy.Answer{"slow.example": {Delay: time.Hour}}})
		client := s.client()
		client.Timeout = 300 * time.Millisecond // a client with a short timeout, as telemetry clients have
		_, err := client.Post("https://slow.example/r", "application/json", nil)
		Expect(err).To(HaveOccurred(), "the client times out waiting")
		client.CloseIdleConnections()
		Eventually(func() int { n, _ := s.p.OpenConns(); return n }, "5s").Should(BeZero(),
			"the proxy lets go of the connection instead of holding it for the hour-long delay")
		Expect(s.p.Close()).To(Succeed())
		exs := s.exchanges()
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].Response).NotTo(BeNil(), "the unanswered request has a response record saying why")
		Expect(exs[0].Response.Error).To(ContainSubstring("closed during the answer delay"))
	})

	It("refuses a CONNECT with 502 and closes a refused plain request", func() {
		s := startProxy(proxy.Options{Answers: map[string]proxy.Answer{"spire.bugout.dev": {Refuse: true}}})
		_, err := s.client().Post("https://spire.bugout.dev/humbug/reports", "application/json", nil)
		Expect(err).To(MatchError(ContainSubstring("Bad Gateway")))
		_, err = s.client().Post("http://spire.bugout.dev/humbug/reports", "application/json", nil)
		Expect(err).To(HaveOccurred(), "connection closed")

		exs := s.exchanges()
		Expect(exs).To(HaveLen(2))
		Expect(exs[0].Method).To(Equal("CONNECT"))
		Expect(exs[0].URL).To(Equal("spire.bugout.dev:443"))
		Expect(exs[0].Response.Status).To(Equal(502))
		Expect(exs[1].URL).To(Equal("http://spire.bugout.dev/humbug/reports"))
		Expect(exs[1].Response.Error).To(ContainSubstring("refused"))
	})
})
