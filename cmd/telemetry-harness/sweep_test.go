package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// runBatchesSweep runs one scenario of fixtures/policies/batches-sweep.yaml
// against fixtures/senders/batches.py with flags, decodes report.json into
// r and returns the exit code.
func runBatchesSweep(scenario, flags string, r any) int {
	GinkgoHelper()
	out := filepath.Join(GinkgoT().TempDir(), "report")
	s := harness("run", "--policy", "fixtures/policies/batches-sweep.yaml", "--scenario", scenario,
		"--tool", strings.TrimSpace("python3 fixtures/senders/batches.py "+flags), "--out", out)
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	Expect(err).NotTo(HaveOccurred(), "report.json of scenario %s", scenario)
	Expect(json.Unmarshal(b, r)).To(Succeed())
	return s.ExitCode()
}

// fixtures/senders/batches.py reads BATCHES_REGION and BATCHES_MODE, which
// no scenario plants; fixtures/policies/batches.yaml's env-sweep scenario
// must find them from the sender's own code.
var _ = Describe("run with an environment sweep", Label("integration"), func() {
	type sweepReport struct {
		Summary string   `json:"summary"`
		Swept   int      `json:"swept"`
		Runs    int      `json:"runs"`
		Changed []string `json:"changed"`
	}
	type report struct {
		Verdict string `json:"verdict"`
		Clauses []struct {
			ID       string `json:"id"`
			Verdict  string `json:"verdict"`
			Findings []struct {
				Message string `json:"message"`
			} `json:"findings"`
		} `json:"clauses"`
		Scenarios []struct {
			Sweep *sweepReport `json:"sweep"`
		} `json:"scenarios"`
	}
	sweep := func(flags string) (int, report) {
		GinkgoHelper()
		var r report
		code := runBatchesSweep("env-sweep", flags, &r)
		Expect(r.Scenarios).To(HaveLen(1))
		Expect(r.Scenarios[0].Sweep).NotTo(BeNil(), "the report says what was swept")
		return code, r
	}
	clause := func(r report, id string) (string, []string) {
		for _, c := range r.Clauses {
			if c.ID == id {
				var msgs []string
				for _, f := range c.Findings {
					msgs = append(msgs, f.Message)
				}
				return c.Verdict, msgs
			}
		}
		Fail("no clause " + id)
		return "", nil
	}

	It("finds a variable only the tool's code names, and names it", func() {
		code, r := sweep("--leak-env")
		Expect(code).To(Equal(exitViolations))
		v, msgs := clause(r, "env.not-collected")
		Expect(v).To(Equal("violated"))
		Expect(msgs).To(ContainElement("the env-sweep:BATCHES_REGION canary is sent (raw)"))
		sw := r.Scenarios[0].Sweep
		Expect(sw.Summary).To(ContainSubstring("3 from python"), "BATCHES_REGION, BATCHES_MODE, BATCHES_DEBUG")
		Expect(sw.Swept).To(BeNumerically(">", 50), "the families are swept too")
	})

	It("passes a sender that reads the variable but keeps it", func() {
		_, r := sweep("")
		v, msgs := clause(r, "env.not-collected")
		Expect(v).To(Equal("passed"), "%v", msgs)
		Expect(r.Scenarios[0].Sweep.Runs).To(Equal(1))
	})

	It("reports a variable whose planting changes the tool's behaviour, and sweeps again without it", func() {
		code, r := sweep("--strict-mode --leak-env")
		Expect(code).To(Equal(exitViolations), "the leak is still found in the sweep without the breaking variable")
		sw := r.Scenarios[0].Sweep
		Expect(sw.Changed).To(ConsistOf("BATCHES_MODE: exited 2 instead of succeeding (its output names it)"))
		Expect(sw.Runs).To(Equal(3), "the full sweep, one without any swept variable, one without BATCHES_MODE")
	})
})

// fixtures/senders/batches.py --leak-config sends the profile names of
// batches.json, the names the user chose: the config-sweep scenario of
// fixtures/policies/batches-sweep.yaml plants one and must find it.
var _ = Describe("run with a config sweep", Label("integration"), func() {
	type report struct {
		Clauses []struct {
			ID       string `json:"id"`
			Verdict  string `json:"verdict"`
			Findings []struct {
				Message string `json:"message"`
			} `json:"findings"`
		} `json:"clauses"`
		Scenarios []struct {
			Sweep *struct {
				Summary string   `json:"summary"`
				Runs    int      `json:"runs"`
				Changed []string `json:"changed"`
			} `json:"sweep"`
		} `json:"scenarios"`
	}
	sweep := func(flags string) (int, report, string, []string) {
		GinkgoHelper()
		var r report
		code := runBatchesSweep("config-sweep", flags, &r)
		Expect(r.Scenarios).To(HaveLen(1))
		Expect(r.Scenarios[0].Sweep).NotTo(BeNil(), "the report says what was swept")
		for _, c := range r.Clauses {
			if c.ID == "config.not-collected" {
				var msgs []string
				for _, f := range c.Findings {
					msgs = append(msgs, f.Message)
				}
				return code, r, c.Verdict, msgs
			}
		}
		Fail("no clause config.not-collected")
		return 0, r, "", nil
	}

	It("finds a config key the user chose, and names the file and object it was planted in", func() {
		code, r, v, msgs := sweep("--leak-config")
		Expect(code).To(Equal(exitViolations))
		Expect(v).To(Equal("violated"))
		Expect(msgs).To(ConsistOf("the config-sweep:batches.json:$.profiles{} canary is sent (raw)"))
		Expect(r.Scenarios[0].Sweep.Summary).To(Equal("config sweep: 4 values and member names planted in batches.json"),
			"3 string values and 1 profile name")
	})

	It("passes a sender that reads no config", func() {
		_, r, v, msgs := sweep("")
		Expect(v).To(Equal("passed"), "%v", msgs)
		Expect(r.Scenarios[0].Sweep.Runs).To(Equal(1))
	})

	It("reports a config value whose planting changes the tool's behaviour, found by bisection, and sweeps again without it", func() {
		code, r, v, _ := sweep("--strict-config --leak-config")
		Expect(code).To(Equal(exitViolations))
		Expect(v).To(Equal("violated"), "the leak is still found in the sweep without the breaking value")
		Expect(r.Scenarios[0].Sweep.Changed).To(ConsistOf("batches.json:$.output: exited 2 instead of succeeding"))
	})
})

// The debug scenario of fixtures/policies/batches-sweep.yaml runs the
// sender's "show me what you collect" mode (BATCHES_DEBUG=1).
var _ = Describe("run a diagnostic-mode scenario", Label("integration"), func() {
	type report struct {
		Clauses []struct {
			ID      string `json:"id"`
			Verdict string `json:"verdict"`
		} `json:"clauses"`
		Scenarios []struct {
			Diagnostic string `json:"diagnostic"`
		} `json:"scenarios"`
	}
	debug := func(flags string) (int, report) {
		GinkgoHelper()
		var r report
		code := runBatchesSweep("debug", flags, &r)
		Expect(r.Scenarios).To(HaveLen(1))
		return code, r
	}

	It("says the mode sends, and that what it prints is what it sends", func() {
		_, r := debug("")
		Expect(r.Scenarios[0].Diagnostic).To(Equal("the diagnostic mode sends: 2 request(s) with 4 event(s); it printed 4; what it prints is what it sends"))
	})

	It("compares a mode that only prints with what another scenario sent, kind by kind", func() {
		out := filepath.Join(GinkgoT().TempDir(), "report")
		for _, flags := range []string{"", "--debug-hides-task"} {
			harness("run", "--policy", "fixtures/policies/batches-sweep.yaml", "--scenario", "env-sweep", "--scenario", "debug-print-only",
				"--tool", strings.TrimSpace("python3 fixtures/senders/batches.py "+flags), "--out", out)
			b, err := os.ReadFile(filepath.Join(out, "report.json"))
			Expect(err).NotTo(HaveOccurred(), "read report.json")
			var r struct {
				Scenarios []struct {
					Name       string `json:"name"`
					Diagnostic string `json:"diagnostic"`
				} `json:"scenarios"`
			}
			Expect(json.Unmarshal(b, &r)).To(Succeed())
			Expect(r.Scenarios).To(ContainElement(HaveField("Diagnostic", Equal(map[string]string{
				"":                   "the diagnostic mode sent nothing; it printed 4 event(s); scenario env-sweep sent 4 event(s) of the same kinds as it prints",
				"--debug-hides-task": "the diagnostic mode sent nothing; it printed 3 event(s); scenario env-sweep sent 4 event(s); kinds sent there but never printed: task",
			}[flags]))), "flags %q", flags)
		}
	})

	It("catches a leak only the debug mode sends, and the event it did not print", func() {
		code, r := debug("--leak-in-debug")
		Expect(code).To(Equal(exitViolations))
		Expect(r.Clauses).To(ContainElement(SatisfyAll(
			HaveField("ID", "anonymity.no-user"), HaveField("Verdict", "violated"))))
		Expect(r.Scenarios[0].Diagnostic).To(ContainSubstring("1 event(s) sent were not printed"))
	})
})
