package judge

import (
	"fmt"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// egressBlind says why a run's egress and DNS were not observed; empty when
// the run was sealed.
func egressBlind(rv *runView) string {
	switch {
	case rv.Egress == nil:
		return fmt.Sprintf("egress and DNS were not observed: the run left no %s (recorded without a sealed namespace, or a bare capture file)", capture.EgressName)
	case !rv.Egress.Sealed:
		why := rv.Egress.Reason
		if why == "" {
			why = "no reason recorded"
		}
		return "egress and DNS were not observed: " + why
	}
	return ""
}

// egress judges what a sealed run sent outside the exchanges. Every escape
// flow (a packet bound for anything but the proxy, the DNS responder and
// the transparent listeners, which the sink dropped) is a finding with its
// address; so is every request that bypassed the proxy and was caught by a
// transparent listener (its content is judged by the other clauses like
// any request), unless the check allows direct connections (allow_direct:
// a tool that ignores HTTPS_PROXY by design). A run that was not sealed is
// unobservable, never passed; a
// sealed run whose processes were not contained in a PID namespace passes
// with a note saying so.
func (j *judgement) egress(clause string, c policy.Check) *checker {
	k, out := newChecker(false)
	sealed := false
	k.start = func(rv *runView) {
		sealed = false
		if why := egressBlind(rv); why != "" {
			out.unobs("%s", why)
			return
		}
		sealed = true
		out.exercised = true
		// Egress was still observed: only what outlives the run is at
		// stake, so a note, never unobservable. Contained nil (a file
		// older than the field) says nothing either way.
		if c := rv.Egress.Contained; c != nil && !*c {
			why := rv.Egress.ContainReason
			if why == "" {
				why = "no reason recorded"
			}
			out.note("processes the tool started were not contained: %s; a daemon could outlive a killed harness", why)
		}
		if p := rv.Egress.PrivateSys; p != nil && !*p {
			why := rv.Egress.SysReason
			if why == "" {
				why = "no reason recorded"
			}
			out.note("the tool saw the host's /sys (%s): a MAC address read from /sys/class/net is the host's real one, not the canary, and sending it would not be caught", why)
		}
		for _, f := range rv.Egress.Flows {
			switch f.Kind {
			case capture.FlowEscape:
				what := f.Proto + " packets"
				if f.SYN {
					what = "a TCP connection attempt"
				} else if f.Proto == "udp" {
					what = "UDP datagrams"
				}
				msg := fmt.Sprintf("%s to %s outside the proxy (dropped by the sealed namespace)", what, f.Server)
				if len(f.Names) > 0 {
					msg += ": DNS question " + strings.Join(f.Names, ", ") + " to an outside resolver"
				}
				out.add(j.finding(clause, c.Kind, rv, 0, capture.PcapName,
					msg, fmt.Sprintf("%s %s -> %s on %s, %d packets, first at %s", f.Proto, f.Client, f.Server, f.Interface, f.Packets, f.First.UTC().Format("15:04:05.000"))))
			case capture.FlowOther:
				// Traffic on lo that is none of the harness's listeners (a tool
				// talking to itself) never leaves the namespace.
				out.note("loopback traffic inside the namespace (%s %s -> %s) is not egress", f.Proto, f.Client, f.Server)
			}
		}
	}
	k.each = func(rv *runView, x *item) {
		if sealed && x.ex.Path == capture.PathTransparent && !c.AllowDirect {
			out.add(j.finding(clause, c.Kind, rv, x.ex.Seq, "url",
				fmt.Sprintf("a request bypassed the proxy (HTTPS_PROXY ignored) and was caught by the transparent listener: %s", j.exchangeShown(x.ex)), ""))
		}
	}
	k.end = func(rv *runView) {
		if !sealed {
			return
		}
		e := rv.Egress
		if cc := e.CrossCheck; cc != nil && len(cc.Unmatched) > 0 {
			out.unobs("the packet capture shows %d connection(s) to the proxy that the proxy never accepted (%s): the recording may miss traffic", len(cc.Unmatched), strings.Join(cc.Unmatched, ", "))
		}
		for _, msg := range e.Errors {
			out.unobs("the packet capture may be incomplete: %s", msg)
		}
	}
	return k
}

// exchangeShown names an exchange without its content: method and host.
func (j *judgement) exchangeShown(ex *capture.Exchange) string {
	if ex.Kind != capture.KindHTTP && ex.Kind != capture.KindWebSocket {
		return fmt.Sprintf("%s to %s", ex.Kind, ex.Host)
	}
	return fmt.Sprintf("%s to %s", ex.Method, ex.Host)
}

// endpointLookups adds to a nothing-sent outcome: in a scenario where no
// report is expected, a sealed run that asked DNS for the endpoint's host
// was getting ready to send, which the consent promise forbids. Without a
// seal the lookups were not observed, which the outcome notes.
func (j *judgement) endpointLookups(clause string, c policy.Check, rv *runView, out *outcome) {
	if j.sc.Expect.Reports != policy.ReportsNone {
		return
	}
	if why := egressBlind(rv); why != "" {
		out.note("DNS lookups of %s not checked: %s", j.p.Endpoint.Host, strings.TrimPrefix(why, "egress and DNS were not observed: "))
		return
	}
	host := strings.ToLower(strings.TrimSuffix(j.p.Endpoint.Host, "."))
	for i, q := range rv.Egress.DNS {
		if strings.ToLower(strings.TrimSuffix(q.Name, ".")) == host {
			out.add(j.finding(clause, c.Kind, rv, 0, fmt.Sprintf("%s:%d", capture.DNSLogName, i+1),
				fmt.Sprintf("the endpoint host %s was looked up (DNS %s) although nothing may be sent", j.p.Endpoint.Host, q.Type), "question from "+q.Client))
		}
	}
}
