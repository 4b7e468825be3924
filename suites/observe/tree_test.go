package observe_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

var _ = Describe("Tree", func() {
	It("keeps every member in wire order, repeated keys too, and opens JSON held in a string as the observation does", func() {
		n, err := observe.Tree([]byte(`{"a":1,"a":"two","b":"{\"c\":[true,null]}","d":[]}`))
		Expect(err).NotTo(HaveOccurred(), "observe.Tree")
		Expect(n.Kind).To(Equal(byte('{')))
		Expect(n.Keys).To(Equal([]string{"a", "a", "b", "d"}), "both values of the repeated key, in order")
		Expect(n.Kids[0].Lit).To(Equal("1"))
		Expect(n.Kids[1]).To(HaveField("Kind", byte('s')))
		Expect(n.Kids[1].Lit).To(Equal("two"))
		inner := n.Kids[2].Inner
		Expect(inner).NotTo(BeNil(), "the string held JSON")
		Expect(inner.Keys).To(Equal([]string{"c"}))
		Expect(inner.Kids[0].Kids).To(HaveLen(2))
		Expect(inner.Kids[0].Kids[1].Lit).To(Equal("null"))
		Expect(n.Kids[3].Kind).To(Equal(byte('[')))
		Expect(n.Kids[3].Kids).To(BeEmpty())
	})

	It("refuses what is not one JSON value", func() {
		_, err := observe.Tree([]byte(`{"k":1},{"k":2}`))
		Expect(err).To(MatchError(ContainSubstring("data after the JSON value")))
		_, err = observe.Tree([]byte(`{"k":`))
		Expect(err).To(HaveOccurred())
	})
})
