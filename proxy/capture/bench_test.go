package capture_test

import (
	"bytes"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// BenchmarkWriter is the recorder's share of a sink-mode request: one
// exchange with a ~1 KiB body and its response, from 8 goroutines.
//
//	go test -run '^$' -bench Writer -benchmem ./proxy/capture/
func BenchmarkWriter(b *testing.B) {
	w, err := capture.Create(filepath.Join(b.TempDir(), capture.JSONLName))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	body := bytes.Repeat([]byte(`{"k":"v123456789"},`), 54)
	headers := []capture.Header{{Name: "Host", Value: "telemetry.example"}, {Name: "User-Agent", Value: "Go-http-client/1.1"},
		{Name: "Content-Length", Value: "1026"}, {Name: "Content-Type", Value: "application/json"}, {Name: "Accept-Encoding", Value: "gzip"}}
	b.SetParallelism(4) // 8 goroutines on 2 cores
	b.ReportAllocs()
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := seq.Add(1)
			ex := &capture.Exchange{Seq: s, Kind: capture.KindHTTP, Time: time.Now(), Conn: 1, Host: "telemetry.example:443",
				TLS: &capture.TLS{SNI: "telemetry.example", ALPN: "http/1.1", Version: "TLS 1.3"}, Method: "POST",
				URL: "https://telemetry.example/v1/telemetry", Proto: "HTTP/1.1", Headers: headers,
				Body: capture.Body{Raw: body, Size: int64(len(body))}}
			if err := w.Exchange(ex); err != nil {
				b.Fatal(err)
			}
			if err := w.Response(s, &capture.Response{Status: 200, Body: capture.Body{Raw: []byte(`{}`), Size: 2}, Time: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
