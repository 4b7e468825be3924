package payloaddiff_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/payloaddiff"
)

// BenchmarkDirs diffs two folders of 1,000 Next.js-like requests (40
// events each, ~3 KiB) with 13 canaries: what a matrix does per pair.
func BenchmarkDirs(b *testing.B) {
	tmp := b.TempDir()
	var cs []canary.Canary
	for i := range 13 {
		cs = append(cs, canary.Generate(fmt.Sprintf("role%d", i)))
	}
	body := func(n int) string {
		var ev []string
		for i := range 40 {
			ev = append(ev, fmt.Sprintf(`{"eventName":"NEXT_PACKAGE_DETECTED","payload":{"packageName":"pkg-%d","packageVersion":"^%d.%d.0"}}`, i, n%7, i))
		}
		return `{"context":{"anonymousId":"` + strings.Repeat("a", 64) + `"},"meta":{"nextVersion":"16.4.6"},"events":[` + strings.Join(ev, ",") + `]}`
	}
	for _, side := range []string{"a", "b"} {
		dir := filepath.Join(tmp, side, "default")
		w, err := capture.Create(filepath.Join(mkdir(b, dir), capture.JSONLName))
		if err != nil {
			b.Fatal(err)
		}
		for i := range 1000 {
			bd := body(i)
			if err := w.Exchange(&capture.Exchange{Seq: int64(i + 1), Kind: capture.KindHTTP, Host: "telemetry.nextjs.org:443", Method: "POST",
				URL: "https://telemetry.nextjs.org/api/v1/record", Body: capture.Body{Raw: []byte(bd), Size: int64(len(bd))}}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if err := canary.WriteFile(filepath.Join(dir, "canaries.json"), cs); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := payloaddiff.Dirs(filepath.Join(tmp, "a"), filepath.Join(tmp, "b")); err != nil {
			b.Fatal(err)
		}
	}
}

func mkdir(b *testing.B, dir string) string {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}
