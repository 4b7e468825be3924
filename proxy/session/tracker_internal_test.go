package session

import (
	"os/exec"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("tracker", func() {
	// In a sealed run the namespace's init reaps an exited daemon at once,
	// between the harness reading /proc and opening the daemon's pidfd.
	// Counted as live, such a member would hold the run until its timeout:
	// no pidfd ever reports it.
	It("does not count a member that was reaped before it could be watched", func() {
		cmd := exec.Command("sleep", "60")
		Expect(cmd.Start()).To(Succeed())
		DeferCleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		t, err := newTracker("/proc", "no-marker", cmd.Process.Pid)
		Expect(err).NotTo(HaveOccurred(), "newTracker")
		DeferCleanup(t.close)
		open := t.openPidfd
		t.openPidfd = func(pid, flags int) (int, error) {
			if pid == cmd.Process.Pid {
				Expect(cmd.Process.Kill()).To(Succeed())
				_, _ = cmd.Process.Wait() // reaped: the pid is gone
			}
			return open(pid, flags)
		}

		live, err := t.scan()

		Expect(err).NotTo(HaveOccurred(), "t.scan")
		Expect(live).To(BeEmpty())
		Expect(t.recheck()).NotTo(BeNil(), "the scan asks to look again soon")
	})

	It("counts and watches a member that is alive", func() {
		cmd := exec.Command("sleep", "60")
		Expect(cmd.Start()).To(Succeed())
		DeferCleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		t, err := newTracker("/proc", "no-marker", cmd.Process.Pid)
		Expect(err).NotTo(HaveOccurred(), "newTracker")
		DeferCleanup(t.close)

		live, err := t.scan()

		Expect(err).NotTo(HaveOccurred(), "t.scan")
		Expect(live).To(HaveLen(1))
		Expect(live[0].stat.pid).To(Equal(cmd.Process.Pid))
		Expect(cmd.Process.Kill()).To(Succeed())
		Eventually(t.exits).WithTimeout(10 * time.Second).Should(Receive(Equal(cmd.Process.Pid)))
	})
})
