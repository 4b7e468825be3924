package capture_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// sameAsStdBase64 fails unless decodeBase64 either declines src or gives
// what base64.StdEncoding gives; it must not decline what the Writer
// writes (canonical, no line breaks).
func sameAsStdBase64(src []byte) string {
	got, ok := capture.DecodeBase64(src)
	want := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(want, src)
	switch {
	case ok && err != nil:
		return "accepted what encoding/base64 rejects: " + err.Error()
	case ok && !bytes.Equal(got, want[:n]):
		return "decoded other bytes"
	case !ok && err == nil && len(src) > 0 && !bytes.ContainsAny(src, "\r\n"):
		return "declined what encoding/base64 decodes"
	}
	return ""
}

var _ = Describe("decoding base64", func() {
	It("gives what encoding/base64 gives for every length and byte value", func() {
		raw := make([]byte, 0, 300)
		for i := range 300 {
			raw = append(raw, byte(i*7+i/3))
			Expect(sameAsStdBase64([]byte(base64.StdEncoding.EncodeToString(raw)))).To(BeEmpty(), "length %d", i+1)
		}
	})

	It("declines what the table does not know, wherever it is", func() {
		enc := []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("telemetry"), 10)))
		for i := range enc {
			for _, c := range []byte{'=', '\r', '\n', '"', '\\', 0, '-', '_', 0x80, 0xff, ' '} {
				bad := bytes.Clone(enc)
				bad[i] = c
				Expect(sameAsStdBase64(bad)).To(BeEmpty(), "byte %d = %q", i, c)
			}
		}
		for _, s := range []string{"", "e", "e3", "e30", "e3==", "e===", "====", "e30=e30=", "e30", "AAAAe30"} {
			Expect(sameAsStdBase64([]byte(s))).To(BeEmpty(), "%q", s)
		}
	})
})

// FuzzDecodeBase64 compares decodeBase64 with encoding/base64.
//
//	go test -run '^$' -fuzz FuzzDecodeBase64 -fuzztime 30s ./proxy/capture/
func FuzzDecodeBase64(f *testing.F) {
	f.Add([]byte("e30="))
	f.Add([]byte("eyJrIjoiMDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6In0s"))
	f.Add([]byte("e3\r\n0="))
	f.Fuzz(func(t *testing.T, src []byte) {
		if msg := sameAsStdBase64(src); msg != "" {
			t.Fatalf("%q: %s", src, msg)
		}
	})
}

func BenchmarkDecodeBase64(b *testing.B) {
	src := []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte(`{"k":"0123456789abcdefghijklmnopqrstuvwxyz"},`), 228)))
	b.SetBytes(int64(len(src)))
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			if _, ok := capture.DecodeBase64(src); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			dst := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
			if _, err := base64.StdEncoding.Decode(dst, src); err != nil {
				b.Fatal(err)
			}
		}
	})
}
