package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("recording", func() {
	var s *session

	BeforeEach(func() {
		s = startProxy(proxy.Options{})
	})

	When("a Go client POSTs over HTTPS", func() {
		It("records the request before answering it, byte for byte, with TLS facts and the sink answer", func() {
			body := []byte(`{"title":"pants","content":"{\"x\":1}","tags":["a:b"]}`)
			resp, err := s.client().Post("https://spire.bugout.dev/humbug/reports?v=1", "application/json", bytes.NewReader(body))
			Expect(err).NotTo(HaveOccurred(), "POST through the proxy")
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(string(got)).To(Equal(`{}`), "the default sink answer")
			Expect(s.p.Exchanges()).To(BeEquivalentTo(1), "recorded at request time")

			exs := s.exchanges()
			Expect(exs).To(HaveLen(1))
			ex := exs[0]
			Expect(ex.Seq).To(BeEquivalentTo(1))
			Expect(ex.Kind).To(Equal(capture.KindHTTP))
			Expect(ex.Method).To(Equal("POST"))
			Expect(ex.URL).To(Equal("https://spire.bugout.dev/humbug/reports?v=1"))
			Expect(ex.Host).To(Equal("spire.bugout.dev:443"), "the CONNECT target")
			Expect(ex.Body.Raw).To(Equal(body), "raw body byte-exact")
			Expect(ex.Body.Size).To(BeEquivalentTo(len(body)))
			Expect(ex.TLS).NotTo(BeNil())
			Expect(ex.TLS.SNI).To(Equal("spire.bugout.dev"))
			Expect(ex.TLS.ALPN).To(BeEmpty(), "a Transport with its own TLS config offers no ALPN")
			Expect(ex.TLS.Version).To(Equal("TLS 1.3"))
			Expect(ex.Conn).To(BeNumerically(">=", 1))
			Expect(ex.Mono).To(BeNumerically(">", 0))
			Expect(ex.Note).To(BeEmpty(), "wire order known")
			v, ok := ex.Header("Content-Type")
			Expect(ok).To(BeTrue())
			Expect(v).To(Equal("application/json"))
			Expect(ex.Response).NotTo(BeNil(), "the response record follows")
			Expect(ex.Response.Status).To(Equal(200))
			Expect(ex.Response.Body.Raw).To(Equal([]byte(`{}`)))
		})
	})

	When("a client sends headers in an unusual order with repeats inside a tunnel", func() {
		It("records them in wire order, spelt as sent", func() {
			c := s.tlsConnect("spire.bugout.dev", "h2", "http/1.1")
			Expect(c.ConnectionState().NegotiatedProtocol).To(Equal("http/1.1"), "h2 is never chosen when http/1.1 is offered")
			req := "POST /humbug/reports HTTP/1.1\r\n" +
				"Host: spire.bugout.dev\r\n" +
				"x-b: 2\r\n" +
				"X-A: 1\r\n" +
				"x-b: 3\r\n" +
				"content-length: 5\r\n" +
				"User-Agent:   spaced  \r\n" +
				"\r\nhello"
			_, err := io.WriteString(c, req)
			Expect(err).NotTo(HaveOccurred(), "io.WriteString")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			Expect(err).NotTo(HaveOccurred(), "http.ReadResponse")
			Expect(resp.StatusCode).To(Equal(200))
			c.Close()

			exs := s.exchanges()
			Expect(exs).To(HaveLen(1))
			Expect(exs[0].Headers).To(Equal([]capture.Header{
				{Name: "Host", Value: "spire.bugout.dev"},
				{Name: "x-b", Value: "2"},
				{Name: "X-A", Value: "1"},
				{Name: "x-b", Value: "3"},
				{Name: "content-length", Value: "5"},
				{Name: "User-Agent", Value: "spaced"},
			}))
			Expect(string(exs[0].Body.Raw)).To(Equal("hello"))
		})
	})

	When("a plain HTTP request goes through the proxy", func() {
		It("records it with headers in wire order and answers from the sink", func() {
			c, err := net.Dial("tcp", s.p.Addr())
			Expect(err).NotTo(HaveOccurred(), "net.Dial")
			defer c.Close()
			br := bufio.NewReader(c)
			for i := range 2 {
				_, err = fmt.Fprintf(c, "POST http://telemetry.example/v%d HTTP/1.1\r\nHost: telemetry.example\r\nX-Z: z\r\nContent-Length: 2\r\nx-a: a\r\n\r\nhi", i)
				Expect(err).NotTo(HaveOccurred(), "fmt.Fprintf")
				resp, err := http.ReadResponse(br, nil)
				Expect(err).NotTo(HaveOccurred(), "http.ReadResponse")
				b, _ := io.ReadAll(resp.Body)
				Expect(string(b)).To(Equal(`{}`))
			}
			c.Close()

			exs := s.exchanges()
			Expect(exs).To(HaveLen(2), "both keep-alive requests")
			for i, ex := range exs {
				Expect(ex.URL).To(Equal(fmt.Sprintf("http://telemetry.example/v%d", i)))
				Expect(ex.TLS).To(BeNil())
				Expect(ex.Note).To(BeEmpty())
				Expect(ex.Headers).To(Equal([]capture.Header{
					{Name: "Host", Value: "telemetry.example"},
					{Name: "X-Z", Value: "z"},
					{Name: "Content-Length", Value: "2"},
					{Name: "x-a", Value: "a"},
				}))
				Expect(string(ex.Body.Raw)).To(Equal("hi"))
				Expect(ex.Response.Status).To(Equal(200))
			}
			Expect(exs[0].Conn).To(Equal(exs[1].Conn), "same client connection")
		})
	})

	When("the client connects to an IP literal", func() {
		It("presents a leaf with that IP as SAN, short-lived, ECDSA", func() {
			c := s.tlsConnect("127.0.0.9")
			leaf := c.ConnectionState().PeerCertificates[0]
			Expect(leaf.IPAddresses).To(HaveLen(1))
			Expect(leaf.IPAddresses[0].String()).To(Equal("127.0.0.9"))
			Expect(leaf.NotAfter.Sub(leaf.NotBefore).Hours()).To(BeNumerically("<=", 24*7), "valid days, not a year")
			Expect(leaf.PublicKeyAlgorithm.String()).To(Equal("ECDSA"))
			Expect(c.ConnectionState().Version).To(BeEquivalentTo(tls.VersionTLS13))
		})
	})
})

var _ = Describe("the session CA", func() {
	It("is private while the proxy runs, keeps its key off the disk, and is gone after Close", func() {
		s := startProxy(proxy.Options{})
		dir := filepath.Dir(s.p.CACertFile())
		st, err := os.Stat(dir)
		Expect(err).NotTo(HaveOccurred(), "os.Stat")
		Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o700)), "CA folder mode")
		// The private key lives in memory only: a harness killed before
		// Close leaves nothing secret in the folder.
		Expect(filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			Expect(string(b)).NotTo(ContainSubstring("PRIVATE KEY"), "%s holds a private key", path)
			return nil
		})).To(Succeed())

		bundle, err := os.ReadFile(s.p.BundleFile())
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		ca, err := os.ReadFile(s.p.CACertFile())
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(bytes.HasSuffix(bundle, ca)).To(BeTrue(), "the bundle ends with the session CA")
		Expect(strings.Count(string(bundle), "BEGIN CERTIFICATE")).To(BeNumerically(">", 1), "system roots come first")
		Expect(string(ca)).NotTo(ContainSubstring("PRIVATE"))

		entries, err := os.ReadDir(s.p.CertDir())
		Expect(err).NotTo(HaveOccurred(), "os.ReadDir")
		Expect(entries).To(HaveLen(2))

		Expect(s.p.Close()).To(Succeed())
		_, err = os.Stat(dir)
		Expect(os.IsNotExist(err)).To(BeTrue(), "CA folder removed, got %v", err)
	})

	It("listens on a loopback address by default", func() {
		s := startProxy(proxy.Options{})
		host, _, err := net.SplitHostPort(s.p.Addr())
		Expect(err).NotTo(HaveOccurred(), "net.SplitHostPort")
		Expect(net.ParseIP(host).IsLoopback()).To(BeTrue(), "listener address %s", s.p.Addr())
		Expect(s.p.URL()).To(Equal("http://" + s.p.Addr()))
	})

	It("requires a capture writer", func() {
		_, err := proxy.New(proxy.Options{})
		Expect(err).To(MatchError(ContainSubstring("Capture is required")))
	})
})
