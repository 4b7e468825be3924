package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Targets and scenarios of the matrix.
var (
	allTargets   = []string{"direct", "sink", "forward", "mitmdump"}
	allScenarios = []string{"keepalive-c8", "newconn-c4", "proc-go", "proc-python", "proc-curl"}
)

// row is one target in one scenario in one repetition.
type row struct {
	Scenario  string  `json:"scenario"`
	Target    string  `json:"target"`
	Rep       int     `json:"rep"`
	Rate      float64 `json:"req_per_s"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	CPUPerReq float64 `json:"proxy_cpu_ms_per_req"`
	OriginCPU float64 `json:"origin_cpu_ms_per_req,omitempty"`
	PeakRSS   float64 `json:"proxy_peak_rss_mib"`
	RecBytes  float64 `json:"record_bytes_per_req"`
	Requests  int     `json:"requests"`
	Failures  int     `json:"failures"`
}

type matrix struct {
	self, oneshot, work, originCA, url, bodyFile string
	body                                         []byte
	mitmConf                                     string
	origin                                       *proc
	duration                                     time.Duration
	procRuns                                     int
	profile                                      string
}

func runMatrix(args []string) error {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	d := fs.Duration("d", 3*time.Second, "measured phase of each throughput run")
	reps := fs.Int("reps", 3, "repetitions (each cell is the median)")
	procRuns := fs.Int("proc-runs", 30, "measured processes per proc-* cell and repetition")
	only := fs.String("only", "", "comma-separated scenarios (default all: "+strings.Join(allScenarios, ",")+")")
	targetsFlag := fs.String("targets", strings.Join(allTargets, ","), "comma-separated targets")
	work := fs.String("work", "", "scratch folder (default a new temp folder)")
	oneshot := fs.String("oneshot", "", "the bench/oneshot binary (required for proc-go)")
	out := fs.String("out", "", "append raw rows as JSON lines here")
	profile := fs.String("cpuprofile-dir", "", "write a CPU profile of every proxy process here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	m := &matrix{self: self, oneshot: *oneshot, work: *work, duration: *d, procRuns: *procRuns, profile: *profile, body: event()}
	if m.work == "" {
		if m.work, err = os.MkdirTemp("", "proxybench-"); err != nil {
			return err
		}
	}
	scenarios := allScenarios
	if *only != "" {
		scenarios = strings.Split(*only, ",")
	}
	targets := strings.Split(*targetsFlag, ",")
	if slices.Contains(targets, "mitmdump") {
		if _, err := exec.LookPath("mitmdump"); err != nil {
			fmt.Fprintln(os.Stderr, "note: mitmdump not installed (apt-get install -y mitmproxy): mitmdump target skipped")
			targets = slices.DeleteFunc(targets, func(t string) bool { return t == "mitmdump" })
		}
	}
	m.originCA = filepath.Join(m.work, "origin-ca.pem")
	origin, addr, err := startOriginProc(self, m.originCA)
	if err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	defer func() { _ = origin.stop() }()
	m.origin = origin
	m.url = "https://" + addr + "/v1/telemetry"
	m.bodyFile = filepath.Join(m.work, "body.json")
	if err := os.WriteFile(m.bodyFile, m.body, 0o600); err != nil {
		return err
	}
	m.mitmConf = filepath.Join(m.work, "mitmproxy-conf")

	var rows []row
	for rep := range *reps {
		// Rotate the target order so no target always runs first.
		order := slices.Clone(targets)
		for range rep % len(order) {
			order = append(order[1:], order[0])
		}
		for _, sc := range scenarios {
			var rs []row
			var err error
			if strings.HasPrefix(sc, "proc-") {
				rs, err = m.procCell(sc, order, rep)
			} else {
				rs, err = m.loadCells(sc, order, rep)
			}
			if err != nil {
				return fmt.Errorf("%s rep %d: %w", sc, rep, err)
			}
			for _, r := range rs {
				fmt.Fprintf(os.Stderr, "%-12s %-9s rep %d: %8.1f req/s p50 %7.2f ms p99 %7.2f ms cpu %6.3f ms/req (origin %6.3f) rss %5.1f MiB fail %d/%d\n",
					r.Scenario, r.Target, r.Rep, r.Rate, r.P50, r.P99, r.CPUPerReq, r.OriginCPU, r.PeakRSS, r.Failures, r.Requests)
			}
			rows = append(rows, rs...)
		}
	}
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		for _, r := range rows {
			_ = enc.Encode(r)
		}
		f.Close()
	}
	printTable(os.Stdout, rows, scenarios, targets)
	return nil
}

// startTarget starts the proxy of a target; direct has none.
func (m *matrix) startTarget(target, tag string) (*proc, error) {
	prof := ""
	if m.profile != "" {
		prof = filepath.Join(m.profile, tag+"-"+target+".prof")
	}
	switch target {
	case "direct":
		return nil, nil
	case "sink", "forward":
		return startOurProxy(m.self, m.work, target == "forward", m.originCA, prof)
	case "mitmdump":
		return startMitmdump(m.work, m.mitmConf, m.originCA)
	}
	return nil, fmt.Errorf("unknown target %q", target)
}

// finish samples a proxy's peak RSS and record size, then stops it.
func finish(p *proc, r *row, sent int) error {
	_, hwm := memKiB(p.pid())
	r.PeakRSS = float64(hwm) / 1024
	err := p.stop()
	if st, serr := os.Stat(p.record); serr == nil && sent > 0 {
		r.RecBytes = float64(st.Size()) / float64(sent)
	}
	if err != nil && !isSignalExit(err) {
		return fmt.Errorf("%s proxy exit: %w", r.Target, err)
	}
	return os.RemoveAll(p.dir)
}

func isSignalExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

// loadCells runs a throughput scenario against every target, one after
// the other, each with a fresh proxy.
func (m *matrix) loadCells(sc string, order []string, rep int) ([]row, error) {
	o := loadOptions{url: m.url, body: m.body, duration: m.duration}
	switch sc {
	case "keepalive-c8":
		o.workers, o.keepAlive, o.warm = 8, true, 200
	case "newconn-c4":
		o.workers, o.keepAlive, o.warm = 4, false, 50
	default:
		return nil, fmt.Errorf("unknown scenario %q", sc)
	}
	var rows []row
	for _, target := range order {
		p, err := m.startTarget(target, fmt.Sprintf("%s-%d", sc, rep))
		if err != nil {
			return nil, err
		}
		lo := o
		lo.caFile = m.originCA
		var cpu0, ocpu0 time.Duration
		lo.onStart = func() {
			ocpu0 = cpuTime(m.origin.pid())
			if p != nil {
				cpu0 = cpuTime(p.pid())
			}
		}
		if p != nil {
			lo.proxyURL, lo.caFile = p.proxyURL, p.caFile
		}
		res, err := runLoad(lo)
		r := row{Scenario: sc, Target: target, Rep: rep}
		if err == nil {
			r.Rate, r.P50, r.P99 = res.rate(), ms(res.P50), ms(res.P99)
			r.Requests, r.Failures = res.Requests, res.Failures
			r.OriginCPU = ms(cpuTime(m.origin.pid())-ocpu0) / float64(max(res.Requests, 1))
		}
		if p != nil {
			if err == nil && res.Requests > 0 {
				r.CPUPerReq = ms(cpuTime(p.pid())-cpu0) / float64(res.Requests)
			}
			if ferr := finish(p, &r, res.Requests+max(o.warm, o.workers)); ferr != nil && err == nil {
				err = ferr
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", target, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// procCell runs one process per request, sequentially, interleaving the
// targets run by run so that drift in the machine's load hits all alike.
func (m *matrix) procCell(sc string, order []string, rep int) ([]row, error) {
	const warm = 3
	procs := map[string]*proc{}
	defer func() {
		for _, p := range procs {
			_ = p.stop()
		}
	}()
	for _, t := range order {
		p, err := m.startTarget(t, fmt.Sprintf("%s-%d", sc, rep))
		if err != nil {
			return nil, err
		}
		if p != nil {
			procs[t] = p
		}
	}
	lat := map[string][]time.Duration{}
	fails := map[string]int{}
	cpu0 := map[string]time.Duration{}
	for i := range warm + m.procRuns {
		if i == warm {
			for t, p := range procs {
				cpu0[t] = cpuTime(p.pid())
			}
		}
		for _, t := range order {
			cmd, err := m.clientCmd(sc, procs[t])
			if err != nil {
				return nil, err
			}
			start := time.Now()
			out, err := cmd.CombinedOutput()
			d := time.Since(start)
			if i < warm {
				if err != nil {
					return nil, fmt.Errorf("%s warm-up run: %w: %s", t, err, out)
				}
				continue
			}
			if err != nil {
				fails[t]++
			}
			lat[t] = append(lat[t], d)
		}
	}
	var rows []row
	for _, t := range order {
		ls := lat[t]
		var sum time.Duration
		for _, l := range ls {
			sum += l
		}
		slices.Sort(ls)
		r := row{Scenario: sc, Target: t, Rep: rep, Requests: len(ls), Failures: fails[t],
			Rate: float64(len(ls)) / sum.Seconds(), P50: ms(ls[len(ls)/2]), P99: ms(ls[min(len(ls)-1, len(ls)*99/100)])}
		if p := procs[t]; p != nil {
			r.CPUPerReq = ms(cpuTime(p.pid())-cpu0[t]) / float64(len(ls))
			delete(procs, t)
			if err := finish(p, &r, warm+len(ls)); err != nil {
				return nil, err
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// clientCmd is one client process: a POST of the event through p (direct
// when p is nil).
func (m *matrix) clientCmd(sc string, p *proc) (*exec.Cmd, error) {
	ca, proxyURL := m.originCA, ""
	if p != nil {
		ca, proxyURL = p.caFile, p.proxyURL
	}
	var cmd *exec.Cmd
	env := []string{"SSL_CERT_FILE=" + ca}
	switch sc {
	case "proc-go":
		if m.oneshot == "" {
			return nil, errors.New("proc-go needs -oneshot (build ./bench/oneshot)")
		}
		cmd = exec.Command(m.oneshot, "-url", m.url, "-ca", ca, "-body", m.bodyFile, "-proxy", proxyURL)
	case "proc-python":
		// Debian's interpreter, not a pyenv shim (a shim adds tens of ms).
		cmd = exec.Command("/usr/bin/python3", "-c", pythonClient, m.url, m.bodyFile)
		if proxyURL != "" {
			env = append(env, "HTTPS_PROXY="+proxyURL, "https_proxy="+proxyURL)
		}
	case "proc-curl":
		args := []string{"-sS", "--fail", "-o", "/dev/null", "--http1.1", "--cacert", ca,
			"-H", "Content-Type: application/json", "--data-binary", "@" + m.bodyFile}
		if proxyURL != "" {
			args = append(args, "-x", proxyURL)
		} else {
			args = append(args, "--noproxy", "*")
		}
		cmd = exec.Command("curl", append(args, m.url)...)
	default:
		return nil, fmt.Errorf("unknown scenario %q", sc)
	}
	cmd.Env = cleanEnv(env)
	return cmd, nil
}

// pythonClient posts a file with the standard library only; urllib takes
// the proxy from https_proxy and the roots from SSL_CERT_FILE.
const pythonClient = `import sys, urllib.request
body = open(sys.argv[2], "rb").read()
req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=30) as r:
    r.read()
`

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// printTable prints medians over repetitions, with ratios to direct (same
// scenario) and to mitmdump.
func printTable(w *os.File, rows []row, scenarios, targets []string) {
	type agg struct {
		rate, p50, p99, cpu, rss, rec, lo, hi float64
		req, fail                             int
	}
	cells := map[[2]string]*agg{}
	for _, sc := range scenarios {
		for _, t := range targets {
			var rate, p50, p99, cpu, rss, rec []float64
			a := &agg{}
			for _, r := range rows {
				if r.Scenario != sc || r.Target != t {
					continue
				}
				rate, p50, p99 = append(rate, r.Rate), append(p50, r.P50), append(p99, r.P99)
				cpu, rss, rec = append(cpu, r.CPUPerReq), append(rss, r.PeakRSS), append(rec, r.RecBytes)
				a.req += r.Requests
				a.fail += r.Failures
			}
			if len(rate) == 0 {
				continue
			}
			a.rate, a.p50, a.p99, a.cpu, a.rss, a.rec = median(rate), median(p50), median(p99), median(cpu), median(rss), median(rec)
			a.lo, a.hi = slices.Min(rate), slices.Max(rate)
			cells[[2]string{sc, t}] = a
		}
	}
	fmt.Fprintln(w, "| scenario | target | req/s | min–max | vs direct | vs mitmdump | p50 ms | p50 − direct ms | p99 ms | proxy CPU ms/req | proxy peak RSS MiB | record B/req | failures/requests |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, sc := range scenarios {
		d := cells[[2]string{sc, "direct"}]
		mi := cells[[2]string{sc, "mitmdump"}]
		for _, t := range targets {
			a := cells[[2]string{sc, t}]
			if a == nil {
				continue
			}
			vsD, vsM, addP50 := "-", "-", "-"
			if d != nil {
				vsD = fmt.Sprintf("%.2fx", a.rate/d.rate)
				addP50 = fmt.Sprintf("%+.2f", a.p50-d.p50)
			}
			if mi != nil && t != "mitmdump" {
				vsM = fmt.Sprintf("%.1fx", a.rate/mi.rate)
			}
			cpu, rss, rec := "-", "-", "-"
			if t != "direct" {
				cpu, rss, rec = fmt.Sprintf("%.3f", a.cpu), fmt.Sprintf("%.1f", a.rss), fmt.Sprintf("%.0f", a.rec)
			}
			fmt.Fprintf(w, "| %s | %s | %.1f | %.1f–%.1f | %s | %s | %.2f | %s | %.2f | %s | %s | %s | %d/%d |\n",
				sc, t, a.rate, a.lo, a.hi, vsD, vsM, a.p50, addP50, a.p99, cpu, rss, rec, a.fail, a.req)
		}
	}
}
