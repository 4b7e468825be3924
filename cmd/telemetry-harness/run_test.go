package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

var _ = Describe("run", func() {
	var stdout, stderr *bytes.Buffer

	BeforeEach(func() {
		stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	})

	It("says in one line when the tool is not found, before any scenario runs", func(ctx SpecContext) {
		out := filepath.Join(GinkgoT().TempDir(), "report")
		code := runRun(ctx, runOptions{Tool: "no-such-tool-4711 --flag", Out: out, Parallel: 1}, stdout, stderr)

		Expect(code).To(Equal(exitHarness))
		Expect(strings.TrimSpace(stderr.String())).To(Equal(
			`telemetry-harness: tool "no-such-tool-4711" not found: install it, or give its full path in --tool`))
		Expect(out).NotTo(BeADirectory(), "nothing was started")
	})

	It("rejects a --tool it cannot split into words", func(ctx SpecContext) {
		code := runRun(ctx, runOptions{Tool: `python3 "unterminated`, Out: GinkgoT().TempDir()}, stdout, stderr)

		Expect(code).To(Equal(exitUsage))
		Expect(stderr.String()).To(ContainSubstring("--tool"))
	})

	It("asks for --tool when a policy other than the bundled one has no reference beside it", func(ctx SpecContext) {
		pol, err := filepath.Abs(filepath.Join(repoRoot, "policies", "storybook.yaml"))
		Expect(err).NotTo(HaveOccurred(), "filepath.Abs")
		out := filepath.Join(GinkgoT().TempDir(), "report")
		code := runRun(ctx, runOptions{Policy: pol, Out: out}, stdout, stderr)

		Expect(code).To(Equal(exitUsage))
		Expect(stderr.String()).To(ContainSubstring("no --tool given"))
		Expect(out).NotTo(BeADirectory(), "nothing was started")
	})

	It("rejects a --tool that holds no command, naming the flag rather than printing a nil error", func(ctx SpecContext) {
		code := runRun(ctx, runOptions{Tool: `# only a comment`, Out: GinkgoT().TempDir()}, stdout, stderr)

		Expect(code).To(Equal(exitUsage))
		Expect(stderr.String()).To(ContainSubstring(`--tool "# only a comment" names no command`))
		Expect(stderr.String()).NotTo(ContainSubstring("<nil>"))
	})
})

var _ = Describe("run --keep", Label("integration"), func() {
	It("prints a rerun line that replays the tool by hand under record, in sink mode", func() {
		out := filepath.Join(GinkgoT().TempDir(), "report")
		s := harness("run", "--scenario", "opt-in", "--keep", "--out", out)
		Expect(s.ExitCode()).To(Equal(exitHarness), "one scenario leaves other clauses unexercised: incomplete, no violation")

		// The line after "kept ...; rerun the tool by hand" is the command.
		var line string
		lines := strings.Split(string(s.Err.Contents()), "\n")
		for i, l := range lines {
			if strings.Contains(l, "rerun the tool by hand") && i+1 < len(lines) {
				line = strings.TrimSpace(lines[i+1])
			}
		}
		Expect(line).To(ContainSubstring(" record --out "), "the rerun goes through record, never straight to the network")
		Expect(line).NotTo(ContainSubstring("HTTPS_PROXY"), "no stale proxy address from the finished run")
		workdir := strings.TrimPrefix(strings.Fields(line)[1], "'")
		DeferCleanup(os.RemoveAll, filepath.Dir(filepath.Dir(strings.TrimSuffix(workdir, "'"))))

		rerun := exec.Command("/bin/sh", "-c", line)
		got, err := rerun.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "rerun line: %s\n%s", line, got)
		Expect(string(got)).To(ContainSubstring("https://spire.bugout.dev/humbug/reports"), "the rerun's report was recorded by the sink")
		Expect(filepath.Join(out, "opt-in", "rerun", "capture.jsonl")).To(BeARegularFile())
	})

	It("passes --no-keylog to every sealed run", func() {
		if err := netwatch.Available(); err != nil {
			Skip("sealed namespaces unavailable here: " + err.Error())
		}
		with, without := filepath.Join(GinkgoT().TempDir(), "with"), filepath.Join(GinkgoT().TempDir(), "without")
		harness("run", "--scenario", "opt-in", "--seal", "on", "--out", with)
		harness("run", "--scenario", "opt-in", "--seal", "on", "--no-keylog", "--out", without)

		Expect(filepath.Join(with, "opt-in", capture.KeyLogName)).To(BeARegularFile(), "a sealed run keeps its TLS secrets by default")
		Expect(filepath.Join(without, "opt-in", capture.PcapName)).To(BeARegularFile(), "the run was sealed")
		Expect(filepath.Join(without, "opt-in", capture.KeyLogName)).NotTo(BeAnExistingFile())
	})
})

var _ = Describe("run --differential", Label("integration"), func() {
	It("reruns a sending scenario and finds the keyed leak that the plain run passes", func() {
		xor := "python3 fixtures/reference/pants.py --ref-mutant=leak-keyed-xor"
		plain, diff := filepath.Join(GinkgoT().TempDir(), "plain"), filepath.Join(GinkgoT().TempDir(), "diff")
		p := harness("run", "--tool", xor, "--scenario", "opt-in-custom-goals", "--out", plain)
		Expect(p.ExitCode()).To(Equal(exitHarness), "one scenario: incomplete, and no violation without the differential")

		d := harness("run", "--tool", xor, "--scenario", "opt-in-custom-goals", "--differential", "--out", diff)
		Expect(d.ExitCode()).To(Equal(exitViolations))
		Expect(string(d.Out.Contents())).To(ContainSubstring("$.content.platform: differential: the value repeats with identical inputs but changes when the value of the planted role user is replaced"))
		for _, sub := range []string{capture.SameDir, capture.ReplacedDir} {
			Expect(filepath.Join(diff, "opt-in-custom-goals", capture.DifferentialDir, sub, capture.JSONLName)).To(BeARegularFile())
		}

		// replay judges the same folders again, the same way.
		r := harness("replay", diff)
		Expect(r.ExitCode()).To(Equal(exitViolations))
		Expect(string(r.Out.Contents())).To(ContainSubstring("planted role user is replaced"))
	})
})
