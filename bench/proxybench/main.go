// Command proxybench measures the recording proxy (package proxy) against
// direct TLS to a local origin and against mitmdump, on loopback only.
//
//	proxybench matrix [flags]  the side-by-side matrix (see bench/run.sh)
//	proxybench scale [flags]   100,000 exchanges of 10 KiB through a sink proxy
//	proxybench proxy [flags]   the proxy in its own process (used by the two above)
//	proxybench origin -ca F    the HTTPS origin in its own process (used by matrix)
//	proxybench scan -capture F read a capture streamed (or -load: in memory)
//
// The proxy always runs in its own process so that its CPU (utime+stime from
// /proc/PID/stat) and peak RSS (VmHWM) are its own.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: proxybench matrix|scale|scan|proxy|origin [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "matrix":
		err = runMatrix(os.Args[2:])
	case "scale":
		err = runScale(os.Args[2:])
	case "proxy":
		err = runProxy(os.Args[2:])
	case "scan":
		err = runScan(os.Args[2:])
	case "origin":
		err = runOrigin(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want matrix, scale, scan, proxy or origin)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}
