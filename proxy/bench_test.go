package proxy_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// BenchmarkThroughput compares requests/s and latency of HTTPS POSTs (a
// ~1 KiB JSON telemetry event) sent directly to a local TLS origin, through
// the recording proxy forwarding to it, and through the proxy in sink mode;
// with keep-alive (8 concurrent connections) and with a new TCP+TLS
// connection per request (4 workers), as a CLI sending one report per
// process does. Run:
//
//	go test -bench . -run '^$' ./proxy/
func BenchmarkThroughput(b *testing.B) {
	origin := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok","id":"0123456789abcdef"}`)
	}))
	origin.StartTLS()
	defer origin.Close()
	originPool := x509.NewCertPool()
	originPool.AddCert(origin.Certificate())
	event := bytes.Repeat([]byte(`{"k":"v123456789"},`), 54)

	type mode struct {
		name      string
		keepAlive bool
		workers   int
	}
	for _, m := range []mode{{"keepalive-c8", true, 8}, {"newconn-c4", false, 4}} {
		for _, target := range []string{"direct", "forward", "sink"} {
			b.Run(m.name+"/"+target, func(b *testing.B) {
				tr := &http.Transport{
					TLSClientConfig:     &tls.Config{RootCAs: originPool},
					DisableKeepAlives:   !m.keepAlive,
					MaxIdleConnsPerHost: m.workers,
				}
				if target != "direct" {
					p, done := benchProxy(b, target == "forward", originPool)
					defer done()
					u, _ := url.Parse(p.URL())
					tr.Proxy = http.ProxyURL(u)
					tr.TLSClientConfig = &tls.Config{RootCAs: poolFrom(b, p.CACertFile())}
				}
				defer tr.CloseIdleConnections()
				client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
				post := func() error {
					resp, err := client.Post(origin.URL+"/v1/telemetry", "application/json", bytes.NewReader(event))
					if err != nil {
						return err
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					return resp.Body.Close()
				}
				// Warm up: the leaf certificate, upstream connections.
				for range m.workers {
					if err := post(); err != nil {
						b.Fatalf("warm-up request: %v", err)
					}
				}
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				var failed atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for range m.workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							t := time.Now()
							if err := post(); err != nil {
								failed.Add(1)
							}
							lat[i] = time.Since(t)
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				if n := failed.Load(); n > 0 {
					b.Fatalf("%d of %d requests failed", n, b.N)
				}
				slices.Sort(lat)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
				b.ReportMetric(ms(lat[len(lat)/2]), "p50_ms")
				b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99_ms")
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchProxy(b *testing.B, forward bool, upstream *x509.CertPool) (*proxy.Proxy, func()) {
	b.Helper()
	dir := b.TempDir()
	w, err := capture.Create(filepath.Join(dir, capture.JSONLName))
	if err != nil {
		b.Fatal(err)
	}
	p, err := proxy.New(proxy.Options{Capture: w, Forward: forward, TempDir: dir, UpstreamTLS: &tls.Config{RootCAs: upstream}})
	if err != nil {
		b.Fatal(err)
	}
	return p, func() {
		if err := p.Close(); err != nil {
			b.Error(err)
		}
		if err := w.Close(); err != nil {
			b.Error(err)
		}
	}
}

func poolFrom(b *testing.B, file string) *x509.CertPool {
	b.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		b.Fatalf("no certificate in %s", file)
	}
	return pool
}
