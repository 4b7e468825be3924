package judge_test

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// Specs of issue #14's "every byte judged" rows (docs/threat-model.md).
var _ = Describe("every byte judged", func() {
	It("quotes every name of a fronted request's destination (CONNECT, SNI, Host, URL)", func() {
		p := loadPolicy("policy.yaml")
		res := judgeFolders(p, "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/connect-fronted"))
		cr, ok := res.Clause("destination.processor-only")
		Expect(ok).To(BeTrue())
		Expect(cr.Verdict).To(Equal(judge.Violated))
		var msgs []string
		for _, f := range res.Findings {
			if f.Clause == "destination.processor-only" {
				msgs = append(msgs, f.Message)
			}
		}
		Expect(msgs).To(ContainElement(SatisfyAll(
			ContainSubstring("CONNECT metrics.example.com:443"),
			ContainSubstring("SNI metrics.example.com"),
			ContainSubstring("Host: spire.bugout.dev"),
			ContainSubstring("URL spire.bugout.dev:443"),
			ContainSubstring("each must be spire.bugout.dev:443"),
		)))
	})
})
