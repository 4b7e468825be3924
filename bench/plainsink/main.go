// Command plainsink is the sink of the fair bare baseline in
// bench/run-overhead.sh: an HTTPS_PROXY on loopback that answers every
// request itself, per host, the way a scenario's sink does (status, delay,
// refuse), and does nothing else: no recording, no process tracking, no
// namespace. It terminates TLS with a leaf per host signed by a throwaway
// CA (ECDSA P-256) kept in a temporary folder that is removed at exit.
//
// It prints one line on stdout, "ADDR BUNDLE": the proxy's host:port and a
// PEM bundle (system roots, then its CA) to point the CA variables at. It
// logs one line per request it answered (see logLine) to -log (default
// stderr). SIGINT or SIGTERM stops it.
//
//	plainsink -answer spire.bugout.dev=200,delay=10s -log sink.log
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// systemRoots are tried in order for -roots' default, like the reference's
// own fallback list: the harness's bundle is system roots plus its CA, so a
// tool loads as many certificates here as under the harness.
var systemRoots = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}

// answer is how one host is answered.
type answer struct {
	status int
	delay  time.Duration
	refuse bool
}

// answers maps a lower-case host (no port) to its answer; the flag.Value of
// -answer.
type answers map[string]answer

func (a answers) String() string { return fmt.Sprint(map[string]answer(a)) }

// Set parses host=SPEC, SPEC being a comma list of a status (200), delay=D
// (a time.Duration) and refuse.
func (a answers) Set(s string) error {
	host, spec, ok := strings.Cut(s, "=")
	if !ok || host == "" {
		return fmt.Errorf("answer %q: want HOST=SPEC, e.g. spire.bugout.dev=200,delay=10s or HOST=refuse", s)
	}
	an, err := parseSpec(spec)
	if err != nil {
		return fmt.Errorf("answer %q: %w", s, err)
	}
	a[strings.ToLower(host)] = an
	return nil
}

func parseSpec(spec string) (answer, error) {
	an := answer{status: http.StatusOK}
	for _, w := range strings.Split(spec, ",") {
		switch {
		case w == "":
		case w == "refuse":
			an.refuse = true
		case strings.HasPrefix(w, "delay="):
			d, err := time.ParseDuration(strings.TrimPrefix(w, "delay="))
			if err != nil || d < 0 {
				return an, fmt.Errorf("delay %q: want a non-negative Go duration such as 10s", w)
			}
			an.delay = d
		default:
			n, err := strconv.Atoi(w)
			if err != nil || n < 100 || n > 999 {
				return an, fmt.Errorf("%q: want a status (100-999), delay=D or refuse", w)
			}
			an.status = n
		}
	}
	return an, nil
}

func main() {
	as := answers{}
	flag.Var(as, "answer", "HOST=SPEC, repeatable: SPEC is a comma list of a status (default 200), delay=D, refuse; other hosts get 200 {}")
	logPath := flag.String("log", "", "file to log one line per answered request to (default stderr)")
	roots := flag.String("roots", firstFile(systemRoots), "PEM file of roots put before the CA in the bundle; empty for the CA alone")
	flag.Parse()
	if err := run(as, *logPath, *roots); err != nil {
		fmt.Fprintln(os.Stderr, "plainsink:", err)
		os.Exit(1)
	}
}

func firstFile(paths []string) string {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

func run(as answers, logPath, roots string) error {
	logw := io.Writer(os.Stderr)
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open log: %w", err)
		}
		defer f.Close()
		logw = f
	}
	dir, err := os.MkdirTemp("", "plainsink-")
	if err != nil {
		return fmt.Errorf("make temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	ca, err := newCA()
	if err != nil {
		return err
	}
	bundle := filepath.Join(dir, "bundle.pem")
	if err := writeBundle(bundle, roots, ca.pem); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s := &sink{answers: as, ca: ca, log: logw, leaves: map[string]*tls.Certificate{}, conns: map[net.Conn]bool{}}
	fmt.Printf("%s %s\n", ln.Addr(), bundle)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		ln.Close()
		s.closeAll()
	}()
	s.serve(ln)
	return nil
}

// ca is the throwaway signing CA.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA() (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "plainsink throwaway CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

func writeBundle(path, roots string, caPEM []byte) error {
	var b bytes.Buffer
	if roots != "" {
		r, err := os.ReadFile(roots)
		if err != nil {
			return fmt.Errorf("read roots: %w", err)
		}
		b.Write(r)
		if len(r) > 0 && r[len(r)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	b.Write(caPEM)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}

// leaf signs a certificate for host (a DNS name or an IP).
func (c *ca) leaf(host string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make leaf key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("make serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("sign leaf for %s: %w", host, err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

type sink struct {
	answers answers
	ca      *ca
	mu      sync.Mutex
	log     io.Writer
	leaves  map[string]*tls.Certificate
	conns   map[net.Conn]bool
	closed  bool
}

func (s *sink) serve(ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		wg.Go(func() {
			defer func() {
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			s.handle(c)
		})
	}
}

// closeAll ends open connections at shutdown, which also cuts delays short.
func (s *sink) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
}

func (s *sink) answerFor(hostport string) answer {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	h = strings.ToLower(strings.Trim(h, "[]"))
	if a, ok := s.answers[h]; ok {
		return a
	}
	return answer{status: http.StatusOK}
}

func (s *sink) leafFor(host string) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leaves[host]; ok {
		return l, nil
	}
	l, err := s.ca.leaf(host)
	if err != nil {
		return nil, err
	}
	s.leaves[host] = l
	return l, nil
}

// logLine writes "KIND HOST METHOD TARGET STATUS ELAPSED": KIND is answered,
// refused (a CONNECT answered 502, or a plain request whose connection was
// closed) or gone (the client closed during the delay; nothing answered).
func (s *sink) logLine(kind, host, method, target string, status int, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.log, "%s %s %s %s %d %.3fs\n", kind, host, method, target, status, time.Since(start).Seconds())
}

// handle serves one client connection: CONNECT tunnels (TLS terminated
// here) or plain proxy requests, keep-alive in both.
func (s *sink) handle(c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		s.serveRequests(br, c, req)
		return
	}
	start := time.Now()
	host := req.Host
	a := s.answerFor(host)
	if a.refuse {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		s.logLine("refused", host, req.Method, host, http.StatusBadGateway, start)
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	leaf, err := s.leafFor(strings.Trim(name, "[]"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "plainsink:", err)
		return
	}
	// Bytes the client sent after the CONNECT head (none, usually) are
	// still in br: the TLS server reads through it.
	tc := tls.Server(&bufConn{Conn: c, r: br}, &tls.Config{Certificates: []tls.Certificate{*leaf}, NextProtos: []string{"http/1.1"}})
	if err := tc.Handshake(); err != nil {
		return
	}
	tbr := bufio.NewReader(tc)
	first, err := http.ReadRequest(tbr)
	if err != nil {
		return
	}
	s.serveRequests(tbr, tc, first)
}

type bufConn struct {
	net.Conn
	r io.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// serveRequests answers req and the requests after it on one connection
// until the client closes or asks to.
func (s *sink) serveRequests(br *bufio.Reader, c net.Conn, req *http.Request) {
	for {
		start := time.Now()
		host := req.Host
		if host == "" {
			host = req.URL.Host
		}
		target := req.URL.RequestURI()
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
		a := s.answerFor(host)
		if a.refuse {
			s.logLine("refused", host, req.Method, target, 0, start)
			return
		}
		if !s.delay(br, c, a.delay) {
			s.logLine("gone", host, req.Method, target, 0, start)
			return
		}
		if err := writeAnswer(c, a.status, req.Method, req.Close); err != nil {
			s.logLine("gone", host, req.Method, target, 0, start)
			return
		}
		s.logLine("answered", host, req.Method, target, a.status, start)
		if req.Close {
			return
		}
		var err error
		if req, err = http.ReadRequest(br); err != nil {
			return
		}
	}
}

// delay holds an answer back for d and reports whether to answer; it lets
// go as soon as the client closes its side (as the harness's proxy does),
// so a client that times out is not answered late.
func (s *sink) delay(br *bufio.Reader, c net.Conn, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		// Peek consumes nothing; only EOF or an error means the client left.
		if _, err := br.Peek(1); err != nil && !isTimeout(err) {
			cancel()
		}
	}()
	t := time.NewTimer(d)
	ok := false
	select {
	case <-t.C:
		ok = true
	case <-ctx.Done():
		t.Stop()
	}
	// Wake the watcher and wait for it, so that only one goroutine reads br.
	_ = c.SetReadDeadline(time.Now())
	<-watched
	_ = c.SetReadDeadline(time.Time{})
	return ok
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writeAnswer writes a `{}` JSON answer in one write, like the harness's
// sink.
func writeAnswer(w io.Writer, status int, method string, closeAfter bool) error {
	body := "{}"
	if method == http.MethodHead || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
		body = ""
	}
	text := http.StatusText(status)
	if text == "" {
		text = "Status"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nDate: %s\r\n",
		status, text, 2, time.Now().UTC().Format(http.TimeFormat))
	if closeAfter {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	_, err := w.Write(b.Bytes())
	return err
}
