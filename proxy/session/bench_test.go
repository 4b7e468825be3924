package session_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
)

// BenchmarkRecord is the whole cost of recording /bin/true, sealed and with
// the proxy alone; the sealed case also reports the namespace's setup and
// teardown as measured inside Record (egress.json).
//
//	go test ./proxy/session/ -run '^$' -bench Record -benchtime 20x
func BenchmarkRecord(b *testing.B) {
	for _, mode := range []string{session.SealOff, session.SealOn} {
		b.Run(mode, func(b *testing.B) {
			if mode == session.SealOn {
				if err := netwatch.Available(); err != nil {
					b.Skip(err)
				}
			}
			dir := b.TempDir()
			var setup, teardown time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := filepath.Join(dir, "run")
				if _, err := session.Record(context.Background(), session.Options{Argv: []string{"true"}, Out: out, Seal: mode}); err != nil {
					b.Fatal(err)
				}
				if e, err := capture.ReadEgress(out); err == nil {
					setup += e.Setup
					teardown += e.Teardown
				}
			}
			b.ReportMetric(float64(setup.Microseconds())/1000/float64(b.N), "setup-ms/op")
			b.ReportMetric(float64(teardown.Microseconds())/1000/float64(b.N), "teardown-ms/op")
		})
	}
}

// BenchmarkRecordPhases splits a sealed run of /bin/true: namespace setup,
// the tool (start to exit), the wait after it, teardown.
func BenchmarkRecordPhases(b *testing.B) {
	if err := netwatch.Available(); err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	var setup, tool, after, teardown time.Duration
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, "run")
		run, err := session.Record(context.Background(), session.Options{Argv: []string{"true"}, Out: out, Seal: session.SealOn})
		if err != nil {
			b.Fatal(err)
		}
		e, err := capture.ReadEgress(out)
		if err != nil {
			b.Fatal(err)
		}
		setup += e.Setup
		teardown += e.Teardown
		tool += run.MainExit.Sub(run.Start)
		after += run.End.Sub(run.MainExit)
	}
	for name, d := range map[string]time.Duration{"setup": setup, "tool": tool, "after": after, "teardown": teardown} {
		b.ReportMetric(float64(d.Microseconds())/1000/float64(b.N), name+"-ms/op")
	}
}
