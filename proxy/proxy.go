package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// Defaults of Options and Answer.
const (
	DefaultListen      = "127.0.0.1:0"
	DefaultMaxBody     = 64 << 20
	DefaultMaxDecoded  = 64 << 20
	DefaultStatus      = http.StatusOK
	DefaultContentType = "application/json"
)

// DefaultBody is the body of the default answer.
var defaultBody = []byte(`{}`)

// Answer is what the proxy answers, in sink mode, to requests for a host.
type Answer struct {
	// Status is the HTTP status; zero means 200.
	Status int
	// Body is the response body; nil means `{}` (an empty, non-nil slice
	// answers an empty body).
	Body []byte
	// ContentType is the Content-Type; empty means application/json.
	ContentType string
	// Delay holds the answer back this long (a slow endpoint); Close cuts
	// it short, and the client then sees its connection closed.
	Delay time.Duration
	// Refuse turns the host away like a refused connection: a CONNECT gets
	// 502 and no tunnel, a plain request gets its connection closed. It
	// applies in forward mode too.
	Refuse bool
}

func (a Answer) withDefaults() Answer {
	if a.Status == 0 {
		a.Status = DefaultStatus
	}
	if a.Body == nil {
		a.Body = defaultBody
	}
	if a.ContentType == "" {
		a.ContentType = DefaultContentType
	}
	return a
}

// Options configure a Proxy. Every zero value has a documented default.
type Options struct {
	// Listen is the address to listen on; empty means 127.0.0.1:0 (a free
	// loopback port). A MITM proxy is bound to a non-loopback address only
	// when the caller asks for it here.
	Listen string
	// Listener, when set, is served instead of listening on Listen (e.g. a
	// listener made inside a sealed network namespace); Close closes it.
	Listener net.Listener
	// Forward passes requests on to the real hosts and records both sides.
	// False (the default) is sink mode: the proxy answers every request
	// itself and never contacts a real host.
	Forward bool
	// Capture receives every exchange as it is recorded. Required.
	Capture *capture.Writer
	// Answers gives sink-mode answers per host name (lower case, without
	// port); hosts not listed get Default.
	Answers map[string]Answer
	// Default is the answer for hosts not in Answers; its zero value
	// answers 200 `{}` application/json at once.
	Default Answer
	// MaxBody is how many raw body bytes are kept per request or response;
	// zero means 64 MiB. Longer bodies are still read and counted (Size)
	// and marked RawTruncated; in forward mode such a request is answered
	// 502 instead of being forwarded cut.
	MaxBody int64
	// MaxDecoded limits the decoded (Content-Encoding undone) bytes kept
	// per body; zero means 64 MiB. Decoding stops there (Truncated).
	MaxDecoded int64
	// TempDir is the parent of the private CA folder; empty means
	// os.TempDir().
	TempDir string
	// UpstreamTLS is the TLS configuration for connections to real hosts in
	// forward mode; nil means the system roots.
	UpstreamTLS *tls.Config
	// Logger receives the proxy's warnings (capture write failures, goproxy
	// warnings); nil discards them.
	Logger *log.Logger
	// KeyLog, when set, receives the TLS secrets of every connection the
	// proxy terminates (the MITM side of CONNECT tunnels and the
	// transparent :443 listener) in the NSS key log format, the
	// SSLKEYLOGFILE that Wireshark and tshark read to decrypt a packet
	// capture. Lines are written whole, one at a time. Not the upstream
	// connections of forward mode.
	KeyLog io.Writer
}

// Proxy is a running recording MITM proxy. Create it with New, stop it
// with Close.
type Proxy struct {
	opts    Options
	ca      *authority
	store   *certStore
	gp      *goproxy.ProxyHttpServer
	srv     *http.Server
	ln      net.Listener
	tracker *connTracker
	tr      *http.Transport
	// upTLS and upPool serve forward mode inside tunnels (upstream.go).
	upTLS  *tls.Config
	upPool upPool
	log    *log.Logger
	bufs   bufPools
	// keyLog is Options.KeyLog behind a lock; nil when not set.
	keyLog io.Writer

	start time.Time
	seq   atomic.Int64

	// done is closed by Close: delays end, loops stop.
	done chan struct{}

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

type connKey struct{}

// New creates a fresh CA, starts listening and serves until Close.
func New(opts Options) (*Proxy, error) {
	if opts.Capture == nil {
		return nil, errors.New("new proxy: Options.Capture is required (create one with capture.Create)")
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.MaxDecoded <= 0 {
		opts.MaxDecoded = DefaultMaxDecoded
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	lg := opts.Logger
	if lg == nil {
		lg = log.New(io.Discard, "", 0)
	}
	// Host names are matched lower case and without port.
	answers := make(map[string]Answer, len(opts.Answers))
	for h, a := range opts.Answers {
		answers[strings.ToLower(h)] = a
	}
	opts.Answers = answers

	ca, err := newAuthority(opts.TempDir)
	if err != nil {
		return nil, fmt.Errorf("new proxy: %w", err)
	}
	ln := opts.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", opts.Listen); err != nil {
			os.RemoveAll(ca.dir)
			return nil, fmt.Errorf("new proxy: listen on %s: %w", opts.Listen, err)
		}
	}

	p := &Proxy{
		opts:    opts,
		ca:      ca,
		store:   newCertStore(),
		tracker: newConnTracker(),
		log:     lg,
		start:   time.Now(),
		done:    make(chan struct{}),
	}
	if opts.KeyLog != nil {
		p.keyLog = &lineWriter{w: opts.KeyLog}
	}
	p.ln = &trackingListener{Listener: ln, tracker: p.tracker}
	p.tr = upstreamTransport(opts.UpstreamTLS)
	p.upTLS = p.tr.TLSClientConfig.Clone()
	p.gp = p.newGoproxy()
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serveHTTP),
		ErrorLog:          lg,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: time.Minute,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		// Serve returns ErrServerClosed after Close; nothing to report.
		_ = p.srv.Serve(p.ln)
	}()
	return p, nil
}

// upstreamTransport is the forward-mode transport. The settings avoid the
// traps measured in research/proxy-bench.md: it never follows the harness's
// own proxy variables, keeps enough idle connections per host, and leaves
// bodies encoded so that the recorded bytes are the wire bytes.
func upstreamTransport(tlsConf *tls.Config) *http.Transport {
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf.Clone(),
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

func (p *Proxy) newGoproxy() *goproxy.ProxyHttpServer {
	gp := goproxy.NewProxyHttpServer()
	gp.Logger = p.log
	gp.Tr = p.tr
	// NewProxyHttpServer makes CONNECT dials follow HTTPS_PROXY: never.
	gp.ConnectDial = nil
	gp.CertStore = p.store
	gp.KeepAcceptEncoding = true
	gp.NonproxyHandler = http.HandlerFunc(p.serveNonProxy)
	gp.OnRequest().HandleConnectFunc(p.onConnect)
	gp.OnRequest().DoFunc(p.onPlainRequest)
	gp.OnResponse().DoFunc(p.onPlainResponse)
	return gp
}

// serveHTTP counts handlers so that Close can wait for them, hijacked
// tunnels included (their handler runs until the tunnel ends).
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		http.Error(w, "proxy closing", http.StatusServiceUnavailable)
		return
	}
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	p.gp.ServeHTTP(w, r)
}

// Addr is the address the proxy listens on, e.g. "127.0.0.1:40123".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy URL for HTTP(S)_PROXY, e.g. "http://127.0.0.1:40123".
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// CACertFile is the PEM file of the session CA alone.
func (p *Proxy) CACertFile() string { return p.ca.certFile() }

// BundleFile is a PEM file with the system roots followed by the session
// CA, for variables that replace the whole trust store (REQUESTS_CA_BUNDLE,
// SSL_CERT_FILE, CURL_CA_BUNDLE, ...). Without a system bundle on this
// machine it holds the session CA only.
func (p *Proxy) BundleFile() string { return p.ca.bundleFile() }

// CertDir is a folder usable as SSL_CERT_DIR: it holds the session CA as
// <subject-hash>.0 (the name OpenSSL looks up) and as ca.pem. It holds only
// the session CA; the system roots come from BundleFile.
func (p *Proxy) CertDir() string { return p.ca.certDir() }

// OpenConns is the number of client connections open now (keep-alive
// connections and CONNECT tunnels alike) and a channel closed at the next
// change, so a caller can wait for "no connection open" without polling:
//
//	for {
//		n, changed := p.OpenConns()
//		if n == 0 { break }
//		<-changed
//	}
func (p *Proxy) OpenConns() (n int, changed <-chan struct{}) { return p.tracker.state() }

// Exchanges is the number of exchanges recorded so far (requests and
// tunnel records alike).
func (p *Proxy) Exchanges() int64 { return p.seq.Load() }

// Close stops listening, cuts answer delays short, closes every client
// connection, waits for every goroutine of the proxy, writes the queued
// response records of Options.Capture and removes the CA folder. It does
// not close Options.Capture: records written while closing still need it.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.done)
		var errs []error
		if err := p.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("close proxy listener: %w", err))
		}
		p.tracker.closeAll()
		p.wg.Wait()
		p.tr.CloseIdleConnections()
		p.upPool.closeAll()
		// Response records are queued (capture.Writer); when Close returns,
		// everything this proxy recorded is in the file.
		if err := p.opts.Capture.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("flush capture: %w", err))
		}
		if err := os.RemoveAll(p.ca.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove CA folder: %w", err))
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

func (p *Proxy) logf(format string, args ...any) { p.log.Printf("proxy: "+format, args...) }

// answerFor returns the sink answer for a host (port stripped).
func (p *Proxy) answerFor(host string) Answer {
	h := strings.ToLower(hostOnly(host))
	if a, ok := p.opts.Answers[h]; ok {
		return a.withDefaults()
	}
	return p.opts.Default.withDefaults()
}

// hostOnly strips a port and IPv6 brackets.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// wait holds an answer back for d; false means Close cut it short.
func (p *Proxy) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// lineWriter serialises the key log's writes: crypto/tls writes one whole
// line per call, from the goroutines of many connections at once.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
