package realtools_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/compliance"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// repoRoot is the repository root, which policies/ and fixtures/ hang off.
const repoRoot = "../.."

// want is one verdict written down by hand: the promise read beside the
// captured evidence of a run of the real client.
type want struct {
	Scenario, Clause string
	Verdict          judge.Verdict
	// Why is the one-line reason, from the evidence.
	Why string
	// Evidence are substrings that some finding of the clause must hold
	// (a path, a role, a form); only for violated verdicts.
	Evidence []string
}

// realTool is one npm-installed telemetry client and what the harness must
// conclude about it.
type realTool struct {
	Name string
	// Policy is the policy file, relative to the repository root.
	Policy string
	// Dir is the tool's folder in the npm cache (install-npm-targets.sh).
	Dir string
	// Bin is the executable under <Dir>/node_modules/.bin.
	Bin string
	// Tool returns the --tool command for the tool installed in dir.
	Tool func(dir string) string
	// Differential runs the policy with run --differential, for verdicts
	// only the differential runs can reach (an id derived from a planted
	// value by a transform the canary search cannot invert).
	Differential bool
	Want         []want
}

// npmCache finds the folder install-npm-targets.sh installed into.
func npmCache() (string, bool) {
	var cands []string
	if d := os.Getenv("TELEMETRY_HARNESS_NPM_CACHE"); d != "" {
		cands = append(cands, d)
	}
	cands = append(cands, "/var/cache/telemetry-harness/npm")
	if d, err := os.UserCacheDir(); err == nil {
		cands = append(cands, filepath.Join(d, "telemetry-harness", "npm"))
	}
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c, true
		}
	}
	return strings.Join(cands, ", "), false
}

// artifacts is where a tool's output folder is kept.
func artifacts(tool string) string {
	base := os.Getenv("TELEMETRY_HARNESS_ARTIFACTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "telemetry-harness-artifacts")
	}
	return filepath.Join(base, "realtools", tool)
}

// describeTool runs the tool through every scenario of its policy once, then
// checks each written-down verdict.
func describeTool(rt realTool) bool {
	return Describe(rt.Name, Ordered, Label(rt.Name), func() {
		var (
			out    string
			p      *policy.Policy
			judged map[string]*judge.Result
		)
		BeforeAll(func(ctx SpecContext) {
			if _, err := exec.LookPath("node"); err != nil {
				Skip("node is not installed: the npm targets need Node.js 20 (apt-get install nodejs npm)")
			}
			cache, ok := npmCache()
			bin := filepath.Join(cache, rt.Dir, "node_modules", ".bin", rt.Bin)
			if _, err := os.Stat(bin); !ok || err != nil {
				Skip(fmt.Sprintf("%s is not installed (looked in %s): run scripts/install-npm-targets.sh, which needs the npm registry, or set TELEMETRY_HARNESS_NPM_CACHE", rt.Bin, cache))
			}
			Expect(cliPath).NotTo(BeEmpty(), "the CLI was not built")
			var err error
			p, err = policy.Load(filepath.Join(repoRoot, rt.Policy))
			Expect(err).NotTo(HaveOccurred(), "loading %s", rt.Policy)

			out, err = filepath.Abs(artifacts(rt.Name))
			Expect(err).NotTo(HaveOccurred(), "filepath.Abs")
			Expect(os.MkdirAll(filepath.Dir(out), 0o755)).To(Succeed())
			AddReportEntry("output folder", out)
			args := []string{"run", "--policy", rt.Policy, "--tool", rt.Tool(filepath.Join(cache, rt.Dir)), "--out", out, "--timeout", "5m"}
			if rt.Differential {
				args = append(args, "--differential")
			}
			cmd := exec.CommandContext(ctx, cliPath, args...)
			cmd.Dir = repoRoot
			cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
			err = cmd.Run()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				Fail(fmt.Sprintf("running %s: %v", cmd, err))
			}
			// 0 compliant, 3 violations; 1 is a harness error or an
			// incomplete run, which no written-down verdict can stand on.
			Expect(cmd.ProcessState.ExitCode()).To(BeElementOf(0, 3), "telemetry-harness run exit code (output in %s)", out)

			judged = map[string]*judge.Result{}
			for i := range p.Scenarios {
				sc := &p.Scenarios[i]
				res, err := compliance.JudgeDirs(p, sc, compliance.ScenarioDirs(sc, out))
				Expect(err).NotTo(HaveOccurred(), "judging scenario %s from %s", sc.Name, out)
				judged[sc.Name] = res
			}
		}, NodeTimeout(20*time.Minute))

		It("keeps report.json, report.html, report.sarif and junit.xml in the output folder", func() {
			for _, f := range []string{"report.json", "report.html", "report.sarif", "junit.xml"} {
				Expect(filepath.Join(out, f)).To(BeAnExistingFile(), "report %s in %s", f, out)
			}
		})

		It("has a written-down verdict for every clause of every scenario", func() {
			have := map[string]bool{}
			for _, w := range rt.Want {
				have[w.Scenario+"/"+w.Clause] = true
			}
			var missing []string
			for _, sc := range p.Scenarios {
				for _, c := range sc.Clauses {
					if !have[sc.Name+"/"+c] {
						missing = append(missing, sc.Name+"/"+c)
					}
				}
			}
			Expect(missing).To(BeEmpty(), "scenario/clause pairs of %s without an expected verdict", rt.Policy)
		})

		// Durations are measured and reported (docs/real-tools.md), never
		// asserted: a loaded CI machine must not turn a timing into a red run.
		It("records each scenario's duration", func() {
			for _, sc := range p.Scenarios {
				for _, d := range compliance.ScenarioDirs(&sc, out) {
					r, err := capture.ReadRun(d)
					Expect(err).NotTo(HaveOccurred(), "run.json of %s", d)
					AddReportEntry(sc.Name+" duration", r.Duration().Round(time.Millisecond).String())
					fmt.Fprintf(GinkgoWriter, "%s: %s\n", d, r.Duration().Round(time.Millisecond))
				}
			}
		})

		for _, w := range rt.Want {
			It(fmt.Sprintf("%s in %s is %s: %s", w.Clause, w.Scenario, w.Verdict, w.Why), func() {
				res, ok := judged[w.Scenario]
				Expect(ok).To(BeTrue(), "scenario %s judged", w.Scenario)
				cr, ok := res.Clause(w.Clause)
				Expect(ok).To(BeTrue(), "clause %s in the result of %s", w.Clause, w.Scenario)
				var found []string
				for _, f := range res.Findings {
					if f.Clause == w.Clause {
						found = append(found, f.String())
					}
				}
				Expect(cr.Verdict).To(Equal(w.Verdict), "verdict of %s in %s (reason %q); findings:\n%s\nevidence in %s",
					w.Clause, w.Scenario, cr.Reason, strings.Join(found, "\n"), filepath.Join(out, w.Scenario))
				for _, e := range w.Evidence {
					Expect(found).To(ContainElement(ContainSubstring(e)), "a finding of %s in %s citing %q", w.Clause, w.Scenario, e)
				}
				if w.Verdict == judge.Passed {
					Expect(found).To(BeEmpty())
				}
			})
		}
	})
}

// npmTool is the --tool command for Next.js, Astro and Storybook: fixtures/npm/bin/npm-tool
// links the cache's node_modules into the run's copy, then runs bin.
func npmTool(bin string) func(string) string {
	return func(dir string) string {
		return "fixtures/npm/bin/npm-tool " + dir + " " + bin
	}
}
