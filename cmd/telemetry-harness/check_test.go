package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const repoRoot = "../.."

func capturePath(name string) string { return filepath.Join(repoRoot, "fixtures/captures", name) }

var _ = Describe("check", func() {
	var (
		stdout, stderr *bytes.Buffer
		opts           checkOptions
	)

	BeforeEach(func() {
		stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
		opts = checkOptions{Policy: filepath.Join(repoRoot, "policy.yaml"), Scenario: "opt-in-custom-goals"}
	})

	It("exits 0 on a compliant capture and prints every clause's verdict", func() {
		opts.Captures = []string{capturePath("compliant")}
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitOK), stderr.String())
		Expect(stdout.String()).To(HavePrefix("scenario opt-in-custom-goals: 0 findings\nclauses:\n"))
		Expect(stdout.String()).To(ContainSubstring("  passed         goals.standard-only\n"))
		Expect(stdout.String()).To(ContainSubstring("  not-testable   server.retention-1y: a server-side promise: not testable from the client\n"))
		Expect(stderr.String()).To(BeEmpty())
	})

	It("exits 3 and prints one line per finding: clause, exchange, path, message", func() {
		opts.Captures = []string{capturePath("lookalike-host")}
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitViolations))
		Expect(stdout.String()).To(HavePrefix("scenario opt-in-custom-goals: 1 finding\n" +
			"  destination.processor-only [exchange #2] url: request outside the documented endpoint: host spire.bugout.dev.example.net is not spire.bugout.dev\n"))
		Expect(stdout.String()).To(ContainSubstring("  violated       destination.processor-only (1 finding)\n"))
	})

	It("judges a .jsonl file with the canaries given apart", func() {
		opts.Captures = []string{filepath.Join(capturePath("user-raw"), "capture.jsonl")}
		opts.Canaries = filepath.Join(capturePath("user-raw"), "canaries.json")
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitViolations))
		Expect(stdout.String()).To(ContainSubstring("anonymity.no-personal-values [exchange #1] header:User-Agent: the user canary is sent (raw)"))
		Expect(stdout.String()).NotTo(ContainSubstring("malidosekuvala52"), "the canary value is never printed")
		By("without run.json the run-window clause is unobservable, never passed")
		Expect(stdout.String()).To(ContainSubstring("  unobservable   run-id.unique-timestamped: run.json is missing"))
	})

	It("exits 1 when the input lacks the facts a listed clause needs (no canaries.json), naming them", func() {
		dir := GinkgoT().TempDir()
		Expect(os.CopyFS(dir, os.DirFS(capturePath("user-raw")))).To(Succeed())
		Expect(os.Remove(filepath.Join(dir, "canaries.json"))).To(Succeed())
		opts.Scenario = "invalid-repo-id" // lists only clauses this folder could show, given the canaries
		opts.Captures = []string{dir}
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitHarness), "the user name it leaks is unknown: never compliant")
		Expect(stdout.String()).To(ContainSubstring("  not-exercised  anonymity.no-personal-values: no planted value is known: the run folder has no canaries.json (check: give --canaries)\n"))
		Expect(stderr.String()).To(Equal("telemetry-harness: incomplete: scenario invalid-repo-id lists clauses anonymity.no-personal-values, files.no-names, config-env.not-sent but this input did not exercise them (see their reasons): not compliant, not violated\n"))
	})

	It("exits 1 when a clause could not be observed, even without findings", func() {
		opts.Scenario = "opt-out"
		opts.Captures = []string{capturePath("opt-out-tunnel-rejected")}
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitHarness))
		Expect(stdout.String()).To(ContainSubstring("  unobservable   consent.nothing-until-opt-in: the harness could not see inside: exchange #1 is tunnel-rejected to spire.bugout.dev:443\n"))
		Expect(stderr.String()).To(Equal("telemetry-harness: could not observe what clauses consent.nothing-until-opt-in need (see their reasons): not compliant, not violated\n"))
	})

	It("takes a multi-run scenario's folder holding a folder per run", func() {
		opts.Scenario = "repeated-runs"
		opts.Captures = []string{capturePath("repeated-runs-fixed-run-id")}
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitViolations), stderr.String())
		Expect(stdout.String()).To(ContainSubstring("run-id.unique-timestamped [run run-2 exchange #1] $.content.run_id: run_id repeats the one of run run-1\n"))
	})

	It("exits 2 when the number of captures does not match the scenario's runs", func() {
		opts.Scenario = "repeated-runs"
		opts.Captures = []string{capturePath("compliant"), capturePath("compliant")}
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitUsage))
		Expect(stderr.String()).To(HavePrefix("telemetry-harness: usage: scenario repeated-runs has 3 run(s) (run-1, run-2, run-3) but 2 --capture were given\n"))
	})

	It("exits 2 for an unknown scenario, naming the known ones", func() {
		opts.Scenario = "nope"
		opts.Captures = []string{capturePath("compliant")}
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitUsage))
		Expect(stderr.String()).To(ContainSubstring(`scenario "nope" not found in policy`))
		Expect(stderr.String()).To(ContainSubstring("(known: unset, opt-out, opt-in,"))
	})

	It("exits 1 with the file:line:col of a broken policy", func() {
		opts.Policy = filepath.Join(repoRoot, "fixtures/policies/broken/unknown-top-key.yaml")
		opts.Captures = []string{capturePath("compliant")}
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitHarness))
		Expect(stderr.String()).To(ContainSubstring("unknown-top-key.yaml:7:1: telemetry: unknown key"))
		Expect(stdout.String()).To(BeEmpty())
	})

	It("exits 1 for an unreadable capture, a harness error and not a pass", func() {
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "capture.jsonl"), []byte("{\"type\":\"exchange\"}\nnot json\n"), 0o600)).To(Succeed())
		opts.Captures = []string{dir}
		Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitHarness))
		Expect(stderr.String()).To(ContainSubstring("capture.jsonl line 1: exchange record without exchange"))
	})

	Context("integrity chain", func() {
		var dir string
		BeforeEach(func() {
			dir = filepath.Join(GinkgoT().TempDir(), "compliant")
			Expect(os.CopyFS(dir, os.DirFS(capturePath("compliant")))).To(Succeed())
			opts.Captures = []string{dir}
		})

		It("exits 1 naming the file and line of a record changed after it was recorded, a harness error", func() {
			p := filepath.Join(dir, "capture.jsonl")
			b, err := os.ReadFile(p)
			Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
			// Swap the user agent for another of the same length: the
			// capture still parses and would pass without its chain.
			changed := bytes.Replace(b, []byte("python-requests/2.28.1"), []byte("python-requests/2.28.2"), 1)
			Expect(changed).NotTo(Equal(b))
			Expect(os.WriteFile(p, changed, 0o600)).To(Succeed())
			Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitHarness))
			Expect(stderr.String()).To(ContainSubstring(p + " line 1: capture does not match its integrity chain"))
			Expect(stdout.String()).To(BeEmpty(), "nothing is judged on evidence that was changed")
		})

		It("never calls a capture without a chain compliant: its passing clauses are unobservable, exit 1", func() {
			Expect(os.Remove(filepath.Join(dir, "integrity.json"))).To(Succeed())
			Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitHarness))
			Expect(stdout.String()).NotTo(ContainSubstring("  passed "))
			Expect(stdout.String()).To(ContainSubstring("  unobservable   goals.standard-only: " + filepath.Join(dir, "capture.jsonl") + ": no integrity chain: " + dir + " has no integrity.json"))
			Expect(stderr.String()).To(ContainSubstring("could not observe what clauses"))
		})

		It("still reports the violations of a capture without a chain, exit 3", func() {
			dir := filepath.Join(GinkgoT().TempDir(), "user-raw")
			Expect(os.CopyFS(dir, os.DirFS(capturePath("user-raw")))).To(Succeed())
			Expect(os.Remove(filepath.Join(dir, "integrity.json"))).To(Succeed())
			opts.Captures = []string{dir}
			Expect(runCheck(context.Background(), opts, stdout, stderr)).To(Equal(exitViolations))
			Expect(stdout.String()).To(ContainSubstring("  violated       anonymity.no-personal-values"))
		})
	})

	It("exits 2 without --scenario or --capture, through the command table", func() {
		code := run(context.Background(), []string{"check", "--capture", capturePath("compliant")}, stdout, stderr)
		Expect(code).To(Equal(exitUsage))
		Expect(stderr.String()).To(Equal("telemetry-harness: --scenario and --capture are required\nUsage: telemetry-harness " + checkUsage + "\n"))
	})

	It("exits 0 through the command table for a compliant capture", func() {
		code := run(context.Background(), []string{"check", "--policy", filepath.Join(repoRoot, "policy.yaml"), "--scenario", "opt-in-custom-goals", "--capture", capturePath("compliant")}, stdout, stderr)
		Expect(code).To(Equal(exitOK), stderr.String())
	})
})
