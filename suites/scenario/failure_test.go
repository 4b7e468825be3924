package scenario_test

import (
	"context"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

var _ = Describe("a tool that cannot run", func() {
	var (
		root string
		opts scenario.Options
	)

	BeforeEach(func() {
		root = repoRoot()
		opts = scenario.Options{Policy: loadPolicy(root), Root: root, Out: GinkgoT().TempDir(), Log: GinkgoWriter}
	})

	It("gives each scenario an error naming a tool that does not exist", func(ctx SpecContext) {
		opts.Tool = []string{"telemetry-harness-no-such-tool"}
		list, err := scenario.RunAll(ctx, opts, []string{"opt-out", "unset"})
		Expect(err).NotTo(HaveOccurred(), "a missing tool is a scenario's error, not RunAll's")
		Expect(list).To(HaveLen(2))
		for _, r := range list {
			Expect(r.Err).To(MatchError(session.ErrNotFound), "scenario %s", r.Scenario)
			Expect(r.Err).To(MatchError(ContainSubstring("telemetry-harness-no-such-tool")))
			Expect(r.Err).To(MatchError(ContainSubstring(r.Scenario)))
		}
	})

	It("names a tool file that does not exist before starting the interpreter", func(ctx SpecContext) {
		opts.Tool = []string{"python3", filepath.Join(root, "fixtures/reference/no-such-pants.py")}
		sc, err := opts.Policy.Scenario("opt-out")
		Expect(err).NotTo(HaveOccurred(), "opts.Policy.Scenario")
		r, err := scenario.Run(ctx, opts, sc)
		Expect(err).To(MatchError(ContainSubstring("no-such-pants.py")))
		Expect(r.Runs).To(HaveLen(1))
		Expect(r.Runs[0].Run).To(BeNil())
	})

	It("kills a hanging tool at the timeout while the other scenarios complete", func(ctx SpecContext) {
		// opt-out's first goal is test: this tool hangs there and returns
		// at once for repeated-runs (goal lint).
		opts.Tool = []string{"/bin/sh", writeScript(GinkgoT().TempDir(), "tool.sh", `case "$1" in test) exec sleep 30;; esac
echo ran "$@"
`)}
		opts.Timeout = time.Second
		start := time.Now()
		list, err := scenario.RunAll(ctx, opts, []string{"opt-out", "repeated-runs"})
		Expect(err).NotTo(HaveOccurred(), "scenario.RunAll")
		Expect(time.Since(start)).To(BeNumerically("<", 15*time.Second))

		hung := list[0]
		Expect(hung.Scenario).To(Equal("opt-out"))
		Expect(hung.Err).To(MatchError(session.ErrTimeout))
		Expect(hung.Runs).To(HaveLen(1))
		Expect(hung.Runs[0].Run.TimedOut).To(BeTrue())
		Expect(hung.Runs[0].Run.Killed).NotTo(BeEmpty())
		facts, err := capture.ReadRun(hung.Runs[0].Dir)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadRun")
		Expect(facts.TimedOut).To(BeTrue(), "run.json says the run timed out")

		ok := list[1]
		Expect(ok.Err).NotTo(HaveOccurred())
		Expect(ok.Runs).To(HaveLen(3))
		for _, rr := range ok.Runs {
			Expect(rr.Run.ExitCode).To(Equal(0), "run %s", rr.Name)
		}
		Expect(ok.Runs[0].Run.Start).NotTo(Equal(ok.Runs[1].Run.Start))
		Expect(ok.Runs[1].Run.Start.After(ok.Runs[0].Run.End)).To(BeTrue(), "runs of one scenario are sequential")
	}, SpecTimeout(time.Minute))

	It("runs nothing once the caller's context is cancelled", func(ctx SpecContext) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		opts.Tool = []string{"true"}
		list, err := scenario.RunAll(cctx, opts, []string{"repeated-runs"})
		Expect(err).NotTo(HaveOccurred(), "scenario.RunAll")
		Expect(list[0].Err).To(MatchError(context.Canceled))
		Expect(list[0].Runs).To(BeEmpty())
	})

	It("rejects an unknown or repeated scenario name before running anything", func(ctx SpecContext) {
		opts.Tool = []string{"true"}
		_, err := scenario.RunAll(ctx, opts, []string{"opt-out", "no-such-scenario"})
		Expect(err).To(MatchError(ContainSubstring("no-such-scenario")))
		_, err = scenario.RunAll(ctx, opts, []string{"opt-out", "opt-out"})
		Expect(err).To(MatchError(ContainSubstring("opt-out named twice")))
	})
})
