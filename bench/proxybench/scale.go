package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// runScale records n exchanges of a size-byte body through a sink proxy in
// its own process and reports exchanges/s and the proxy's RSS at
// checkpoints (1,000, 10,000, 100,000, ...), to show that memory stays flat.
// The capture is left in -keep for check/replay measurements.
func runScale(args []string) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	n := fs.Int("n", 100000, "exchanges to record")
	size := fs.Int("size", 10<<10, "body bytes per exchange")
	workers := fs.Int("c", 8, "keep-alive connections")
	work := fs.String("work", "", "scratch folder (default a new temp folder)")
	keep := fs.String("keep", "", "move the capture to this path when done (default: delete it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if *work == "" {
		if *work, err = os.MkdirTemp("", "proxybench-scale-"); err != nil {
			return err
		}
		defer os.RemoveAll(*work)
	}
	// Sink mode never dials the origin; the origin CA is only a formality.
	originCA := filepath.Join(*work, "origin-ca.pem")
	_, stopOrigin, err := startOrigin(originCA)
	if err != nil {
		return err
	}
	stopOrigin()
	p, err := startOurProxy(self, *work, false, originCA, "")
	if err != nil {
		return err
	}
	defer func() { _ = p.stop() }()
	// A JSON body of the given size that does not compress to nothing.
	body := bytes.Repeat([]byte(`{"k":"0123456789abcdefghijklmnopqrstuvwxyz"},`), *size/45+1)[:*size]

	type point struct {
		n        int64
		at       time.Duration
		rss, hwm int64
		cpu      time.Duration
	}
	var mu sync.Mutex
	var points []point
	next := int64(1000)
	start := time.Now()
	cpu0 := cpuTime(p.pid())
	res, err := runLoad(loadOptions{
		url: "https://telemetry.example/v1/telemetry", proxyURL: p.proxyURL, caFile: p.caFile,
		body: body, workers: *workers, keepAlive: true, warm: *workers, count: *n,
		progress: func(done int64) {
			mu.Lock()
			defer mu.Unlock()
			if done >= next || done == int64(*n) {
				rss, hwm := memKiB(p.pid())
				points = append(points, point{done, time.Since(start), rss, hwm, cpuTime(p.pid()) - cpu0})
				for next <= done {
					next *= 10
				}
			}
		},
	})
	if err != nil {
		return err
	}
	cpu := cpuTime(p.pid()) - cpu0
	_, hwm := memKiB(p.pid())
	if err := p.stop(); err != nil && !isSignalExit(err) {
		return err
	}
	st, err := os.Stat(p.record)
	if err != nil {
		return err
	}
	fmt.Printf("scale: %d exchanges of %d B through a sink proxy, %d keep-alive connections\n", res.Requests, *size, *workers)
	fmt.Printf("| exchanges done | elapsed s | exchanges/s so far | proxy VmRSS MiB | proxy VmHWM MiB | proxy CPU ms/exchange |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, pt := range points {
		fmt.Printf("| %d | %.1f | %.0f | %.1f | %.1f | %.3f |\n", pt.n, pt.at.Seconds(), float64(pt.n)/pt.at.Seconds(),
			float64(pt.rss)/1024, float64(pt.hwm)/1024, ms(pt.cpu)/float64(pt.n))
	}
	fmt.Printf("total: %.0f exchanges/s, p50 %.2f ms, p99 %.2f ms, failures %d, proxy CPU %.3f ms/exchange, proxy peak RSS %.1f MiB, capture %.2f GiB (%.0f B/exchange)\n",
		res.rate(), ms(res.P50), ms(res.P99), res.Failures, ms(cpu)/float64(res.Requests), float64(hwm)/1024,
		float64(st.Size())/(1<<30), float64(st.Size())/float64(res.Requests+*workers))
	if *keep != "" {
		if err := os.Rename(p.record, *keep); err != nil {
			return fmt.Errorf("keep capture: %w", err)
		}
		fmt.Printf("capture kept at %s\n", *keep)
	}
	return os.RemoveAll(p.dir)
}
