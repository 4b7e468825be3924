package matchers

import (
	"fmt"
	"strings"

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
