package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// postPy posts one report with urllib through HTTPS_PROXY, and refuses to
// send anywhere but a loopback proxy.
const postPy = `
import sys, urllib.request
proxy = urllib.request.getproxies().get("https", "")
if not proxy.startswith("http://127.0.0.1:"):
    sys.exit("refusing to send: https proxy is %r" % proxy)
req = urllib.request.Request("https://spire.bugout.dev/humbug/reports", data=b'{"title":"run"}', method="POST")
print("sent", urllib.request.urlopen(req, timeout=10).status)
`

var _ = Describe("record", func() {
	var (
		stdout, stderr *bytes.Buffer
		out            string
	)

	BeforeEach(func() {
		stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
		out = filepath.Join(GinkgoT().TempDir(), "run")
	})

	lines := func(b *bytes.Buffer) []string { return strings.Split(strings.TrimSpace(b.String()), "\n") }

	It("is a usage error without a command", func(ctx SpecContext) {
		code := run(ctx, []string{"record", "--out", out}, stdout, stderr)

		Expect(code).To(Equal(exitUsage))
		Expect(stderr.String()).To(HavePrefix("telemetry-harness: no command given; put it after --"))
		Expect(stderr.String()).To(ContainSubstring("Usage: telemetry-harness record "))
		Expect(out).NotTo(BeADirectory())
	})

	It("is a usage error for a bad duration", func(ctx SpecContext) {
		code := run(ctx, []string{"record", "--timeout", "soon", "--", "true"}, stdout, stderr)

		Expect(code).To(Equal(exitUsage))
		Expect(stderr.String()).To(ContainSubstring(`invalid value "soon" for flag -timeout`))
	})

	It("is a usage error for a timeout that is not positive", func(ctx SpecContext) {
		code := runRecord(ctx, recordOptions{out: out, argv: []string{"true"}}, stdout, stderr)

		Expect(code).To(Equal(exitUsage))
		Expect(stderr.String()).To(ContainSubstring("--timeout 0s: must be positive"))
	})

	It("says in one line when the command is not found, before starting anything", func(ctx SpecContext) {
		code := runRecord(ctx, recordOptions{out: out, timeout: time.Minute, argv: []string{"no-such-tool-4711", "lint"}}, stdout, stderr)

		Expect(code).To(Equal(exitHarness))
		Expect(lines(stderr)).To(Equal([]string{
			`telemetry-harness: command "no-such-tool-4711" not found in PATH; install it or give its full path; nothing was started`,
		}))
		Expect(out).NotTo(BeADirectory())
	})

	It("says in one line when the run folder cannot be written", func(ctx SpecContext) {
		file := filepath.Join(GinkgoT().TempDir(), "a-file")
		Expect(os.WriteFile(file, nil, 0o644)).To(Succeed())
		out = filepath.Join(file, "run")

		code := runRecord(ctx, recordOptions{out: out, timeout: time.Minute, argv: []string{"true"}}, stdout, stderr)

		Expect(code).To(Equal(exitHarness))
		Expect(lines(stderr)).To(Equal([]string{
			"telemetry-harness: cannot write the run folder " + out + ": not a directory; choose another --out",
		}))
	})

	It("records a command's requests, prints them and the command's status", func(ctx SpecContext) {
		code := runRecord(ctx, recordOptions{out: out, timeout: 30 * time.Second, argv: []string{"python3", "-c", postPy}}, stdout, stderr)

		Expect(code).To(Equal(exitOK), "stderr: %s", stderr)
		Expect(stdout.String()).To(ContainSubstring("sent 200\n"), "the command's output is passed through")
		Expect(stdout.String()).To(MatchRegexp(`SEQ\s+METHOD\s+URL\s+BODY\s+STATUS\n1\s+POST\s+https://spire\.bugout\.dev/humbug/reports\s+15\s+200\n`))
		Expect(stderr.String()).To(ContainSubstring("python3 exited with status 0; 1 request(s) recorded in " + out))
		for _, f := range []string{capture.JSONLName, capture.RunName, "stdout", "stderr"} {
			Expect(filepath.Join(out, f)).To(BeAnExistingFile())
		}
	}, SpecTimeout(40*time.Second))

	It("exits 0 and reports the status when the command itself fails", func(ctx SpecContext) {
		code := runRecord(ctx, recordOptions{out: out, timeout: 30 * time.Second, argv: []string{"sh", "-c", "exit 4"}}, stdout, stderr)

		Expect(code).To(Equal(exitOK))
		Expect(stderr.String()).To(ContainSubstring("sh exited with status 4"))
		run, err := capture.ReadRun(out)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadRun")
		Expect(run.ExitCode).To(Equal(4))
	}, SpecTimeout(30*time.Second))

	It("says what to do when the command times out, and keeps the capture", func(ctx SpecContext) {
		code := runRecord(ctx, recordOptions{out: out, timeout: 500 * time.Millisecond, argv: []string{"sleep", "100"}}, stdout, stderr)

		Expect(code).To(Equal(exitHarness))
		Expect(lines(stderr)[len(lines(stderr))-1]).To(Equal("telemetry-harness: sleep timed out after 500ms: killed 1 process(es) (see " +
			filepath.Join(out, "run.json") + "); the capture so far is kept in " + out +
			"; raise --timeout, or use --idle-stop DUR for a tool that leaves a daemon running"))
		Expect(filepath.Join(out, capture.JSONLName)).To(BeAnExistingFile())
	}, SpecTimeout(30*time.Second))

	It("names a new run folder after the time, numbered when taken", func() {
		dir := GinkgoT().TempDir()
		now := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
		wd, err := os.Getwd()
		Expect(err).NotTo(HaveOccurred(), "os.Getwd")
		Expect(os.Chdir(dir)).To(Succeed())
		DeferCleanup(os.Chdir, wd)

		Expect(defaultRunFolder(now)).To(Equal("telemetry-capture-20260504-030201"))
		Expect(os.Mkdir("telemetry-capture-20260504-030201", 0o755)).To(Succeed())
		Expect(defaultRunFolder(now)).To(Equal("telemetry-capture-20260504-030201-2"))
	})

	It("writes sslkeys.log in a sealed run, and leaves it out with --no-keylog", func(ctx SpecContext) {
		if err := netwatch.Available(); err != nil {
			Skip("sealed namespaces unavailable here: " + err.Error())
		}
		code := run(ctx, []string{"record", "--seal", "on", "--out", out, "--", "python3", "-c", postPy}, stdout, stderr)
		Expect(code).To(Equal(exitOK), stderr.String())
		keys, err := os.ReadFile(filepath.Join(out, capture.KeyLogName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(keys)).To(ContainSubstring("CLIENT_TRAFFIC_SECRET_0 "), "the TLS 1.3 secrets of the tunnel's session")
		Expect(stderr.String()).NotTo(ContainSubstring("not contained"))

		bare := filepath.Join(GinkgoT().TempDir(), "run")
		code = run(ctx, []string{"record", "--seal", "on", "--no-keylog", "--out", bare, "--", "python3", "-c", postPy}, stdout, stderr)
		Expect(code).To(Equal(exitOK), stderr.String())
		Expect(filepath.Join(bare, capture.KeyLogName)).NotTo(BeAnExistingFile())
		Expect(filepath.Join(bare, capture.PcapName)).To(BeAnExistingFile())
	})

	It("says when a sealed run was not contained or saw the host's /sys, and is silent when it was", func() {
		no, yes := false, true
		write := func(e *capture.Egress) string {
			dir := GinkgoT().TempDir()
			Expect(capture.WriteEgress(dir, e)).To(Succeed())
			return dir
		}
		printEgress(stderr, write(&capture.Egress{Sealed: true, Contained: &no, ContainReason: "clone refused",
			PrivateSys: &no, SysReason: "mount refused"}))
		Expect(stderr.String()).To(ContainSubstring("not contained (clone refused): a daemon the command started could outlive a killed harness"))
		Expect(stderr.String()).To(ContainSubstring("the command saw the host's /sys (mount refused)"))

		stderr.Reset()
		printEgress(stderr, write(&capture.Egress{Sealed: true, Contained: &yes, PrivateSys: &yes}))
		printEgress(stderr, write(&capture.Egress{Sealed: true})) // written before the fields existed
		Expect(stderr.String()).NotTo(ContainSubstring("contained"))
		Expect(stderr.String()).NotTo(ContainSubstring("/sys"))
	})

	It("works as a built binary", func() {
		cmd := exec.Command(binPath, "record", "--out", out, "--", "python3", "-c", postPy)

		s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)

		Expect(err).NotTo(HaveOccurred(), "gexec.Start")
		Eventually(s, 40*time.Second).Should(gexec.Exit(exitOK))
		Expect(s.Out).To(gbytes.Say(`1\s+POST\s+https://spire\.bugout\.dev/humbug/reports\s+15\s+200`))
		Expect(s.Err).To(gbytes.Say(`recording python3 -c "\\nimport sys.*\\n" into ` + out + ` through http://127\.0\.0\.1:\d+ \(sink mode`))
		Expect(s.Err).To(gbytes.Say(`python3 exited with status 0; 1 request\(s\) recorded`))
	})
})
