package main

import (
	"bytes"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/reports"
)

var _ = Describe("the command table", func() {
	var stdout, stderr *bytes.Buffer

	BeforeEach(func() {
		stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	})

	It("reports a flag error and a command's own usage error the same one way", func(ctx SpecContext) {
		for _, tc := range []struct {
			args  []string
			msg   string
			usage string
		}{
			{[]string{"check", "--no-such-flag"}, "flag provided but not defined: -no-such-flag", checkUsage},
			{[]string{"check", "--scenario", "opt-in"}, "--scenario and --capture are required", checkUsage},
			{[]string{"record", "--timeout", "soon", "--", "true"}, `invalid value "soon" for flag -timeout: parse error`, recordUsage},
			{[]string{"record"}, "no command given; put it after --, e.g. record -- python3 app.py", recordUsage},
			{[]string{"report", "--out", GinkgoT().TempDir()}, "report needs --merge (the only mode so far)", reportUsage},
			{[]string{"replay"}, "replay takes one output folder", "replay [--strict] [--label-filter EXPR] [--scenario NAME]... DIR"},
		} {
			stderr.Reset()
			Expect(run(ctx, tc.args, stdout, stderr)).To(Equal(exitUsage), "%v", tc.args)
			Expect(stderr.String()).To(Equal("telemetry-harness: "+tc.msg+"\nUsage: telemetry-harness "+tc.usage+"\n"), "%v", tc.args)
		}
		Expect(stdout.String()).To(BeEmpty())
	})

	It("prints a command's flags for -h and exits 0", func(ctx SpecContext) {
		Expect(run(ctx, []string{"check", "-h"}, stdout, stderr)).To(Equal(exitOK))
		Expect(stderr.String()).To(HavePrefix("Usage: telemetry-harness " + checkUsage + "\n"))
		Expect(stderr.String()).To(ContainSubstring("-scenario string"))
		Expect(stderr.String()).To(ContainSubstring("-cpuprofile FILE"), "check offers --cpuprofile")
	})

	It("offers --cpuprofile where the table says so, and writes the profile", func(ctx SpecContext) {
		prof := filepath.Join(GinkgoT().TempDir(), "check.cpu")
		code := run(ctx, []string{"check", "--cpuprofile", prof, "--policy", filepath.Join(repoRoot, "policy.yaml"),
			"--scenario", "opt-in-custom-goals", "--capture", capturePath("compliant")}, stdout, stderr)
		Expect(code).To(Equal(exitOK), stderr.String())
		st, err := os.Stat(prof)
		Expect(err).NotTo(HaveOccurred(), "check --cpuprofile must write %s", prof)
		Expect(st.Size()).To(BeNumerically(">", 0), "an empty profile is no profile")

		stderr.Reset()
		Expect(run(ctx, []string{"record", "--cpuprofile", prof, "--", "true"}, stdout, stderr)).To(Equal(exitUsage))
		Expect(stderr.String()).To(HavePrefix("telemetry-harness: flag provided but not defined: -cpuprofile\n"), "record records a tool; it has no profile flag")
	})

	It("takes each overall verdict's exit code from the verdict itself", func() {
		Expect(reports.Compliant.ExitCode()).To(Equal(exitOK))
		Expect(reports.Violations.ExitCode()).To(Equal(exitViolations))
		Expect(reports.Incomplete.ExitCode()).To(Equal(exitHarness))
		Expect(reports.Overall("from-a-newer-harness").ExitCode()).To(Equal(exitHarness), "an unknown verdict never reads as compliant")

		Expect(verdictExit(stderr, reports.Violations)).To(Equal(exitViolations))
		Expect(stderr.String()).To(BeEmpty())
		Expect(verdictExit(stderr, reports.Incomplete)).To(Equal(exitHarness))
		Expect(stderr.String()).To(Equal("telemetry-harness: incomplete: some clauses could not be observed or exercised (see the verdict table); not compliant, not violated\n"))
	})
})
