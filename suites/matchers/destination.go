package matchers

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// BeSentOnlyTo succeeds when every request of a capture
// ([]*capture.Exchange) went to ep: same scheme, host (case-insensitive,
// exactly: spire.bugout.dev.example.net is not spire.bugout.dev), port
// (0 in ep means the scheme's default), path and method. An empty capture
// passes: nothing went elsewhere.
//
// Each request elsewhere is a failure line naming what differs; a path is
// shown by its length only, and a host label that starts with canary.Prefix
// as «canary», since either may carry a canary. A rejected or
// opaque tunnel to another host is a failure; one to ep's host is an error
// ("unobservable: ...") unless another request already fails, because its
// path and method are unknown. An endpoint without scheme, host, path or
// method is an error.
func BeSentOnlyTo(ep policy.Endpoint) types.GomegaMatcher {
	return &destinationMatcher{ep: ep}
}

var _ types.GomegaMatcher = (*destinationMatcher)(nil)

type destinationMatcher struct {
	ep policy.Endpoint

	summary string
	lines   []string
}

func (m *destinationMatcher) Match(actual any) (bool, error) {
	m.summary, m.lines = "", nil
	exs, err := exchanges("BeSentOnlyTo", actual)
	if err != nil {
		return false, err
	}
	if m.ep.Scheme == "" || m.ep.Host == "" || m.ep.Path == "" || m.ep.Method == "" {
		return false, fmt.Errorf("BeSentOnlyTo matcher: endpoint %s is incomplete: scheme, host, path and method are all required (e.g. policy.Endpoint{Scheme: \"https\", Host: \"spire.bugout.dev\", Path: \"/humbug/reports\", Method: \"POST\"})", m.endpoint())
	}
	var blinds []string
	for _, ex := range exs {
		if blind(ex) {
			host, port := splitAuthority(ex.Host, judge.EndpointPort(m.ep))
			var probs []string
			if !strings.EqualFold(host, m.ep.Host) {
				probs = append(probs, "host "+shownHost(host)+" is not "+m.ep.Host)
			}
			if port != judge.EndpointPort(m.ep) {
				probs = append(probs, "port "+port+" is not "+judge.EndpointPort(m.ep))
			}
			if len(probs) > 0 {
				m.lines = append(m.lines, fmt.Sprintf("exchange #%d: %s outside the endpoint: %s", ex.Seq, ex.Kind, strings.Join(probs, ", ")))
			} else {
				blinds = append(blinds, blindLine(ex)+": its path and method are unknown")
			}
			continue
		}
		o, err := observe.Observe(ex, observe.Options{})
		if err != nil {
			return false, fmt.Errorf("BeSentOnlyTo matcher: exchange #%d: %w", ex.Seq, err)
		}
		if probs := judge.DestinationProblems(m.ep, o, shownHost); len(probs) > 0 {
			m.lines = append(m.lines, fmt.Sprintf("exchange #%d: request outside the endpoint: %s", ex.Seq, strings.Join(probs, ", ")))
		}
	}
	if len(m.lines) == 0 && len(blinds) > 0 {
		return false, unobservable("BeSentOnlyTo", blinds)
	}
	m.summary = captureSummary(exs)
	return len(m.lines) == 0, nil
}

func (m *destinationMatcher) FailureMessage(any) string {
	return message(m.summary, "to be sent only to "+m.endpoint(), m.lines)
}

func (m *destinationMatcher) NegatedFailureMessage(any) string {
	return message(m.summary, "not to be sent only to "+m.endpoint(), m.lines)
}

// endpoint is ep as a request line: METHOD scheme://host[:port]path.
func (m *destinationMatcher) endpoint() string {
	host := m.ep.Host
	if m.ep.Port != 0 {
		host = net.JoinHostPort(host, strconv.Itoa(m.ep.Port))
	}
	return fmt.Sprintf("%s %s://%s%s", m.ep.Method, m.ep.Scheme, host, m.ep.Path)
}

// splitAuthority splits a CONNECT authority; a bare host gets def.
func splitAuthority(authority, def string) (host, port string) {
	if h, p, err := net.SplitHostPort(authority); err == nil {
		return strings.ToLower(h), p
	}
	return strings.ToLower(authority), def
}
