package textmatch_test

import (
	"regexp"
	"testing"

	"github.com/telemetry-harness/telemetry-harness/suites/textmatch"
)

// BenchmarkPolicyPatterns runs the Pants policy's six forbidden-patterns
// and no-log-mention patterns over one body per op (FindIndex, as the
// judge does on a non-JSON body); MB/s is body bytes per second.
func BenchmarkPolicyPatterns(b *testing.B) {
	hit := body(10 << 10)
	copy(hit[len(hit)-100:], "ValueError")
	bodies := []struct {
		name string
		text []byte
	}{
		{"40B", body(40)}, // a typical decoded string value
		{"10KiB", body(10 << 10)},
		{"10KiB-hit", hit},
		{"1MiB", body(1 << 20)},
	}
	for _, bd := range bodies {
		b.Run(bd.name+"/regexp", func(b *testing.B) {
			res := make([]*regexp.Regexp, len(policyPatterns))
			for i, e := range policyPatterns {
				res[i] = regexp.MustCompile(e)
			}
			b.SetBytes(int64(len(bd.text)))
			b.ReportAllocs()
			for b.Loop() {
				for _, re := range res {
					re.FindIndex(bd.text)
				}
			}
		})
		b.Run(bd.name+"/textmatch", func(b *testing.B) {
			res := make([]*textmatch.Regexp, len(policyPatterns))
			for i, e := range policyPatterns {
				res[i] = textmatch.MustCompile(e)
			}
			b.SetBytes(int64(len(bd.text)))
			b.ReportAllocs()
			for b.Loop() {
				for _, re := range res {
					re.FindIndex(bd.text)
				}
			}
		})
		b.Run(bd.name+"/set", func(b *testing.B) {
			set, err := textmatch.CompileSet(policyPatterns)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(bd.text)))
			b.ReportAllocs()
			for b.Loop() {
				set.FindIndexes(bd.text)
			}
		})
	}
}
