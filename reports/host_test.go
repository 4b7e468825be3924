package reports_test

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/reports"
)

var _ = Describe("host facts in the reports", func() {
	// pin writes host facts into a fixture run's run.json, as a scenario
	// with a host block leaves them.
	pin := func(dir string, h capture.Host) {
		GinkgoHelper()
		run, err := capture.ReadRun(dir)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadRun")
		run.Host = &h
		Expect(capture.WriteRun(dir, run)).To(Succeed())
	}

	It("lists the facts each run was given, and says which were not applied and what the host showed", func() {
		out := outputFolder("opt-out", "opt-in-custom-goals")
		pin(filepath.Join(out, "opt-out"), capture.Host{Container: "docker", CI: "github-actions", TTY: true, Locale: "C.UTF-8", Timezone: "UTC"})
		pin(filepath.Join(out, "opt-in-custom-goals"), capture.Host{Container: "none", CI: "none", Locale: "C.UTF-8", Timezone: "UTC",
			NotApplied: []string{"container: the run was not sealed (seal off)"}, HostShows: []string{"/.dockerenv exists"}})
		r, _ := judgeFolder(out, "opt-out", "opt-in-custom-goals")

		md := string(render(reports.Markdown, r))
		Expect(md).To(ContainSubstring("## Host facts"))
		Expect(md).To(ContainSubstring("| opt-out | container docker, CI github-actions, a terminal, locale C.UTF-8, time zone UTC |"))
		Expect(md).To(ContainSubstring("| opt-in-custom-goals | container none, CI none, no terminal, locale C.UTF-8, time zone UTC; NOT APPLIED: container: the run was not sealed (seal off); the host showed the tool /.dockerenv exists |"))

		html := string(render(reports.HTML, r))
		Expect(html).To(ContainSubstring("host: container docker, CI github-actions, a terminal"))
		Expect(html).To(ContainSubstring("NOT APPLIED: container: the run was not sealed"))

		b := jsonOf(r)
		Expect(validate(compile("report.schema.json", true), b)).To(Succeed())
		Expect(string(b)).To(ContainSubstring(`"not_applied"`))
	})

	It("adds nothing for runs that pinned no host (the golden files' runs)", func() {
		out := outputFolder("opt-out")
		r, _ := judgeFolder(out, "opt-out")
		Expect(string(render(reports.Markdown, r))).NotTo(ContainSubstring("Host facts"))
		Expect(strings.Contains(string(render(reports.HTML, r)), "host: ")).To(BeFalse())
		_, err := os.Stat(filepath.Join(out, "opt-out", capture.RunName))
		Expect(err).NotTo(HaveOccurred(), "the fixture has a run.json, just no host in it")
	})
})
