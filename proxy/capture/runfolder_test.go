package capture_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("CaptureFile", func() {
	write := func(p string) {
		GinkgoHelper()
		Expect(os.WriteFile(p, nil, 0o644)).To(Succeed(), "writing %s", p)
	}

	It("picks a run folder's capture.jsonl over its capture.har", func() {
		dir := GinkgoT().TempDir()
		write(filepath.Join(dir, capture.HARName))
		write(filepath.Join(dir, capture.JSONLName))
		Expect(capture.CaptureFile(dir)).To(Equal(filepath.Join(dir, "capture.jsonl")))
	})

	It("falls back to capture.har when the folder has no capture.jsonl", func() {
		dir := GinkgoT().TempDir()
		write(filepath.Join(dir, capture.HARName))
		Expect(capture.CaptureFile(dir)).To(Equal(filepath.Join(dir, "capture.har")))
	})

	It("returns a capture file as it is, whatever its name", func() {
		p := filepath.Join(GinkgoT().TempDir(), "saved.har")
		write(p)
		Expect(capture.CaptureFile(p)).To(Equal(p))
	})

	It("names the folder and both file names when the folder holds neither", func() {
		dir := GinkgoT().TempDir()
		write(filepath.Join(dir, capture.RunName))
		_, err := capture.CaptureFile(dir)
		Expect(err).To(MatchError("load capture: " + dir + " holds neither capture.jsonl nor capture.har"))
	})

	It("wraps the error of a path that does not exist", func() {
		_, err := capture.CaptureFile(filepath.Join(GinkgoT().TempDir(), "missing"))
		Expect(err).To(MatchError(os.ErrNotExist))
	})
})
