package judge

import (
	"fmt"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// cutReason says why an exchange's body was only partly recorded (past
// the proxy's size limit, or decoded past it: a decompression bomb);
// empty when the whole body is there. What the kept bytes hold was sent,
// so hits in them stand; what the cut hides is unobservable.
func cutReason(ex *capture.Exchange) string {
	b := ex.Body
	switch {
	case b.RawTruncated:
		return fmt.Sprintf("exchange #%d's body was cut at the recording limit (%d bytes sent, the first %d kept)", ex.Seq, b.Size, len(b.Raw))
	case b.Truncated:
		return fmt.Sprintf("exchange #%d's body decoded past the size limit (only the first %d decoded bytes kept)", ex.Seq, len(b.Decoded))
	}
	return ""
}

// prefixSafe are the check kinds whose findings on a cut body are true
// of what was sent (a planted value or a forbidden pattern in the kept
// bytes) or that do not read the body; every other kind would judge the
// cut (the body "is not JSON", a field "is missing": claims the tool did
// not make), so it skips a cut exchange and its clause is unobservable
// through the run's blind list.
var prefixSafe = map[string]bool{
	policy.KindCanaryAbsent:     true,
	policy.KindForbiddenPattern: true,
	policy.KindNothingSent:      true,
	policy.KindNoLogMention:     true,
	policy.KindAllowedHeaders:   true,
	policy.KindDestination:      true,
	policy.KindOneReport:        true,
	policy.KindBackground:       true,
	policy.KindFailureHarmless:  true,
	policy.KindEgress:           true,
}

// skipCut makes a checker of a kind that is not prefixSafe pass over
// exchanges whose body was cut.
func skipCut(kind string, k *checker) *checker {
	if prefixSafe[kind] || k.each == nil {
		return k
	}
	each := k.each
	k.each = func(rv *runView, x *item) {
		if x.o != nil && cutReason(x.ex) != "" {
			return
		}
		each(rv, x)
	}
	return k
}
