package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// fixtures/senders/batches.py drops its last batch (the custom task's
// event) as a cancelled send would; fixtures/policies/batches.yaml says
// names.not-collected needs that event and allows 3 best-effort attempts.
var _ = Describe("run with best-effort delivery", Label("integration"), func() {
	type scenarioReport struct {
		Name     string   `json:"name"`
		Dirs     []string `json:"dirs"`
		Attempts int      `json:"attempts"`
		Retries  []string `json:"retries"`
		Missing  []string `json:"missing"`
	}
	type report struct {
		Verdict   string           `json:"verdict"`
		Scenarios []scenarioReport `json:"scenarios"`
	}
	readReport := func(out string) report {
		GinkgoHelper()
		b, err := os.ReadFile(filepath.Join(out, "report.json"))
		Expect(err).NotTo(HaveOccurred(), "report.json in %s", out)
		var r report
		Expect(json.Unmarshal(b, &r)).To(Succeed())
		Expect(r.Scenarios).To(HaveLen(1))
		return r
	}
	run := func(drop, out string) int {
		GinkgoHelper()
		s := harness("run", "--policy", "fixtures/policies/batches.yaml",
			"--tool", "python3 fixtures/senders/batches.py --drop "+drop, "--out", out)
		return s.ExitCode()
	}

	It("attempts again until the evidence arrived, judges every attempt, and says why", func() {
		tmp := GinkgoT().TempDir()
		out := filepath.Join(tmp, "report")
		Expect(run("first=2:"+filepath.Join(tmp, "count"), out)).To(Equal(exitOK))
		r := readReport(out)
		sc := r.Scenarios[0]
		Expect(sc.Attempts).To(Equal(3))
		Expect(sc.Dirs).To(Equal([]string{"custom-task", "custom-task/attempt-2", "custom-task/attempt-3"}))
		Expect(sc.Retries).To(HaveLen(2))
		Expect(sc.Retries[0]).To(ContainSubstring("attempt 1 of 3: the task event of the custom task (evidence custom-task-event) never arrived"))
		Expect(sc.Missing).To(BeEmpty())

		By("replaying the output folder: the same verdict from the same attempts")
		s := harness("replay", out)
		Expect(s.ExitCode()).To(Equal(exitOK))
	})

	It("stops after one attempt when the evidence arrived", func() {
		out := filepath.Join(GinkgoT().TempDir(), "report")
		Expect(run("never", out)).To(Equal(exitOK))
		sc := readReport(out).Scenarios[0]
		Expect(sc.Attempts).To(BeZero(), "one attempt is not reported as attempts")
		Expect(sc.Dirs).To(Equal([]string{"custom-task"}))
	})

	It("is incomplete, never compliant, when no attempt delivered the evidence", func() {
		out := filepath.Join(GinkgoT().TempDir(), "report")
		Expect(run("always", out)).To(Equal(exitHarness))
		r := readReport(out)
		Expect(r.Verdict).To(Equal("incomplete"))
		sc := r.Scenarios[0]
		Expect(sc.Attempts).To(Equal(3))
		Expect(sc.Missing).To(ConsistOf(ContainSubstring("evidence custom-task-event")))
	})

	It("keeps its verdict when the sender drops its last batch at random", func() {
		// Half the sends are lost: over 3 attempts an unlucky run (1 in 8)
		// is incomplete, never a wrong pass; the verdict is one of the two.
		out := filepath.Join(GinkgoT().TempDir(), "report")
		code := run("random", out)
		Expect(code).To(BeElementOf(exitOK, exitHarness))
		r := readReport(out)
		if code == exitHarness {
			Expect(r.Scenarios[0].Missing).NotTo(BeEmpty(), "incomplete only for the missing evidence")
		} else {
			Expect(r.Scenarios[0].Missing).To(BeEmpty())
		}
	})
})
