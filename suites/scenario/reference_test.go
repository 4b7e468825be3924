package scenario_test

import (
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/oracle"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// One RunAll over three scenarios of the shipped policy, then checks of
// what it wrote: recording is the expensive step, so it runs once.
var _ = Describe("running the shipped scenarios against the reference", Ordered, func() {
	var (
		out     string
		results map[string]*scenario.Result
	)

	BeforeAll(func(ctx SpecContext) {
		root := repoRoot()
		out = GinkgoT().TempDir()
		opts := scenario.Options{
			Policy:  loadPolicy(root),
			Tool:    scenario.ResolveTool([]string{"python3", "fixtures/reference/pants.py"}, root),
			Root:    root,
			Out:     out,
			Timeout: 60 * time.Second,
			Log:     GinkgoWriter,
		}
		list, err := scenario.RunAll(ctx, opts, []string{"opt-in", "opt-out", "two-repos"})
		Expect(err).NotTo(HaveOccurred(), "scenario.RunAll")
		Expect(list).To(HaveLen(3))
		results = map[string]*scenario.Result{}
		for _, r := range list {
			Expect(r.Err).NotTo(HaveOccurred(), "scenario %s", r.Scenario)
			results[r.Scenario] = r
		}
	}, NodeTimeout(3*time.Minute))

	It("records one report to the endpoint for opt-in, carrying the planted repo id's hash", func() {
		r := results["opt-in"]
		Expect(r.Runs).To(HaveLen(1))
		rr := r.Runs[0]
		Expect(rr.Dir).To(Equal(filepath.Join(out, "opt-in")))
		Expect(rr.Run.ExitCode).To(Equal(0))
		exs, err := capture.Load(rr.Dir)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].Host).To(HavePrefix("spire.bugout.dev"))
		Expect(string(exs[0].Body.Bytes())).To(ContainSubstring(sha256Hex(valueOf(rr, "repo-id"))))
	})

	It("plants the user canary where the tool reads the user name", func() {
		rr := results["opt-in"].Runs[0]
		exs, err := capture.Load(rr.Dir)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(HaveLen(1))
		content := reportContent(exs[0])
		Expect(content).To(HaveKeyWithValue("user_id", sha256Hex(valueOf(rr, "repo-id")+"."+valueOf(rr, "user"))))
	})

	It("writes the planted canaries to canaries.json", func() {
		rr := results["opt-in"].Runs[0]
		Expect(rr.Canaries).NotTo(BeEmpty())
		Expect(readCanaries(rr.Dir)).To(ConsistOf(rr.Canaries))
		roles := map[string]bool{}
		for _, c := range rr.Canaries {
			roles[c.Role] = true
		}
		for _, role := range []string{"user", "home", "repo-path", "repo-id", "config-value", "env-value", "cmdline-arg"} {
			Expect(roles).To(HaveKey(role))
		}
		Expect(valueOf(rr, "repo-id")).To(MatchRegexp(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`))
	})

	It("plants host and node canaries in the sealed namespace and still records this machine's node candidates", func() {
		rr := results["opt-in"].Runs[0]
		e, err := capture.ReadEgress(rr.Dir)
		Expect(err).NotTo(HaveOccurred(), "every run writes egress.json")
		if e.Sealed {
			Expect(valueOf(rr, "host")).To(Equal(e.Hostname), "the namespace's host name is the host canary")
			Expect(valueOf(rr, "node")).To(Equal(e.Node), "the first node canary is the sink's MAC as uuid.getnode() returns it")
			mac, err := net.ParseMAC(e.MAC)
			Expect(err).NotTo(HaveOccurred(), "net.ParseMAC")
			for _, form := range append(oracle.NodeForms(mac), strings.ToUpper(hex.EncodeToString(mac))) {
				Expect(rr.Canaries).To(ContainElement(canary.Canary{Role: "node", Value: form}))
			}
		} else {
			Expect(rr.Notes).To(ContainElement(ContainSubstring("canary role host not planted")))
			Expect(rr.Canaries).NotTo(ContainElement(HaveField("Role", "host")))
		}
		nodes, err := oracle.NodeCandidates()
		Expect(err).NotTo(HaveOccurred(), "oracle.NodeCandidates")
		for _, n := range nodes {
			for _, form := range oracle.NodeForms(n.MAC) {
				Expect(rr.Canaries).To(ContainElement(canary.Canary{Role: "node", Value: form}))
			}
		}
	})

	It("puts the repo copy under a folder named by the repo-path canary and HOME under the home canary", func() {
		rr := results["opt-in"].Runs[0]
		Expect(filepath.Base(filepath.Dir(rr.Workdir))).To(Equal(valueOf(rr, "repo-path")))
		Expect(filepath.Base(rr.Workdir)).To(Equal("pants-basic"))
		Expect(filepath.Base(rr.Home)).To(Equal(valueOf(rr, "home")))
		Expect(rr.Run.Dir).To(Equal(rr.Workdir), "run.json names the folder the tool ran in")
		Expect(rr.Workdir).NotTo(BeADirectory(), "the copy is removed without Keep")
	})

	It("passes the expanded goals and arguments after the tool words", func() {
		rr := results["opt-in"].Runs[0]
		Expect(rr.Argv).To(HaveLen(6))
		Expect(rr.Argv[2:]).To(Equal([]string{"test", "lint", "::", "--tag=-" + valueOf(rr, "cmdline-arg")}))
		Expect(rr.Env).To(ContainElement("PROJECT_DEPLOY_TOKEN=" + valueOf(rr, "env-value")))
		Expect(rr.Env).To(ContainElement("TZ=UTC"))
		Expect(strings.Join(rr.Env, "\n")).NotTo(ContainSubstring("PROXY="), "the rerun environment drops the proxy variables")
	})

	It("records nothing for opt-out", func() {
		r := results["opt-out"]
		Expect(r.Runs).To(HaveLen(1))
		rr := r.Runs[0]
		Expect(rr.Run.ExitCode).To(Equal(0))
		exs, err := capture.Load(rr.Dir)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(BeEmpty())
		stderr, err := os.ReadFile(filepath.Join(rr.Dir, "stderr"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(stderr)).NotTo(ContainSubstring("telemetry"))
		Expect(readCanaries(rr.Dir)).To(ConsistOf(rr.Canaries))
	})

	It("shares canaries within a set and varies them across sets for two-repos", func() {
		r := results["two-repos"]
		Expect(r.Runs).To(HaveLen(3))
		a1, a2, b1 := r.Runs[0], r.Runs[1], r.Runs[2]
		Expect([]string{a1.Set, a2.Set, b1.Set}).To(Equal([]string{"a", "a", "b"}))
		Expect(a1.Dir).To(Equal(filepath.Join(out, "two-repos", "repo-a-1")))
		Expect(valueOf(a1, "repo-id")).To(Equal(valueOf(a2, "repo-id")))
		Expect(valueOf(a1, "repo-id")).NotTo(Equal(valueOf(b1, "repo-id")))
		Expect(valueOf(a1, "repo-path")).To(Equal(valueOf(a2, "repo-path")))
		Expect(valueOf(a1, "repo-path")).NotTo(Equal(valueOf(b1, "repo-path")))
		Expect(valueOf(a1, "user")).To(Equal(valueOf(b1, "user")), "user is not in vary: one value for the scenario")
		Expect(a1.Workdir).NotTo(Equal(a2.Workdir), "every run gets a fresh copy")
		for _, rr := range r.Runs {
			exs, err := capture.Load(rr.Dir)
			Expect(err).NotTo(HaveOccurred(), "capture.Load")
			Expect(exs).To(HaveLen(1), "run %s", rr.Name)
			Expect(reportContent(exs[0])).To(HaveKeyWithValue("repo_id", sha256Hex(valueOf(rr, "repo-id"))), "run %s", rr.Name)
		}
	})
})
