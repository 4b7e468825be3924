package main_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

// sink is a started plainsink: its address, bundle and request log.
type sink struct {
	session *gexec.Session
	addr    string
	bundle  string
	log     string
}

func start(args ...string) *sink {
	log := filepath.Join(GinkgoT().TempDir(), "sink.log")
	cmd := exec.Command(binary, append([]string{"-log", log, "-roots", ""}, args...)...)
	s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred(), "gexec.Start")
	DeferCleanup(func() { s.Terminate().Wait(5 * time.Second) })
	Eventually(s.Out, 5*time.Second).Should(gbytes.Say(`(\S+) (\S+)\n`))
	w := strings.Fields(string(s.Out.Contents()))
	Expect(w).To(HaveLen(2))
	return &sink{session: s, addr: w[0], bundle: w[1], log: log}
}

// client trusts only the sink's bundle and goes through it as its proxy.
func (s *sink) client(timeout time.Duration) *http.Client {
	pem, err := os.ReadFile(s.bundle)
	Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
	pool := x509.NewCertPool()
	Expect(pool.AppendCertsFromPEM(pem)).To(BeTrue())
	proxy := &url.URL{Scheme: "http", Host: s.addr}
	tr := &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: pool}}
	DeferCleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

func (s *sink) logText() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return ""
	}
	return string(b)
}

func post(c *http.Client, u string) (int, string, bool, error) {
	reused := false
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(`{"k":1}`))
	Expect(err).NotTo(HaveOccurred(), "http.NewRequestWithContext")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", reused, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), reused, err
}

var _ = Describe("plainsink", func() {
	It("answers each host as told, over TLS its bundle vouches for, keeping the connection alive", func() {
		s := start("-answer", "spire.bugout.dev=500")
		c := s.client(5 * time.Second)

		status, body, _, err := post(c, "https://spire.bugout.dev/humbug/reports")
		Expect(err).NotTo(HaveOccurred(), "post")
		Expect(status).To(Equal(500))
		Expect(body).To(Equal("{}"))
		status, _, reused, err := post(c, "https://spire.bugout.dev/humbug/reports")
		Expect(err).NotTo(HaveOccurred(), "post")
		Expect(status).To(Equal(500))
		Expect(reused).To(BeTrue(), "second request on the kept-alive connection")

		status, body, _, err = post(c, "https://other.example/x")
		Expect(err).NotTo(HaveOccurred(), "post")
		Expect(status).To(Equal(200))
		Expect(body).To(Equal("{}"))

		Eventually(s.logText).Should(And(
			MatchRegexp(`(?m)^answered spire.bugout.dev POST /humbug/reports 500 `),
			MatchRegexp(`(?m)^answered other.example POST /x 200 `)))
		Expect(strings.Count(s.logText(), "answered ")).To(Equal(3))
	})

	It("refuses a host's CONNECT with 502 and no tunnel", func() {
		s := start("-answer", "spire.bugout.dev=refuse")
		_, _, _, err := post(s.client(5*time.Second), "https://spire.bugout.dev/humbug/reports")
		Expect(err).To(MatchError(ContainSubstring("Bad Gateway")))
		Eventually(s.logText).Should(MatchRegexp(`(?m)^refused spire.bugout.dev:443 CONNECT spire.bugout.dev:443 502 `))
	})

	It("holds a delayed answer back, and lets go when the client gives up", func() {
		s := start("-answer", "slow.example=201,delay=200ms", "-answer", "never.example=delay=1h")
		c := s.client(5 * time.Second)
		t0 := time.Now()
		status, _, _, err := post(c, "https://slow.example/")
		Expect(err).NotTo(HaveOccurred(), "post")
		Expect(status).To(Equal(201))
		Expect(time.Since(t0)).To(BeNumerically(">=", 200*time.Millisecond))

		_, _, _, err = post(s.client(300*time.Millisecond), "https://never.example/")
		Expect(err).To(HaveOccurred())
		// Only the client's disconnect can end an hour's delay this soon.
		Eventually(s.logText, 5*time.Second).Should(MatchRegexp(`(?m)^gone never.example POST / 0 `))
	})

	It("rejects a malformed -answer with a message naming it", func() {
		s, err := gexec.Start(exec.Command(binary, "-answer", "spire.bugout.dev=fast"), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred(), "gexec.Start")
		Eventually(s, 5*time.Second).Should(gexec.Exit(2))
		Expect(string(s.Err.Contents())).To(ContainSubstring(`"fast": want a status (100-999), delay=D or refuse`))
	})

	It("removes its CA folder when stopped, even with a delayed answer pending", func() {
		s := start("-answer", "never.example=delay=1h")
		c := s.client(time.Hour)
		wrote, errc := make(chan struct{}), make(chan error, 1)
		go func() {
			defer GinkgoRecover()
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) },
			})
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://never.example/", strings.NewReader("{}"))
			Expect(err).NotTo(HaveOccurred(), "http.NewRequestWithContext")
			_, err = c.Do(req)
			errc <- err
		}()
		Eventually(wrote, 5*time.Second).Should(BeClosed())
		s.session.Signal(syscall.SIGTERM)
		Eventually(s.session, 5*time.Second).Should(gexec.Exit(0))
		Expect(filepath.Dir(s.bundle)).NotTo(BeADirectory())
		Eventually(errc, 5*time.Second).Should(Receive(HaveOccurred()))
	})
})
