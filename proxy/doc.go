// Package proxy is the recording HTTPS proxy: a man in the middle, built on
// goproxy, that every request of the tool under test goes through, and that
// writes each one to a capture (see package capture) before answering it.
//
// # Starting and stopping
//
//	w, err := capture.Create(filepath.Join(dir, capture.JSONLName))
//	p, err := proxy.New(proxy.Options{Capture: w})
//	defer w.Close()
//	defer p.Close() // runs first: waits for every handler, removes the CA
//
// New creates a fresh ECDSA P-256 CA for this session only (never goproxy's
// built-in CA, whose key is public) in a private 0700 folder under
// Options.TempDir, with the key 0600. The tool under test gets:
//
//	HTTPS_PROXY, https_proxy, HTTP_PROXY, ... = p.URL()
//	SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, ... = p.BundleFile()
//	SSL_CERT_DIR = p.CertDir()
//	NODE_EXTRA_CA_CERTS = p.CACertFile() (Node adds it to its own roots)
//
// BundleFile holds the system roots followed by the session CA, because
// several of those variables replace the whole trust store. CertDir holds
// the session CA only, as <OpenSSL subject hash>.0 and ca.pem. Close removes
// the folder; p.Close does not close the capture writer.
//
// The listener binds 127.0.0.1:0 unless Options.Listen says otherwise.
// Go clients must be given the proxy explicitly (http.ProxyURL(p.URL())):
// http.ProxyFromEnvironment never proxies loopback hosts.
//
// # What is recorded
//
// Every CONNECT is taken over (goproxy ConnectHijack) and its tunnel served
// by this package: TLS with a leaf certificate for the SNI name (cached per
// host, ECDSA, valid three days, IP SANs for IP literals), then HTTP/1.x
// requests. Plain proxy requests (http://) go through goproxy's request and
// response handlers. Each request is written to the capture as soon as its
// body has been read, before it is answered, as a capture.Exchange: sequence
// number (from 1), wall and monotonic time, client connection id, TLS facts,
// method, full URL, headers in wire order with repeats and spelling, raw
// body (up to MaxBody, always counted) and the body decoded per
// Content-Encoding (DecodeBody, up to MaxDecoded). The response follows as a
// later record.
//
// Nothing is dropped silently:
//   - a client that aborts the TLS handshake (it rejects the harness CA:
//     pinning, its own trust store) gives a capture.KindTunnelRejected
//     record with the CONNECT host, the SNI and the TLS error in Note;
//   - a tunnel whose content is not HTTP/1.x (HTTP/2 with prior knowledge,
//     another protocol, random bytes) gives a capture.KindOpaqueTunnel
//     record once it ends (EOF, Close, or two seconds without a byte):
//     wire byte counts, the first bytes (up to MaxBody) in Body;
//   - a WebSocket upgrade is a capture.KindWebSocket exchange; in sink mode
//     the proxy accepts it (101) and reads the frames without recording
//     them;
//   - a CONNECT refused by Answer.Refuse is a KindHTTP exchange with method
//     CONNECT, the authority as URL and a 502 response.
//
// # Sink and forward
//
// By default (sink mode) the proxy answers every request itself and never
// dials anything: Options.Answers gives per-host status, body, content type
// and delay (a slow endpoint), or Refuse (a refused connection);
// Options.Default covers the other hosts (200 `{}`). With Options.Forward
// the requests go on to the real hosts (never through the harness's own
// proxy variables) and both sides are recorded. Inside a tunnel the tunnel's
// goroutine writes each request to, and reads each answer from, one upstream
// connection of its own (no net/http.Transport goroutines in between); a
// clean one goes to a small per-host pool when the tunnel ends. The client's
// "Connection: close" is never passed upstream.
//
// # Waiting for a tool to finish
//
// OpenConns returns the number of open client connections, tunnels
// included, and a channel closed at the next change, so a supervisor can
// wait for "no connection open" without polling. Exchanges counts records.
//
// # Limits
//
//   - Header wire order is exact inside tunnels (the proxy parses them) and
//     for plain requests recovered from the connection's raw bytes and
//     checked against what net/http parsed; when that check fails the
//     headers are listed Host first, then by name, and Note says so.
//     Response headers are listed by name.
//   - HTTP/2 inside a tunnel is not decoded (opaque); ALPN offers only
//     http/1.1 unless the client offers nothing else.
//   - The CONNECT request's own headers are not recorded (except for a
//     refused CONNECT).
package proxy
