package judge

import (
	"net"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// named is one place a request names its destination.
type named struct {
	// what is how the finding quotes it: "CONNECT", "SNI", "Host:", "URL".
	what string
	// raw is the name as sent (with its port, when it had one).
	raw        string
	host, port string
}

// destinationNames are the names a request gave its destination, each
// from its own layer: the CONNECT target (or, for a plain proxy request,
// its request target), the TLS SNI, the Host header and the URL. A
// transparent capture's target is not listed: the proxy derived it from
// the SNI or Host, so it is no independent name.
func destinationNames(ex *capture.Exchange, o *observe.Observation) []named {
	var out []named
	add := func(what, raw string) {
		if raw == "" {
			return
		}
		h, p, err := net.SplitHostPort(raw)
		if err != nil {
			h = strings.TrimSuffix(strings.TrimPrefix(raw, "["), "]")
		}
		out = append(out, named{what: what, raw: raw, host: strings.ToLower(h), port: p})
	}
	if ex.Path != capture.PathTransparent {
		what := "request target"
		if ex.TLS != nil {
			what = "CONNECT"
		}
		add(what, ex.Host)
	}
	if ex.TLS != nil {
		add("SNI", ex.TLS.SNI)
	}
	if h, ok := ex.Header("Host"); ok {
		add("Host:", h)
	}
	url := o.Host
	if o.Port != "" {
		url = net.JoinHostPort(o.Host, o.Port)
	}
	add("URL", url)
	return out
}

// disagreement is a problem naming every destination name of a request
// when they disagree and a name other than the URL is not the endpoint
// (the URL's own problems are listed apart): a tool that tunnels to one host
// and writes another in its Host header (domain fronting) must not pass
// because one layer names the endpoint. Empty when all agree with ep.
func disagreement(ep policy.Endpoint, o *observe.Observation, show func(string) string) string {
	if o.Exchange == nil {
		return ""
	}
	names := destinationNames(o.Exchange, o)
	port := EndpointPort(ep)
	bad, differ := false, false
	for _, n := range names {
		// The URL's own problems are DestinationProblems' other lines.
		if n.what != "URL" && (n.host != strings.ToLower(ep.Host) || (n.port != "" && n.port != port)) {
			bad = true
		}
		if n.host != names[0].host || (n.port != "" && names[0].port != "" && n.port != names[0].port) {
			differ = true
		}
	}
	// Names that all agree on another host are the plain "host is not"
	// problem; quoting them all would say nothing more.
	if !bad || !differ {
		return ""
	}
	var parts []string
	for _, n := range names {
		shown := show(n.host)
		if n.port != "" {
			shown = net.JoinHostPort(shown, n.port)
		}
		parts = append(parts, n.what+" "+shown)
	}
	return "the request names its destination as " + strings.Join(parts, ", ") + "; each must be " +
		net.JoinHostPort(ep.Host, port)
}
