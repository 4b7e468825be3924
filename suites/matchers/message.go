package matchers

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// indent is Gomega's indentation of the actual and of detail lines.
const indent = "    "

// message lays a failure out the way format.Message does, but from a
// summary we built ourselves: format.Object would print pointer addresses
// (unstable first lines) and could dump bodies.
func message(summary, verb string, lines []string) string {
	var b strings.Builder
	b.WriteString("Expected\n" + indent + summary + "\n" + verb)
	for _, l := range lines {
		b.WriteString("\n" + indent + l)
	}
	return b.String()
}

// findingLine is one violation: where (run, exchange, path), what, evidence.
func findingLine(f judge.Finding) string {
	var where []string
	if f.Run != "" {
		where = append(where, "run "+f.Run)
	}
	if f.Exchange != 0 {
		where = append(where, fmt.Sprintf("exchange #%d", f.Exchange))
	}
	if f.Path != "" {
		where = append(where, f.Path)
	}
	s := f.Message
	if len(where) > 0 {
		s = strings.Join(where, " ") + ": " + s
	}
	if f.Evidence != "" {
		s += " (" + f.Evidence + ")"
	}
	return s
}

// exchanges checks that actual is a usable capture: the right type and no
// nil or unknown record, which would make any verdict a guess.
func exchanges(matcher string, actual any) ([]*capture.Exchange, error) {
	exs, ok := actual.([]*capture.Exchange)
	if !ok {
		return nil, fmt.Errorf("%s matcher expects a []*capture.Exchange, got %s", matcher, typeName(actual))
	}
	for i, ex := range exs {
		if ex == nil {
			return nil, fmt.Errorf("%s matcher: exchange at index %d is nil: the capture is malformed", matcher, i)
		}
		switch ex.Kind {
		case capture.KindHTTP, capture.KindWebSocket, "", capture.KindTunnelRejected, capture.KindOpaqueTunnel:
		default:
			return nil, fmt.Errorf("%s matcher: exchange #%d has unknown kind %q: the capture is malformed or newer than this harness", matcher, ex.Seq, ex.Kind)
		}
	}
	return exs, nil
}

// blind reports whether the harness could not see inside ex.
func blind(ex *capture.Exchange) bool {
	return ex.Kind == capture.KindTunnelRejected || ex.Kind == capture.KindOpaqueTunnel
}

// blindLine says why ex is unobservable, without its bytes.
func blindLine(ex *capture.Exchange) string {
	s := fmt.Sprintf("exchange #%d is %s to %s", ex.Seq, ex.Kind, shownHost(ex.Host))
	if ex.Note != "" {
		s += " (" + ex.Note + ")"
	}
	return s
}

// unobservable is the error for a capture the harness could not see into.
func unobservable(matcher string, blinds []string) error {
	return fmt.Errorf("%s matcher: unobservable: %s: the harness could not see what was sent, so neither To nor NotTo may pass", matcher, strings.Join(blinds, "; "))
}

// captureSummary is a stable one-line description of a capture: counts by
// kind, never URLs or bodies (they may carry canaries).
func captureSummary(exs []*capture.Exchange) string {
	if len(exs) == 0 {
		return "<no exchanges>"
	}
	count := map[string]int{}
	for _, ex := range exs {
		k := string(ex.Kind)
		if k == "" {
			k = string(capture.KindHTTP)
		}
		count[k]++
	}
	kinds := make([]string, 0, len(count))
	for k := range count {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", count[k], k)
	}
	return fmt.Sprintf("<%s: %s>", plural(len(exs), "exchange"), strings.Join(parts, ", "))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// typeName names actual's type for an error; %T of nil is "<nil>".
func typeName(actual any) string {
	if actual == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", actual)
}

// policyName is the policy file for a message: the base name keeps the line
// stable across checkouts and temp folders.
func policyName(file string) string {
	if file == "" {
		return "policy built in code"
	}
	return filepath.Base(file)
}

// shownHost is a host for a message. These matchers are not told the
// canaries, but every generated canary starts with canary.Prefix, so a
// label that does is replaced: a tool may put the user name in a host.
func shownHost(host string) string {
	labels := strings.Split(host, ".")
	for i, l := range labels {
		if strings.HasPrefix(strings.ToLower(l), canary.Prefix) {
			labels[i] = "«canary»"
		}
	}
	return strings.Join(labels, ".")
}
