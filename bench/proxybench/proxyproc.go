package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// runProxy is the proxy process: it prints "ADDR=host:port CA=file" once
// listening and stops cleanly on SIGTERM.
func runProxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	forward := fs.Bool("forward", false, "forward mode (default: sink)")
	upstreamCA := fs.String("upstream-ca", "", "PEM file of the origin's CA (forward mode)")
	dir := fs.String("dir", "", "folder for the capture and the CA")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("proxy: -dir is required")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("create profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start profile: %w", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	w, err := capture.Create(filepath.Join(*dir, capture.JSONLName))
	if err != nil {
		return err
	}
	defer w.Close()
	up := &tls.Config{}
	if *upstreamCA != "" {
		pool, err := poolFromFile(*upstreamCA)
		if err != nil {
			return err
		}
		up.RootCAs = pool
	}
	p, err := proxy.New(proxy.Options{Capture: w, Forward: *forward, TempDir: *dir, UpstreamTLS: up})
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fmt.Printf("ADDR=%s CA=%s\n", p.Addr(), p.CACertFile())
	<-sig
	if err := p.Close(); err != nil {
		return err
	}
	return w.Close()
}

func poolFromFile(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", file)
	}
	return pool, nil
}

// proc is a proxy under test running in its own process.
type proc struct {
	cmd      *exec.Cmd
	proxyURL string
	caFile   string // what clients must trust
	dir      string
	record   string // the file it records to
}

// startOurProxy starts `proxybench proxy` in a fresh folder.
func startOurProxy(self, work string, forward bool, originCA, cpuProfile string) (*proc, error) {
	dir, err := os.MkdirTemp(work, "proxy-")
	if err != nil {
		return nil, err
	}
	args := []string{"proxy", "-dir", dir, "-upstream-ca", originCA}
	if forward {
		args = append(args, "-forward")
	}
	if cpuProfile != "" {
		args = append(args, "-cpuprofile", cpuProfile)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start proxy: %w", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("proxy did not start: %w", err)
	}
	var addr, ca string
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "ADDR="); ok {
			addr = v
		}
		if v, ok := strings.CutPrefix(f, "CA="); ok {
			ca = v
		}
	}
	// The CA folder goes away at Close: keep a copy for clients.
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("proxy CA: %w", err)
	}
	caCopy := filepath.Join(dir, "client-ca.pem")
	if err := os.WriteFile(caCopy, pem, 0o600); err != nil {
		return nil, err
	}
	return &proc{cmd: cmd, proxyURL: "http://" + addr, caFile: caCopy, dir: dir,
		record: filepath.Join(dir, capture.JSONLName)}, nil
}

// startMitmdump starts mitmdump recording every flow to a flow file. Its
// CA (made on first start) stays in confDir across runs.
func startMitmdump(work, confDir, originCA string) (*proc, error) {
	dir, err := os.MkdirTemp(work, "mitmdump-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	flows := filepath.Join(dir, "flows.mitm")
	cmd := exec.Command("mitmdump", "--listen-host", "127.0.0.1", "-p", strconv.Itoa(port),
		"--set", "confdir="+confDir, "--set", "ssl_verify_upstream_trusted_ca="+originCA,
		"-w", flows, "-q")
	cmd.Env = cleanEnv(nil)
	logf, err := os.Create(filepath.Join(dir, "mitmdump.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mitmdump: %w", err)
	}
	p := &proc{cmd: cmd, proxyURL: fmt.Sprintf("http://127.0.0.1:%d", port),
		caFile: filepath.Join(confDir, "mitmproxy-ca-cert.pem"), dir: dir, record: flows}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(p.caFile); err == nil && canDial(port) {
			return p, nil
		}
		if time.Now().After(deadline) {
			_ = p.stop()
			return nil, fmt.Errorf("mitmdump not listening after 30 s (log: %s)", logf.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits (SIGKILL after 10 s).
func (p *proc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		return <-done
	}
}

// runOrigin is the origin process: it prints "ADDR=host:port" once
// listening and serves until SIGTERM.
func runOrigin(args []string) error {
	fs := flag.NewFlagSet("origin", flag.ContinueOnError)
	caFile := fs.String("ca", "", "write the origin's CA certificate (PEM) here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *caFile == "" {
		return errors.New("origin: -ca is required")
	}
	addr, stop, err := startOrigin(*caFile)
	if err != nil {
		return err
	}
	defer stop()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fmt.Printf("ADDR=%s\n", addr)
	<-sig
	return nil
}

// startOriginProc runs the origin in its own process, so that the load
// client, the origin and the proxy each have their own runtime.
func startOriginProc(self, caFile string) (*proc, string, error) {
	cmd := exec.Command(self, "origin", "-ca", caFile)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start origin: %w", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("origin did not start: %w", err)
	}
	addr, _ := strings.CutPrefix(strings.TrimSpace(line), "ADDR=")
	return &proc{cmd: cmd}, addr, nil
}

// cpuTime is the CPU time of a process: the sum of its threads' run time
// from /proc/PID/task/*/schedstat (nanoseconds), else utime+stime from
// /proc/PID/stat (10 ms ticks). Threads that already exited are not in
// the sum; Go keeps its threads.
func cpuTime(pid int) time.Duration {
	if tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid)); err == nil && len(tasks) > 0 {
		var sum int64
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				sum += v
			}
		}
		if sum > 0 {
			return time.Duration(sum)
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// memKiB returns VmRSS and VmHWM of a process in KiB.
func memKiB(pid int) (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}
