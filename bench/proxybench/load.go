package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// startOrigin serves HTTPS (HTTP/1.1 only) on 127.0.0.1 with an ECDSA
// P-256 CA and leaf, like the proxy's own, so that direct and proxied
// handshakes cost the same kind of signature. Every request gets 200 and a
// ~40-byte JSON body.
func startOrigin(caFile string) (addr string, stop func(), err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "proxybench origin CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	answer := []byte(`{"status":"ok","id":"0123456789abcdef"}`)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
			_, _ = w.Write(answer)
		}),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}},
			NextProtos:   []string{"http/1.1"},
		},
		// An empty map turns HTTP/2 off: every leg speaks HTTP/1.1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     nil,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// event is a ~1 KiB JSON telemetry event.
func event() []byte {
	var b bytes.Buffer
	b.WriteString(`{"event":"run","goal":"test","version":"2.21.0","platform":"linux_x86_64","items":[`)
	for i := 0; b.Len() < 1000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"k%d":"v123456789"}`, i)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// loadResult is one measured load phase.
type loadResult struct {
	Requests int
	Failures int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

func (r loadResult) rate() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// loadOptions describe a load phase.
type loadOptions struct {
	url       string
	proxyURL  string // empty: direct
	caFile    string
	body      []byte
	workers   int
	keepAlive bool
	warm      int           // unmeasured requests first
	duration  time.Duration // measured phase length; 0 means count
	count     int           // measured requests when duration is 0
	// progress, if set, is called with the number of measured requests
	// done so far after each one (from the worker goroutines).
	progress func(done int64)
	// onStart, if set, is called when the measured phase starts.
	onStart func()
}

// runLoad sends POSTs from o.workers goroutines, each on its own transport
// (one persistent connection each with keep-alive; a new TCP+CONNECT+TLS
// per request without).
func runLoad(o loadOptions) (loadResult, error) {
	pool, err := poolFromFile(o.caFile)
	if err != nil {
		return loadResult{}, err
	}
	var proxy func(*http.Request) (*url.URL, error)
	if o.proxyURL != "" {
		u, err := url.Parse(o.proxyURL)
		if err != nil {
			return loadResult{}, err
		}
		proxy = http.ProxyURL(u)
	}
	clients := make([]*http.Client, o.workers)
	for i := range clients {
		tr := &http.Transport{
			Proxy:               proxy,
			TLSClientConfig:     &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}},
			DisableKeepAlives:   !o.keepAlive,
			MaxIdleConnsPerHost: 1,
		}
		defer tr.CloseIdleConnections()
		clients[i] = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	post := func(c *http.Client) error {
		resp, err := c.Post(o.url, "application/json", bytes.NewReader(o.body))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("answer %s", resp.Status)
		}
		return nil
	}
	// Warm-up: connections, the proxy's leaf, its upstream pool.
	var warmErr atomic.Value
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; j < max(o.warm, o.workers); j += o.workers {
				if err := post(c); err != nil {
					warmErr.Store(err)
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := warmErr.Load().(error); ok {
		return loadResult{}, fmt.Errorf("warm-up: %w", err)
	}

	ctx := context.Background()
	var cancel context.CancelFunc = func() {}
	if o.duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, o.duration)
	}
	defer cancel()
	var next, done, failed atomic.Int64
	lats := make([][]time.Duration, o.workers)
	if o.onStart != nil {
		o.onStart()
	}
	start := time.Now()
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if o.duration == 0 && next.Add(1) > int64(o.count) {
					return
				}
				t := time.Now()
				if err := post(c); err != nil {
					failed.Add(1)
				}
				lats[i] = append(lats[i], time.Since(t))
				n := done.Add(1)
				if o.progress != nil {
					o.progress(n)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := loadResult{Requests: len(all), Failures: int(failed.Load()), Elapsed: elapsed}
	if len(all) > 0 {
		r.P50 = all[len(all)/2]
		r.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return r, nil
}

// cleanEnv is the environment without proxy and CA variables (this
// machine sets some globally), plus extra.
func cleanEnv(extra []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY",
			"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE":
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func canDial(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
