package capture_test

import (
	"os"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("a capture write that fails", func() {
	It("is returned again by Close, so a disk-full recording ends in an error", func() {
		if _, err := os.Stat("/dev/full"); err != nil {
			Skip("no /dev/full on this system: " + err.Error())
		}
		// A capture file on a full disk: a link to /dev/full in a folder of
		// the test's own (Close writes integrity.json beside it).
		path := filepath.Join(GinkgoT().TempDir(), "capture.jsonl")
		Expect(os.Symlink("/dev/full", path)).To(Succeed())
		w, err := capture.Create(path)
		Expect(err).NotTo(HaveOccurred(), "capture.Create")
		// The proxy only logs this error and goes on serving the tool.
		Expect(w.Exchange(&capture.Exchange{Seq: 1, Kind: capture.KindHTTP})).To(MatchError(syscall.ENOSPC))
		err = w.Close()
		Expect(err).To(MatchError(syscall.ENOSPC))
		Expect(err.Error()).To(ContainSubstring("write capture " + path))
	})
})
