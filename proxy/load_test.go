package proxy_test

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("under concurrent load", func() {
	It("records 500 requests over 20 connections, none lost, sequence complete", func() {
		s := startProxy(proxy.Options{})
		u, err := url.Parse(s.p.URL())
		Expect(err).NotTo(HaveOccurred(), "url.Parse")
		pool := s.caPool()
		const workers, each = 20, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer GinkgoRecover()
				// One transport per worker: one keep-alive connection each.
				tr := &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: pool}, MaxConnsPerHost: 1}
				defer tr.CloseIdleConnections()
				c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
				for i := range each {
					body := fmt.Sprintf(`{"worker":%d,"i":%d}`, w, i)
					resp, err := c.Post("https://spire.bugout.dev/humbug/reports", "application/json", strings.NewReader(body))
					if err != nil {
						errs <- err
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		close(errs)
		Expect(errs).To(BeEmpty(), "every request answered")

		exs := s.exchanges()
		Expect(exs).To(HaveLen(workers * each))
		seen := map[string]bool{}
		conns := map[int64]bool{}
		for i, ex := range exs {
			Expect(ex.Seq).To(BeEquivalentTo(i+1), "sequence numbers 1..500 without gaps")
			Expect(ex.Response).NotTo(BeNil(), "response of #%d recorded", ex.Seq)
			Expect(ex.Kind).To(Equal(capture.KindHTTP))
			seen[string(ex.Body.Raw)] = true
			conns[ex.Conn] = true
		}
		Expect(seen).To(HaveLen(workers*each), "every body recorded once")
		counts := map[int64]int{}
		for _, ex := range exs {
			counts[ex.Conn]++
		}
		// One keep-alive connection per worker; a client may reconnect now
		// and then under heavy load (seen once under -race), which loses
		// nothing.
		Expect(len(conns)).To(BeNumerically(">=", workers), "20 client connections; requests per connection id: %v", counts)
	})
})

var _ = Describe("connection tracking and Close", func() {
	It("counts open client connections, tunnels included, and announces changes", func() {
		s := startProxy(proxy.Options{})
		n, changed := s.p.OpenConns()
		Expect(n).To(BeZero())
		c := s.tlsConnect("spire.bugout.dev")
		Eventually(changed).Should(BeClosed())
		n, changed = s.p.OpenConns()
		Expect(n).To(Equal(1))
		c.Close()
		Eventually(changed).Should(BeClosed(), "closing the tunnel is announced")
		n, _ = s.p.OpenConns()
		Expect(n).To(BeZero())
	})

	It("leaves no goroutine behind", func() {
		before := gleak.Goroutines()
		s := startProxy(proxy.Options{Answers: map[string]proxy.Answer{"slow.example": {Delay: time.Hour}}})
		client := s.client()
		resp, err := client.Post("https://spire.bugout.dev/x", "application/json", bytes.NewReader([]byte("{}")))
		Expect(err).NotTo(HaveOccurred(), "client.Post")
		resp.Body.Close()
		go func() {
			resp, err := client.Get("https://slow.example/")
			if err == nil {
				resp.Body.Close()
			}
		}()
		_ = s.connect("opaque.example:443") // left open: Close must end it
		Eventually(s.p.Exchanges).Should(BeEquivalentTo(2))
		Expect(s.p.Close()).To(Succeed())
		client.CloseIdleConnections()
		Eventually(gleak.Goroutines).ShouldNot(gleak.HaveLeaked(before))
	})
})

var _ = Describe("a Python urllib client", func() {
	It("honours HTTPS_PROXY and SSL_CERT_FILE and is recorded byte-exact", func() {
		py, err := exec.LookPath("python3")
		if err != nil {
			Skip("python3 not installed")
		}
		s := startProxy(proxy.Options{})
		body := []byte(`{"title":"py","content":"{\"user\":\"caf\u00e9\"}","tags":["a:b"]}`)
		// The script records what http.client puts on the wire (inside the
		// TLS tunnel), so the capture can be compared with it byte for byte.
		script := `
import base64, http.client, sys, urllib.request
sent = []
orig = http.client.HTTPConnection.send
def send(self, data):
    r = orig(self, data)  # may open the tunnel first, which sends the CONNECT
    sent.append(bytes(data))
    return r
http.client.HTTPConnection.send = send
body = sys.stdin.buffer.read()
req = urllib.request.Request("https://spire.bugout.dev/humbug/reports", data=body, method="POST",
    headers={"Content-Type": "application/json", "X-Canary": "c4n4ry"})
with urllib.request.urlopen(req, timeout=20) as r:
    print(r.status, r.read().decode())
i = next(i for i, d in enumerate(sent) if d.startswith(b"POST "))
print(base64.b64encode(b"".join(sent[i:])).decode())
`
		cmd := exec.Command(py, "-c", script)
		cmd.Stdin = bytes.NewReader(body)
		env := []string{}
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			switch strings.ToUpper(k) {
			case "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR":
				continue
			}
			env = append(env, kv)
		}
		cmd.Env = append(env, "HTTPS_PROXY="+s.p.URL(), "https_proxy="+s.p.URL(), "NO_PROXY=", "no_proxy=",
			"SSL_CERT_FILE="+s.p.BundleFile(), "SSL_CERT_DIR="+s.p.CertDir())
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "python: %s", out)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		Expect(lines).To(HaveLen(2), "python output: %s", out)
		Expect(lines[0]).To(Equal("200 {}"))
		wire, err := base64.StdEncoding.DecodeString(lines[1])
		Expect(err).NotTo(HaveOccurred(), "base64.StdEncoding.DecodeString")
		head, sentBody, ok := bytes.Cut(wire, []byte("\r\n\r\n"))
		Expect(ok).To(BeTrue())
		Expect(sentBody).To(Equal(body))

		exs := s.exchanges()
		Expect(exs).To(HaveLen(1))
		ex := exs[0]
		Expect(ex.Body.Raw).To(Equal(body), "body byte-exact")
		Expect(ex.URL).To(Equal("https://spire.bugout.dev/humbug/reports"))
		Expect(ex.Note).To(BeEmpty(), "wire order known")
		recorded := "POST /humbug/reports HTTP/1.1"
		for _, h := range ex.Headers {
			recorded += "\r\n" + h.Name + ": " + h.Value
		}
		Expect(recorded).To(Equal(string(head)), "headers byte-exact, in wire order")
		Expect(ex.Headers).To(ContainElement(capture.Header{Name: "X-Canary", Value: "c4n4ry"}))
		ua, _ := ex.Header("User-Agent")
		Expect(ua).To(HavePrefix("Python-urllib/3."))
		Expect(ex.TLS.SNI).To(Equal("spire.bugout.dev"))
	})

	It("finds the CA by its subject hash in CertDir, as OpenSSL does", func() {
		openssl, err := exec.LookPath("openssl")
		if err != nil {
			Skip("openssl not installed")
		}
		s := startProxy(proxy.Options{})
		out, err := exec.Command(openssl, "x509", "-subject_hash", "-noout", "-in", s.p.CACertFile()).Output()
		Expect(err).NotTo(HaveOccurred(), "exec.Command")
		_, err = os.Stat(filepath.Join(s.p.CertDir(), strings.TrimSpace(string(out))+".0"))
		Expect(err).NotTo(HaveOccurred(), "CertDir holds <subject_hash>.0")
	})
})
