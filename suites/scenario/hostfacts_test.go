package scenario_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// senderFacts is what fixtures/hostfacts/sender.py prints about the host it
// believes it runs on.
type senderFacts struct {
	Facts struct {
		DockerEnv    bool   `json:"dockerenv"`
		ContainerEnv bool   `json:"containerenv"`
		CgroupDocker bool   `json:"cgroup_docker"`
		CI           bool   `json:"ci"`
		TTY          bool   `json:"tty"`
		Lang         string `json:"lang"`
		LCAll        string `json:"lc_all"`
		TZ           string `json:"tz"`
	} `json:"facts"`
	Sends bool `json:"sends"`
}

// A sender that reports only from a container or CI machine, run sealed
// under each pin of fixtures/hostfacts/policy.yaml: the verdict follows the
// pin, not this machine (a container itself, on the machine these specs
// were written on).
var _ = Describe("host facts pinned per scenario", Ordered, Label("sealed"), func() {
	var (
		root, fixture string
		p             *policy.Policy
		out           string
	)
	type outcome struct {
		facts   senderFacts
		run     *capture.RunFacts
		verdict judge.Verdict
	}
	outcomes := map[string]outcome{}

	runScenario := func(ctx SpecContext, name, seal string) outcome {
		GinkgoHelper()
		sc, err := p.Scenario(name)
		Expect(err).NotTo(HaveOccurred(), "p.Scenario")
		opts := scenario.Options{
			Policy: p, Tool: scenario.ResolveTool([]string{"python3", filepath.Join(fixture, "sender.py")}, root), Root: fixture,
			Out: filepath.Join(out, seal), Timeout: 30 * time.Second, Seal: seal, Log: GinkgoWriter,
		}
		res, err := scenario.Run(ctx, opts, sc)
		Expect(err).NotTo(HaveOccurred(), name)
		dir := res.Runs[0].Dir
		b, err := os.ReadFile(filepath.Join(dir, session.StdoutName))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		var o outcome
		// The last line: on a terminal stderr (a shell's locale warning
		// where de_DE is not installed) lands in stdout too.
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		Expect(json.Unmarshal([]byte(strings.TrimSpace(lines[len(lines)-1])), &o.facts)).To(Succeed(), "%s said: %s", name, b)
		o.run, err = capture.ReadRun(dir)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadRun")
		jr, err := judge.LoadRun(dir)
		Expect(err).NotTo(HaveOccurred(), "judge.LoadRun")
		r, err := judge.Judge(judge.Input{Policy: p, Scenario: name, Runs: []judge.RunData{jr}})
		Expect(err).NotTo(HaveOccurred(), "judge.Judge")
		cr, ok := r.Clause("consent.quiet-on-developer-machines")
		Expect(ok).To(BeTrue())
		o.verdict = cr.Verdict
		return o
	}

	BeforeAll(func(ctx SpecContext) {
		if err := netwatch.Available(); err != nil {
			Skip("sealed network namespaces cannot be made here: " + err.Error())
		}
		root = repoRoot()
		fixture = filepath.Join(root, "fixtures", "hostfacts")
		var err error
		p, err = policy.Load(filepath.Join(fixture, "policy.yaml"))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		out = GinkgoT().TempDir()
		for _, name := range []string{"plain", "docker", "podman", "ci"} {
			outcomes[name] = runScenario(ctx, name, session.SealOn)
		}
	}, NodeTimeout(2*time.Minute))

	It("hides this machine's container and CI facts from a plain developer machine: nothing is sent", func() {
		o := outcomes["plain"]
		Expect(o.facts.Facts.DockerEnv).To(BeFalse())
		Expect(o.facts.Facts.ContainerEnv).To(BeFalse())
		Expect(o.facts.Facts.CgroupDocker).To(BeFalse())
		Expect(o.facts.Facts.CI).To(BeFalse())
		Expect(o.facts.Sends).To(BeFalse())
		Expect(o.verdict).To(Equal(judge.Passed))
	})

	It("shows a Docker container's marker when the scenario asks for one: the report is caught", func() {
		o := outcomes["docker"]
		Expect(o.facts.Facts.DockerEnv).To(BeTrue())
		Expect(o.facts.Facts.ContainerEnv).To(BeFalse())
		Expect(o.verdict).To(Equal(judge.Violated))
	})

	It("shows a Podman container's marker, and no Docker one", func() {
		o := outcomes["podman"]
		Expect(o.facts.Facts.ContainerEnv).To(BeTrue())
		Expect(o.facts.Facts.DockerEnv).To(BeFalse())
		Expect(o.verdict).To(Equal(judge.Violated))
	})

	It("gives a CI scenario the vendor's variables, a terminal, its locale and time zone", func() {
		o := outcomes["ci"]
		Expect(o.facts.Facts.DockerEnv).To(BeFalse())
		Expect(o.facts.Facts.CI).To(BeTrue())
		Expect(o.facts.Facts.TTY).To(BeTrue(), "stdout is a pseudo-terminal")
		Expect(o.facts.Facts.Lang).To(Equal("de_DE.UTF-8"))
		Expect(o.facts.Facts.LCAll).To(Equal("de_DE.UTF-8"))
		Expect(o.facts.Facts.TZ).To(Equal("Asia/Kolkata"))
		Expect(o.verdict).To(Equal(judge.Violated))
		Expect(o.run.EnvKeys).To(ContainElements("CI", "GITHUB_ACTIONS"))
	})

	It("gives a plain machine no terminal, C.UTF-8 and UTC", func() {
		f := outcomes["plain"].facts.Facts
		Expect(f.TTY).To(BeFalse())
		Expect([]string{f.Lang, f.LCAll, f.TZ}).To(Equal([]string{"C.UTF-8", "C.UTF-8", "UTC"}))
	})

	It("records in run.json the facts each run was given, all applied", func() {
		for name, want := range map[string]capture.Host{
			"plain":  {Container: "none", CI: "none", Locale: "C.UTF-8", Timezone: "UTC"},
			"docker": {Container: "docker", CI: "none", Locale: "C.UTF-8", Timezone: "UTC"},
			"podman": {Container: "podman", CI: "none", Locale: "C.UTF-8", Timezone: "UTC"},
			"ci":     {Container: "none", CI: "github-actions", TTY: true, Locale: "de_DE.UTF-8", Timezone: "Asia/Kolkata"},
		} {
			Expect(outcomes[name].run.Host).To(Equal(&want), name)
		}
	})

	It("says, in an unsealed run, that the container facts were not applied and what this host shows", func(ctx SpecContext) {
		o := runScenario(ctx, "plain", session.SealOff)
		Expect(o.run.Host).NotTo(BeNil())
		Expect(o.run.Host.NotApplied).To(ConsistOf(ContainSubstring("the run was not sealed")))
		Expect(o.run.Host.HostShows).To(Equal(capture.ObservedHost([]string{})))
		// The tool saw this machine's root: its verdict is this machine's.
		hostLooksContained := len(o.run.Host.HostShows) > 0
		Expect(o.facts.Sends).To(Equal(hostLooksContained))
		Expect(o.facts.Facts.CI).To(BeFalse(), "the environment's facts are pinned even unsealed")
	}, SpecTimeout(time.Minute))
})
