package capture_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("egress.json", func() {
	It("keeps a sealed run that was not contained apart from one that predates the field", func() {
		dir := GinkgoT().TempDir()
		no := false
		Expect(capture.WriteEgress(dir, &capture.Egress{Sealed: true, Mode: "on", Contained: &no, ContainReason: "clone refused"})).To(Succeed())
		e, err := capture.ReadEgress(dir)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
		Expect(e.Contained).To(HaveValue(BeFalse()))
		Expect(e.ContainReason).To(Equal("clone refused"))

		old := []byte(`{"sealed": true, "mode": "auto", "sink": "sink0 (dummy)"}`)
		Expect(os.WriteFile(filepath.Join(dir, capture.EgressName), old, 0o644)).To(Succeed())
		e, err = capture.ReadEgress(dir)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
		Expect(e.Sealed).To(BeTrue())
		Expect(e.Contained).To(BeNil(), "unknown, not false")
	})
})
