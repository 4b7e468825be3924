package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// runScan streams a capture with capture.ScanFile (what a streaming check
// or replay reads) and reports exchanges/s and this process's peak RSS,
// and the same for capture.Load (everything in memory) with -load.
func runScan(args []string) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	path := fs.String("capture", "", "run folder, .jsonl or .har capture")
	load := fs.Bool("load", false, "use capture.Load (all exchanges in memory) instead of ScanFile")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	n, bodies := 0, int64(0)
	var err error
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
	_, hwm := memKiB(os.Getpid())
	how := "ScanFile (streamed)"
	if *load {
		how = "Load (in memory)"
	}
	fmt.Printf("%s: %d exchanges, %.2f GiB of bodies in %.1f s: %.0f exchanges/s, peak RSS %.1f MiB\n",
		how, n, float64(bodies)/(1<<30), d.Seconds(), float64(n)/d.Seconds(), float64(hwm)/1024)
	return nil
}
