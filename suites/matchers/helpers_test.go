package matchers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
)

const root = "../.."

// to and notTo return the failures an assertion reported: none when it
// passed.
func to(actual any, m types.GomegaMatcher) []string {
	return InterceptGomegaFailures(func() { Expect(actual).To(m) })
}

func notTo(actual any, m types.GomegaMatcher) []string {
	return InterceptGomegaFailures(func() { Expect(actual).NotTo(m) })
}

// bothFail asserts that a matcher errs, so neither To nor NotTo passes, and
// returns the error text (the same under both).
func bothFail(actual any, m types.GomegaMatcher) string {
	GinkgoHelper()
	pos, neg := to(actual, m), notTo(actual, m)
	Expect(pos).To(HaveLen(1), "To must fail on bad input")
	Expect(neg).To(HaveLen(1), "NotTo must fail on bad input")
	Expect(neg[0]).To(Equal(pos[0]), "the error reads the same under To and NotTo")
	return pos[0]
}
