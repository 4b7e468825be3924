package matchers

import (
	"fmt"
	"net"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// HaveSentNothing succeeds when a capture ([]*capture.Exchange) holds no
// exchange at all. Each HTTP exchange is a failure line (method, host, and
// the sizes of URL and body, never their bytes). A rejected or opaque tunnel
// with no readable request beside it is an error ("unobservable: ..."):
// nothing seen is not nothing sent. A nil element or unknown kind is an
// error too.
func HaveSentNothing() types.GomegaMatcher {
	return &nothingMatcher{}
}

var _ types.GomegaMatcher = (*nothingMatcher)(nil)

type nothingMatcher struct {
	summary string
	lines   []string
}

func (m *nothingMatcher) Match(actual any) (bool, error) {
	m.summary, m.lines = "", nil
	exs, err := exchanges("HaveSentNothing", actual)
	if err != nil {
		return false, err
	}
	m.summary = captureSummary(exs)
	var blinds []string
	for _, ex := range exs {
		if blind(ex) {
			blinds = append(blinds, blindLine(ex))
			continue
		}
		m.lines = append(m.lines, fmt.Sprintf("exchange #%d: a request was sent: %s to %s (url of %d chars and body of %d bytes, redacted)",
			ex.Seq, ex.Method, requestHost(ex), len(ex.URL), ex.Body.Size))
	}
	if len(m.lines) == 0 && len(blinds) > 0 {
		m.summary, m.lines = "", nil
		return false, unobservable("HaveSentNothing", blinds)
	}
	return len(m.lines) == 0, nil
}

func (m *nothingMatcher) FailureMessage(any) string {
	return message(m.summary, "to have sent nothing", m.lines)
}

func (m *nothingMatcher) NegatedFailureMessage(any) string {
	return message(m.summary, "not to have sent nothing", m.lines)
}

// requestHost is the host a request went to, without port, lower-case.
func requestHost(ex *capture.Exchange) string {
	h := ex.Host
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	if h == "" {
		return "an unknown host"
	}
	return shownHost(strings.ToLower(h))
}
