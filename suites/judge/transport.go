package judge

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// hostShown is the host for a message, unless it carries a canary.
func (j *judgement) hostShown(x *item, host string) string {
	if x != nil {
		for _, h := range x.canaryHits() {
			if h.Path == "host" {
				return fmt.Sprintf("<host holding the %s canary, redacted>", h.Role)
			}
		}
	}
	return host
}

// EndpointPort is ep's port as text: its own, else the scheme's default.
func EndpointPort(ep policy.Endpoint) string {
	switch {
	case ep.Port != 0:
		return strconv.Itoa(ep.Port)
	case ep.Scheme == "https":
		return "443"
	}
	return "80"
}

// DestinationProblems lists how a request differs from the endpoint ep, in
// the words findings and matchers share; show renders a host for a message,
// so that a caller can hide one that carries a canary. A CONNECT (a tunnel
// the harness refused or never saw inside) is judged by its authority only:
// going there is what the endpoint allows. Every name a request gives its
// destination (CONNECT target, SNI, Host header, URL) must be the endpoint.
func DestinationProblems(ep policy.Endpoint, o *observe.Observation, show func(host string) string) []string {
	var out []string
	port := EndpointPort(ep)
	if o.Method == "CONNECT" {
		host, p, err := net.SplitHostPort(o.Exchange.Host)
		if err != nil {
			host, p = o.Exchange.Host, ""
		}
		if !strings.EqualFold(host, ep.Host) {
			out = append(out, "CONNECT to host "+show(strings.ToLower(host))+" is not "+ep.Host)
		}
		if p != port {
			out = append(out, "CONNECT to port "+p+" is not "+port)
		}
		return out
	}
	if !strings.EqualFold(o.Host, ep.Host) {
		out = append(out, "host "+show(o.Host)+" is not "+ep.Host)
	}
	if o.Scheme != ep.Scheme {
		out = append(out, "scheme "+o.Scheme+" is not "+ep.Scheme)
	}
	if o.Port != port {
		out = append(out, "port "+o.Port+" is not "+port)
	}
	if o.Path != ep.Path {
		out = append(out, fmt.Sprintf("path (%d chars, redacted) is not %s", len(o.Path), ep.Path))
	}
	if o.Method != ep.Method {
		out = append(out, "method "+o.Method+" is not "+ep.Method)
	}
	if d := disagreement(ep, o, show); d != "" {
		out = append(out, d)
	}
	return out
}

// destinationProblems is DestinationProblems for this policy, hiding hosts
// that carry one of the run's canaries.
func (j *judgement) destinationProblems(x *item) []string {
	return DestinationProblems(j.p.Endpoint, x.o, func(h string) string { return j.hostShown(x, h) })
}

// blindHost is the host a tunnel the harness could not see inside went to:
// its authority; for a connection the sealed namespace's transparent path
// caught, the TLS server name the client asked for, since every name the
// namespace resolves shares one address there (a Node client racing IPv4
// against IPv6 leaves a rejected handshake at [2001:db8::1]:443 that asked
// for the endpoint by name).
func blindHost(ex *capture.Exchange) string {
	h := ex.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	if ex.Path == capture.PathTransparent && ex.TLS != nil && ex.TLS.SNI != "" && net.ParseIP(strings.Trim(h, "[]")) != nil {
		return strings.ToLower(ex.TLS.SNI)
	}
	return strings.ToLower(h)
}

func (j *judgement) nothingSent(clause string, c policy.Check) *checker {
	k := &checker{}
	k.each = func(rv *runView, x *item) {
		if t := x.attributed(); t != nil {
			k.out.note("exchange #%d is the tool's own %s traffic (%s), not telemetry", x.ex.Seq, t.Name, t.Reason)
			return
		}
		if o := x.o; o != nil {
			k.out.add(j.finding(clause, c.Kind, rv, o.Exchange.Seq, "url",
				fmt.Sprintf("a request was sent: %s to %s", o.Method, j.hostShown(x, o.Host)), fmt.Sprintf("body of %d bytes, redacted", len(o.Body))))
			return
		}
		// A connection that carried nothing still tells the host that
		// the tool ran, like a DNS lookup of the endpoint does.
		if x.ex.Empty() {
			k.out.add(j.finding(clause, c.Kind, rv, x.ex.Seq, "host",
				fmt.Sprintf("a connection to %s was opened (tunnel), then closed without a byte", blindHost(x.ex)), string(x.ex.Kind)))
		}
	}
	k.end = func(rv *runView) {
		if r := blindReason(rv); r != "" && rv.observed == 0 {
			k.out.unobs("%s", r)
		}
		k.out.exercised = true
		j.endpointLookups(clause, c, rv, &k.out)
	}
	return k
}

func (j *judgement) noLogMention(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	k.start = func(rv *runView) {
		if !rv.HaveLogs {
			out.unobs("stdout and stderr were not captured")
			return
		}
		out.exercised = true
		for _, s := range []struct {
			name string
			b    []byte
		}{{"stdout", rv.Stdout}, {"stderr", rv.Stderr}} {
			sc := bufio.NewScanner(bytes.NewReader(s.b))
			sc.Buffer(make([]byte, 64<<10), 16<<20)
			for n := 1; sc.Scan(); n++ {
				for _, expr := range c.Patterns {
					re, err := j.regex(expr)
					if err != nil {
						out.unobs("%v", err)
						continue
					}
					if re.Match(sc.Bytes()) {
						out.add(j.finding(clause, c.Kind, rv, 0, fmt.Sprintf("%s:%d", s.name, n),
							fmt.Sprintf("the output mentions telemetry (pattern %s)", expr), fmt.Sprintf("line of %d chars, redacted", len(sc.Bytes()))))
					}
				}
			}
		}
	}
	return k
}

func (j *judgement) destination(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	k.start = func(*runView) { out.exercised = true }
	k.each = func(rv *runView, x *item) {
		if x.ex.Kind == capture.KindWebSocketMessage {
			return // its upgrade request is judged
		}
		if x.o != nil {
			if t := x.attributed(); t != nil {
				out.note("exchange #%d is attributed to %s (%s)", x.ex.Seq, t.Name, t.Reason)
				return
			}
			if probs := x.destProblems(); len(probs) > 0 {
				out.add(j.finding(clause, c.Kind, rv, x.ex.Seq, "url",
					"request outside the documented endpoint: "+strings.Join(probs, ", "), ""))
			}
			return
		}
		ex := x.ex
		if h := blindHost(ex); h != strings.ToLower(j.p.Endpoint.Host) {
			out.add(j.finding(clause, c.Kind, rv, ex.Seq, "host",
				fmt.Sprintf("connection outside the documented endpoint: host %s is not %s (%s)", h, j.p.Endpoint.Host, ex.Kind), ""))
		} else if !ex.Empty() {
			out.unobs("exchange #%d is %s: its path and method are unknown", ex.Seq, ex.Kind)
		}
	}
	return k
}

func (j *judgement) oneReport(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	// n counts a run's reports; first and second are the two lowest
	// sequence numbers among them (the capture streams in completion order).
	var n int
	var first, second int64
	k.start = func(*runView) { n, first, second = 0, math.MaxInt64, math.MaxInt64 }
	k.each = func(_ *runView, x *item) {
		if !x.isReport() {
			return
		}
		n++
		switch s := x.ex.Seq; {
		case s < first:
			first, second = s, first
		case s < second:
			second = s
		}
	}
	k.end = func(rv *runView) {
		if r := blindReason(rv); r != "" {
			out.unobs("%s", r)
			return
		}
		out.exercised = true
		switch {
		case n == 0:
			out.add(j.finding(clause, c.Kind, rv, 0, "", "no report was sent; one per run is expected", ""))
		case n > 1:
			out.add(j.finding(clause, c.Kind, rv, second, "",
				fmt.Sprintf("%d reports were sent; one per run is expected", n), ""))
		}
	}
	return k
}

func (j *judgement) runID(clause string, c policy.Check) *checker {
	f, ok := j.p.Field(c.Field)
	if !ok {
		return unobservableChecker("unknown field %q", c.Field)
	}
	re, err := j.regex(c.TimePattern)
	if err != nil {
		return unobservableChecker("%v", err)
	}
	loc := time.UTC
	if c.TimeZone != "" {
		if loc, err = time.LoadLocation(c.TimeZone); err != nil {
			return unobservableChecker("time zone %s: %v", c.TimeZone, err)
		}
	}
	k, out := newChecker(true)
	slack := c.Slack.D()
	firstRun := map[string]string{}
	var ids map[string]bool
	k.start = func(*runView) { ids = map[string]bool{} }
	k.each = func(rv *runView, x *item) {
		if !x.isReport() {
			return
		}
		runName := rv.Name
		if runName == "" {
			runName = strconv.Itoa(rv.idx + 1)
		}
		o := x.o
		ex := o.Exchange.Seq
		for _, v := range o.Get(f.Path) {
			out.exercised = true
			if !ids[v.Text] {
				ids[v.Text] = true
				if prev, dup := firstRun[v.Text]; dup {
					out.add(j.finding(clause, c.Kind, rv, ex, v.Path,
						fmt.Sprintf("%s repeats the one of run %s", f.Name, prev), ""))
				} else {
					firstRun[v.Text] = runName
				}
			}
			if rv.Facts == nil {
				out.unobs("run.json is missing, so the run's time window is unknown")
				continue
			}
			lo, hi := rv.Facts.Start.Add(-slack), runEnd(rv.Facts).Add(slack)
			m := re.FindStringSubmatch(v.Text)
			if len(m) < 2 {
				out.add(j.finding(clause, c.Kind, rv, ex, v.Path,
					fmt.Sprintf("%s holds no time stamp the policy's time_pattern finds", f.Name), fmt.Sprintf("%d chars", len(v.Text))))
				continue
			}
			t, err := time.ParseInLocation(c.TimeLayout, m[1], loc)
			if err != nil {
				out.add(j.finding(clause, c.Kind, rv, ex, v.Path,
					fmt.Sprintf("%s time stamp is not in the layout %s", f.Name, c.TimeLayout), ""))
				continue
			}
			// The stamp has whole seconds: the run started in [t, t+1s).
			if !t.Add(time.Second).After(lo) || t.After(hi) {
				out.add(j.finding(clause, c.Kind, rv, ex, v.Path,
					fmt.Sprintf("%s time stamp %s lies outside the run (%s to %s)", f.Name, t.UTC().Format(time.RFC3339), rv.Facts.Start.UTC().Format(time.RFC3339), runEnd(rv.Facts).UTC().Format(time.RFC3339)), ""))
			}
		}
		if c.TimestampField == "" || rv.Facts == nil {
			return
		}
		tf, ok := j.p.Field(c.TimestampField)
		if !ok {
			return
		}
		lo, hi := rv.Facts.Start.Add(-slack), runEnd(rv.Facts).Add(slack)
		for _, v := range o.Get(tf.Path) {
			secs, err := strconv.ParseFloat(v.Text, 64)
			if err != nil {
				continue // the format check's business
			}
			t := time.Unix(0, int64(secs*float64(time.Second)))
			if t.Before(lo) || t.After(hi) {
				out.add(j.finding(clause, c.Kind, rv, ex, v.Path,
					fmt.Sprintf("%s %s lies outside the run (%s to %s)", tf.Name, t.UTC().Format(time.RFC3339), rv.Facts.Start.UTC().Format(time.RFC3339), runEnd(rv.Facts).UTC().Format(time.RFC3339)), ""))
			}
		}
	}
	return k
}

// runEnd is when the command itself exited, or when recording stopped if
// that is unknown.
func runEnd(r *capture.RunFacts) time.Time {
	if !r.MainExit.IsZero() {
		return r.MainExit
	}
	return r.End
}

func (j *judgement) background(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	tol := c.Tolerance.D()
	reports := 0
	k.start = func(rv *runView) {
		reports = 0
		if rv.Facts == nil || j.in.Baseline == nil {
			return
		}
		out.exercised = true
		if d, b := rv.Facts.Duration(), j.in.Baseline.Duration(); d > b+tol {
			out.add(j.finding(clause, c.Kind, rv, 0, "",
				fmt.Sprintf("the run took %s, the fast-endpoint run %s: more than the tolerance of %s", d.Round(time.Millisecond), b.Round(time.Millisecond), tol), ""))
		}
	}
	k.each = func(rv *runView, x *item) {
		if rv.Facts == nil || !x.isReport() {
			return
		}
		reports++
		out.exercised = true
		if x.ex.Time.IsZero() || rv.Facts.MainExit.IsZero() {
			out.unobs("the report's or the command's end time is unknown")
			return
		}
		if wait := rv.Facts.MainExit.Sub(x.ex.Time); wait > tol {
			out.add(j.finding(clause, c.Kind, rv, x.ex.Seq, "",
				fmt.Sprintf("the command exited %s after sending its report: it waited for the endpoint (tolerance %s)", wait.Round(time.Millisecond), tol), ""))
		}
	}
	k.end = func(rv *runView) {
		if r := blindReason(rv); r != "" {
			out.unobs("%s", r)
		}
		switch {
		case rv.Facts == nil:
			out.unobs("run.json is missing, so the run's timing is unknown")
		case reports == 0:
			out.note("no report sent, so the run could not wait for one")
		}
	}
	return k
}

func (j *judgement) failureHarmless(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	k.end = func(rv *runView) {
		if r := blindReason(rv); r != "" {
			out.unobs("%s", r)
		}
		if n := rv.exchanges; n > c.MaxRequests {
			out.add(j.finding(clause, c.Kind, rv, rv.lastSeq, "",
				fmt.Sprintf("%d requests after the endpoint failed; at most %d (no retries)", n, c.MaxRequests), ""))
		}
		if rv.Facts == nil {
			out.unobs("run.json is missing, so the exit code is unknown")
			return
		}
		out.exercised = true
		code := rv.Facts.ExitCode
		switch j.sc.Expect.Exit {
		case policy.ExitSuccess:
			if code != 0 {
				out.add(j.finding(clause, c.Kind, rv, 0, "",
					fmt.Sprintf("the run exited %d; it succeeds when the endpoint works", code), ""))
			}
		case policy.ExitFailure:
			if code == 0 {
				out.add(j.finding(clause, c.Kind, rv, 0, "",
					"the run exited 0; it fails when the endpoint works", ""))
			}
		}
	}
	return k
}
