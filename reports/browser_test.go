package reports_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/reports"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// chromium runs headless Chromium on a file with extra arguments and
// returns its stdout. Each call gets a fresh profile and no network
// services, so it neither reads nor leaves state.
func chromium(ctx context.Context, page string, extra ...string) []byte {
	GinkgoHelper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + GinkgoT().TempDir()}
	args = append(args, extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, chromiumPath, args...)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "chromium %v; stderr:\n%s", args, stderr.String())
	return out
}

// limitedBuffer keeps the last 8 KiB of chromium's chatty stderr.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 8<<10 {
		l.b = l.b[len(l.b)-8<<10:]
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

var _ = Describe("report.html in headless Chromium", Label("browser"), func() {
	var page string

	BeforeEach(func() {
		if _, err := os.Stat(chromiumPath); err != nil {
			Skip("headless Chromium is not installed at " + chromiumPath + " (apt-get install -y chromium); the browser check did not run")
		}
		out := outputFolder(fixtureScenarios...)
		r, _ := judgeFolder(out, fixtureScenarios...)
		Expect(reports.WriteAll(out, r)).To(Succeed())
		page = filepath.Join(out, reports.HTMLName)
	})

	It("shows the verdict banner and a violation's evidence with the offending value highlighted", func(ctx SpecContext) {
		dom := string(chromium(ctx, page, "--dump-dom"))
		By("the banner, as the browser parsed it")
		Expect(dom).To(MatchRegexp(`<header id="verdict" class="banner violations">\s*<h1 id="verdict-text">Violations found: pants telemetry breaks its promise</h1>`))
		By("the first finding's <details> is open and holds the request with the offending header marked")
		Expect(dom).To(MatchRegexp(`<details class="finding" open="">\s*<summary>anonymity.no-personal-values \[exchange #1\] header:User-Agent: the user canary is sent \(raw\)`))
		Expect(dom).To(ContainSubstring(`<mark>User-Agent: python-requests/2.28.1 («user»)</mark>`))
		By("no script and no external asset: the page stands alone")
		Expect(dom).NotTo(ContainSubstring("<script"))
		Expect(dom).NotTo(MatchRegexp(`<(link|img)[^>]+(href|src)=`))
	}, SpecTimeout(90*time.Second))

	It("renders a screenshot, kept as a test artifact", func(ctx SpecContext) {
		dir := os.Getenv("TEST_ARTIFACTS")
		if dir == "" {
			dir = GinkgoT().TempDir()
		}
		Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		shot := filepath.Join(dir, "report-violations.png")
		_ = os.Remove(shot)
		chromium(ctx, page, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars")
		b, err := os.ReadFile(shot)
		Expect(err).NotTo(HaveOccurred(), "chromium wrote no screenshot")
		Expect(b).To(HavePrefix("\x89PNG\r\n\x1a\n"), "the screenshot is a PNG")
		Expect(len(b)).To(BeNumerically(">", 20_000), "a rendered page, not a blank one")
		AddReportEntry("screenshot", shot)
		GinkgoWriter.Printf("screenshot of report.html: %s\n", shot)
	}, SpecTimeout(90*time.Second))
})
