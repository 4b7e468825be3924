package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// runScan streams a capture with capture.ScanFile (what a streaming check
// or replay reads) and reports exchanges/s, capture MB/s, CPU time and
// this process's peak RSS (VmHWM), and the same for capture.Load
// (everything in memory) with -load.
func runScan(args []string) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	path := fs.String("capture", "", "run folder, .jsonl or .har capture")
	load := fs.Bool("load", false, "use capture.Load (all exchanges in memory) instead of ScanFile")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the read to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	size, err := captureSize(*path)
	if err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	n, bodies := 0, int64(0)
	if *load {
		var exs []*capture.Exchange
		exs, err = capture.Load(*path)
		for _, ex := range exs {
			n++
			bodies += int64(len(ex.Body.Bytes()))
		}
	} else {
		err = capture.ScanFile(*path, func(ex *capture.Exchange) error {
			n++
			bodies += int64(len(ex.Body.Bytes()))
			return nil
		})
	}
	if err != nil {
		return err
	}
	d := time.Since(start)
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	_, hwm := memKiB(os.Getpid())
	how := "ScanFile (streamed)"
	if *load {
		how = "Load (in memory)"
	}
	fmt.Printf("%s: %d exchanges, %.2f GiB of bodies, %.2f GiB of capture in %.2f s: %.0f exchanges/s, %.0f MB/s, CPU %.2f s (%.2fx wall), peak RSS (VmHWM) %.1f MiB\n",
		how, n, float64(bodies)/(1<<30), float64(size)/(1<<30), d.Seconds(), float64(n)/d.Seconds(), float64(size)/1e6/d.Seconds(),
		cpu.Seconds(), cpu.Seconds()/d.Seconds(), float64(hwm)/1024)
	return nil
}

// captureSize is the size of the capture file path names (a run folder's
// capture.jsonl or capture.har).
func captureSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("scan: %w", err)
	}
	if st.IsDir() {
		if p, err := capture.CaptureFile(path); err == nil {
			if st, err = os.Stat(p); err != nil {
				return 0, fmt.Errorf("scan: %w", err)
			}
		}
	}
	return st.Size(), nil
}
