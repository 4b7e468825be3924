package netwatch_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// BenchmarkSealedRun measures the whole overhead of a sealed run: helper,
// namespace, sink, route check, sockets, pcapng and DNS log, exec of
// /bin/true, drain and teardown; with the PID namespace and private /proc
// (the default) and without (the fallback), and with the host facts pinned
// (a root of the tool's own showing /.dockerenv, a cgroup namespace).
func BenchmarkSealedRun(b *testing.B) {
	if err := netwatch.Available(); err != nil {
		b.Skip(err)
	}
	b.Run("pidns", func(b *testing.B) { benchSealedRun(b, false, netwatch.ContainerHost) })
	b.Run("no-pidns", func(b *testing.B) { benchSealedRun(b, true, netwatch.ContainerHost) })
	b.Run("pidns-pinned-root", func(b *testing.B) { benchSealedRun(b, false, netwatch.ContainerDocker) })
}

func benchSealedRun(b *testing.B, noPIDNS bool, container string) {
	dir := b.TempDir()
	cmd := netwatch.Command{Argv: []string{"/bin/true"}}
	var setup, run, teardown time.Duration
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t0 := time.Now()
		sb, err := netwatch.Start(ctx, netwatch.Options{
			PcapPath:       filepath.Join(dir, "packets.pcapng"),
			DNSLogPath:     filepath.Join(dir, "dns.jsonl"),
			NoPIDNamespace: noPIDNS,
			Container:      container,
		})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := sb.Go(cmd); err != nil {
			b.Fatal(err)
		}
		if err := sb.Wait(); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := sb.Close(); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		cancel()
		setup += t1.Sub(t0)
		run += t2.Sub(t1)
		teardown += t3.Sub(t2)
	}
	n := time.Duration(b.N)
	b.ReportMetric(float64((setup/n).Microseconds())/1000, "setup-ms")
	b.ReportMetric(float64((run/n).Microseconds())/1000, "exec-true-ms")
	b.ReportMetric(float64((teardown/n).Microseconds())/1000, "teardown-ms")
}
