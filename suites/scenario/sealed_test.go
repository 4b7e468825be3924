package scenario_test

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// The reference and its network mutants in sealed runs, judged: what only a
// sealed namespace can show. Every run is recorded once, in BeforeAll.
var _ = Describe("sealed runs of the reference and its network mutants", Ordered, Label("sealed"), func() {
	type run struct {
		tool, scenario string
	}
	runs := map[string]run{
		"reference":          {"", "opt-in"},
		"reference-unset":    {"", "unset"},
		"ignore-proxy":       {"--ref-mutant=ignore-proxy", "opt-in"},
		"hardcoded-ip":       {"--ref-mutant=hardcoded-ip", "opt-in"},
		"dns-when-opted-out": {"--ref-mutant=dns-when-opted-out", "unset"},
		"hostname-sent":      {"--ref-mutant=hostname-sent", "opt-in"},
		"mac-sent":           {"--ref-mutant=mac-sent", "opt-in"},
	}
	var (
		p       *policy.Policy
		dirs    map[string]string
		results map[string]*judge.Result
	)

	BeforeAll(func(ctx SpecContext) {
		if err := netwatch.Available(); err != nil {
			Skip("sealed network namespaces cannot be made here: " + err.Error())
		}
		root := repoRoot()
		p = loadPolicy(root)
		out := GinkgoT().TempDir()
		dirs, results = map[string]string{}, map[string]*judge.Result{}
		for name, r := range runs {
			words := []string{"python3", "fixtures/reference/pants.py"}
			if r.tool != "" {
				words = append(words, r.tool)
			}
			sc, err := p.Scenario(r.scenario)
			Expect(err).NotTo(HaveOccurred(), "p.Scenario")
			opts := scenario.Options{
				Policy: p, Tool: scenario.ResolveTool(words, root), Root: root,
				Out: filepath.Join(out, name), Timeout: 30 * time.Second, Seal: session.SealOn, Log: GinkgoWriter,
			}
			res, err := scenario.Run(ctx, opts, sc)
			Expect(err).NotTo(HaveOccurred(), name)
			Expect(res.Err).NotTo(HaveOccurred(), name)
			dirs[name] = res.Runs[0].Dir
			jr, err := judge.LoadRun(res.Runs[0].Dir)
			Expect(err).NotTo(HaveOccurred(), name)
			results[name], err = judge.Judge(judge.Input{Policy: p, Scenario: r.scenario, Runs: []judge.RunData{jr}})
			Expect(err).NotTo(HaveOccurred(), name)
		}
	}, NodeTimeout(4*time.Minute))

	egressOf := func(name string) *capture.Egress {
		GinkgoHelper()
		e, err := capture.ReadEgress(dirs[name])
		Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
		Expect(e.Sealed).To(BeTrue(), "run %s was sealed", name)
		return e
	}
	// violated lists the violated clauses; every other exercised clause
	// must have passed.
	violated := func(name string) []string {
		GinkgoHelper()
		var out []string
		for _, c := range results[name].Clauses {
			switch c.Verdict {
			case judge.Violated:
				out = append(out, c.Clause)
			case judge.Unobservable:
				Fail(name + ": " + c.Clause + " is unobservable: " + c.Reason)
			}
		}
		return out
	}

	It("passes the reference on every exercised clause, egress.proxy-only included", func() {
		Expect(violated("reference")).To(BeEmpty())
		Expect(violated("reference-unset")).To(BeEmpty())
		cr, _ := results["reference"].Clause("egress.proxy-only")
		Expect(cr.Verdict).To(Equal(judge.Passed))
		for _, f := range egressOf("reference").Flows {
			Expect(f.Kind).To(BeElementOf(capture.FlowProxy, capture.FlowDNS, capture.FlowNoise), "flow %s %s -> %s", f.Kind, f.Client, f.Server)
		}
		cc := egressOf("reference").CrossCheck
		Expect(cc).NotTo(BeNil())
		Expect(cc.InCapture).To(BeNumerically(">=", 1))
		Expect(cc.Unmatched).To(BeEmpty(), "every proxy connection in the pcap was accepted by the proxy")
	})

	It("verifies machine_id exactly: sha256 of the repo id, a dot and the canary MAC's node", func() {
		e := egressOf("reference")
		exs, err := capture.Load(dirs["reference"])
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(HaveLen(1))
		content := reportContent(exs[0])
		cs := canariesOf(dirs["reference"])
		Expect(content["machine_id"]).To(Equal(sha256Hex(cs["repo-id"] + "." + e.Node)))
		Expect(cs["node"]).To(Equal(e.Node), "the node canary is the sink's MAC")
		Expect(cs["host"]).To(Equal(e.Hostname), "the host canary is the namespace's host name")
	})

	It("records a mutant that ignores the proxy through the transparent path and judges its payload", func() {
		exs, err := capture.Load(dirs["ignore-proxy"])
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].Path).To(Equal(capture.PathTransparent))
		Expect(exs[0].URL).To(Equal("https://spire.bugout.dev/humbug/reports"))
		Expect(reportContent(exs[0])).To(HaveKey("machine_id"), "the payload was decrypted")
		Expect(violated("ignore-proxy")).To(Equal([]string{"egress.proxy-only"}), "the payload passes every other clause")
		Expect(results["ignore-proxy"].Findings[0].Message).To(ContainSubstring("bypassed the proxy"))
		var names []string
		for _, q := range egressOf("ignore-proxy").DNS {
			names = append(names, q.Name)
		}
		Expect(names).To(ContainElement("spire.bugout.dev"))
	})

	It("catches a connection to a hard-coded address as an escape, with the packet in packets.pcapng", func() {
		Expect(violated("hardcoded-ip")).To(Equal([]string{"egress.proxy-only"}))
		Expect(results["hardcoded-ip"].Findings[0].Message).To(ContainSubstring("198.51.100.7:443"))
		f, err := os.Open(filepath.Join(dirs["hardcoded-ip"], capture.PcapName))
		Expect(err).NotTo(HaveOccurred(), "os.Open")
		defer f.Close()
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		Expect(err).NotTo(HaveOccurred(), "pcapgo.NewNgReader")
		syn := false
		for {
			data, _, err := r.ReadPacketData()
			if err != nil {
				break
			}
			pk := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
			ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if ip != nil && tcp != nil && ip.DstIP.String() == "198.51.100.7" && tcp.DstPort == 443 && tcp.SYN {
				syn = true
			}
		}
		Expect(syn).To(BeTrue(), "packets.pcapng holds the SYN to 198.51.100.7:443")
	})

	It("catches a DNS lookup of the endpoint while opted out, by name", func() {
		Expect(violated("dns-when-opted-out")).To(Equal([]string{"consent.nothing-until-opt-in"}))
		Expect(results["dns-when-opted-out"].Findings[0].Message).To(ContainSubstring("the endpoint host spire.bugout.dev was looked up"))
	})

	It("catches the canary host name and MAC when a mutant sends them", func() {
		Expect(violated("hostname-sent")).To(ContainElement("anonymity.no-personal-values"))
		Expect(violated("mac-sent")).To(ContainElement("anonymity.no-personal-values"))
		roles := func(name string) string {
			var b strings.Builder
			for _, f := range results[name].Findings {
				if f.Clause == "anonymity.no-personal-values" {
					b.WriteString(f.Evidence + "\n")
				}
			}
			return b.String()
		}
		Expect(roles("hostname-sent")).To(ContainSubstring("role host"))
		Expect(roles("mac-sent")).To(ContainSubstring("role node"))
	})
})

// canariesOf maps each role of a run folder's canaries.json to its first
// value.
func canariesOf(dir string) map[string]string {
	GinkgoHelper()
	out := map[string]string{}
	for _, c := range readCanaries(dir) {
		if _, ok := out[c.Role]; !ok {
			out[c.Role] = c.Value
		}
	}
	return out
}
