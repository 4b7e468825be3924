package proxy_test

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/telemetry-harness/telemetry-harness/proxy"
)

// FuzzDecodeBody feeds arbitrary bytes and Content-Encoding values to the
// decoder: no panic, no hang, and never more than the limit in memory.
// `go test` runs the seeds; `go test -fuzz FuzzDecodeBody ./proxy/` explores.
func FuzzDecodeBody(f *testing.F) {
	body := []byte(`{"title": "pants run", "content": "{}", "tags": ["source:pantsbuild/pants"]}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	var br bytes.Buffer
	bw := brotli.NewWriter(&br)
	bw.Write(body)
	bw.Close()
	enc, _ := zstd.NewWriter(nil)
	zs := enc.EncodeAll(body, nil)
	enc.Close()
	bomb := bytes.Repeat([]byte{0}, 1<<16)
	var gzBomb bytes.Buffer
	zw = gzip.NewWriter(&gzBomb)
	zw.Write(bomb)
	zw.Close()

	f.Add("gzip", gz.Bytes(), int64(1<<20))
	f.Add("br", br.Bytes(), int64(1<<20))
	f.Add("zstd", zs, int64(1<<20))
	f.Add("gzip, br", br.Bytes(), int64(1<<20))
	f.Add("deflate", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}, int64(16))
	f.Add("gzip", gzBomb.Bytes(), int64(1024))
	f.Add("x-unknown", body, int64(100))
	f.Add("identity", body, int64(10))
	f.Fuzz(func(t *testing.T, encoding string, raw []byte, limit int64) {
		if limit > 1<<20 {
			limit = 1 << 20 // keep each input cheap; the limit logic is what matters
		}
		out, truncated, _ := proxy.DecodeBody(encoding, raw, limit)
		if int64(len(out)) > max(limit, 0) {
			t.Fatalf("decoded %d bytes, over the %d-byte limit (encoding %q, truncated %v)", len(out), limit, encoding, truncated)
		}
	})
}
