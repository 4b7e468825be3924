package capture_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// writeBenchCapture records n exchanges shaped like the scale capture's
// (a 10 KiB JSON body, the proxy's headers, a small response) and returns
// the file's path and size.
func writeBenchCapture(b *testing.B, n int) (string, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), capture.JSONLName)
	w, err := capture.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte(`{"k":"0123456789abcdefghijklmnopqrstuvwxyz"},`), 10240/45+1)[:10240]
	headers := []capture.Header{{Name: "Host", Value: "telemetry.example"}, {Name: "User-Agent", Value: "Go-http-client/1.1"},
		{Name: "Content-Length", Value: "10240"}, {Name: "Content-Type", Value: "application/json"}, {Name: "Accept-Encoding", Value: "gzip"}}
	t0 := time.Now()
	for i := 1; i <= n; i++ {
		s := int64(i)
		ex := &capture.Exchange{Seq: s, Kind: capture.KindHTTP, Time: t0.Add(time.Duration(i) * time.Microsecond), Mono: int64(i) * 1000, Conn: s%8 + 1,
			Host: "telemetry.example:443", TLS: &capture.TLS{SNI: "telemetry.example", ALPN: "http/1.1", Version: "TLS 1.3"}, Method: "POST",
			URL: "https://telemetry.example/v1/telemetry", Proto: "HTTP/1.1", Headers: headers,
			Body: capture.Body{Raw: body, Size: int64(len(body))}}
		if err := w.Exchange(ex); err != nil {
			b.Fatal(err)
		}
		r := &capture.Response{Status: 200, Headers: []capture.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "Content-Length", Value: "2"}},
			Body: capture.Body{Raw: []byte(`{}`), Size: 2}, Time: t0.Add(time.Duration(i)*time.Microsecond + 500)}
		if err := w.Response(s, r); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, st.Size()
}

// BenchmarkScanFile reads back 2,000 exchanges of 10 KiB (29 MB of JSON
// Lines), what check and replay pay per exchange before judging: "file"
// is ScanFile (a regular file: decoded in parallel), "reader" is
// ScanJSONL over a plain io.Reader (decoded on the caller's goroutine).
//
//	go test -run '^$' -bench ScanFile -benchmem ./proxy/capture/
func BenchmarkScanFile(b *testing.B) {
	const n = 2000
	path, size := writeBenchCapture(b, n)
	count := func(b *testing.B, got int) {
		if got != n {
			b.Fatalf("read %d exchanges, want %d", got, n)
		}
	}
	b.Run("file", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			got := 0
			if err := capture.ScanFile(path, func(*capture.Exchange) error { got++; return nil }); err != nil {
				b.Fatal(err)
			}
			count(b, got)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "exchanges/s")
	})
	b.Run("reader", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			// Hiding the *os.File keeps the scan on one goroutine.
			err = capture.ScanJSONL(struct{ io.Reader }{f}, path, func(*capture.Exchange) error { got++; return nil })
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			count(b, got)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "exchanges/s")
	})
}

// BenchmarkVerify is the integrity check check, replay and run make before
// judging: one HMAC-SHA256 per line over the whole capture, against
// BenchmarkScanFile's capture (2,000 exchanges with 10 KiB bodies).
//
//	go test -run '^$' -bench 'Verify|ScanFile' -benchmem ./proxy/capture/
func BenchmarkVerify(b *testing.B) {
	path, size := writeBenchCapture(b, 2000)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := capture.Verify(path); err != nil {
			b.Fatal(err)
		}
	}
}
