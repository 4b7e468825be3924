package judge_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// copyCase copies a hand-written capture folder into a temp dir, so a spec
// can change its egress.json.
func copyCase(name string) string {
	GinkgoHelper()
	src := filepath.Join(root, "fixtures/captures", name)
	dst := filepath.Join(GinkgoT().TempDir(), name)
	Expect(os.MkdirAll(dst, 0o755)).To(Succeed())
	entries, err := os.ReadDir(src)
	Expect(err).NotTo(HaveOccurred(), "os.ReadDir")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)).To(Succeed())
	}
	return dst
}

var _ = Describe("egress.proxy-only", func() {
	It("names the escaped packet's address", func() {
		res := judgeFolders(loadPolicy("policy.yaml"), "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/escape-hardcoded-ip"))
		Expect(res.Findings).To(HaveLen(1))
		Expect(res.Findings[0].String()).To(Equal("egress.proxy-only packets.pcapng: a TCP connection attempt to 198.51.100.7:443 outside the proxy (dropped by the sealed namespace) (tcp 198.18.0.2:40000 -> 198.51.100.7:443 on sink0, 3 packets, first at 23:46:42.600)"))
	})

	It("notes a request that bypassed the proxy and judges its content like any other", func() {
		res := judgeFolders(loadPolicy("policy.yaml"), "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/transparent-bypass"))
		Expect(res.Findings).To(HaveLen(1), "only the bypass: the report itself is compliant")
		Expect(res.Findings[0].String()).To(Equal("egress.proxy-only [exchange #1] url: a request bypassed the proxy (HTTPS_PROXY ignored) and was caught by the transparent listener: POST to spire.bugout.dev:443"))
		for _, id := range []string{"destination.processor-only", "anonymity.no-personal-values", "fields.documented-only"} {
			cr, _ := res.Clause(id)
			Expect(cr.Verdict).To(Equal(judge.Passed), "%s judged the transparent request: %s", id, cr.Reason)
		}
	})

	Context("with allow_direct, for a tool that ignores HTTPS_PROXY by design", func() {
		allowDirect := func() *policy.Policy {
			GinkgoHelper()
			p := loadPolicy("policy.yaml")
			for i := range p.Clauses {
				for j := range p.Clauses[i].Checks {
					if p.Clauses[i].Checks[j].Kind == policy.KindEgress {
						p.Clauses[i].Checks[j].AllowDirect = true
					}
				}
			}
			return p
		}

		It("accepts the request that bypassed the proxy", func() {
			res := judgeFolders(allowDirect(), "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/transparent-bypass"))
			Expect(res.Findings).To(BeEmpty())
			cr, _ := res.Clause("egress.proxy-only")
			Expect(cr.Verdict).To(Equal(judge.Passed), cr.Reason)
		})

		It("still finds an escaped packet", func() {
			res := judgeFolders(allowDirect(), "opt-in-custom-goals", filepath.Join(root, "fixtures/captures/escape-hardcoded-ip"))
			Expect(res.Findings).To(HaveLen(1))
			Expect(res.Findings[0].Message).To(ContainSubstring("198.51.100.7:443 outside the proxy"))
		})
	})

	It("finds a DNS lookup of the endpoint when nothing may be sent", func() {
		res := judgeFolders(loadPolicy("policy.yaml"), "opt-out", filepath.Join(root, "fixtures/captures/opt-out-dns-lookup"))
		Expect(res.Findings).To(HaveLen(1))
		Expect(res.Findings[0].String()).To(Equal("consent.nothing-until-opt-in dns.jsonl:1: the endpoint host spire.bugout.dev was looked up (DNS A) although nothing may be sent (question from 127.0.0.1:50000)"))
	})

	Context("when the sealed run's processes were not contained", func() {
		notContained := func(dir string) {
			GinkgoHelper()
			e, err := capture.ReadEgress(dir)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
			no := false
			e.Contained, e.ContainReason = &no, "clone a PID and mount namespace: operation not permitted"
			Expect(capture.WriteEgress(dir, e)).To(Succeed())
		}

		It("passes with a note naming the reason: egress was still observed", func() {
			dir := copyCase("compliant")
			notContained(dir)
			res := judgeFolders(loadPolicy("policy.yaml"), "opt-in-custom-goals", dir)
			cr, _ := res.Clause("egress.proxy-only")
			Expect(cr.Verdict).To(Equal(judge.Passed))
			Expect(cr.Reason).To(ContainSubstring("processes the tool started were not contained: clone a PID and mount namespace: operation not permitted; a daemon could outlive a killed harness"))
		})

		It("still finds an escape", func() {
			dir := copyCase("escape-hardcoded-ip")
			notContained(dir)
			res := judgeFolders(loadPolicy("policy.yaml"), "opt-in-custom-goals", dir)
			cr, _ := res.Clause("egress.proxy-only")
			Expect(cr.Verdict).To(Equal(judge.Violated))
			Expect(res.Findings).To(HaveLen(1))
		})

		It("says nothing of containment for an egress.json older than the field", func() {
			dir := copyCase("compliant")
			b, err := os.ReadFile(filepath.Join(dir, capture.EgressName))
			Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
			Expect(string(b)).NotTo(ContainSubstring("contained"), "the fixture predates the field")
			res := judgeFolders(loadPolicy("policy.yaml"), "opt-in-custom-goals", dir)
			cr, _ := res.Clause("egress.proxy-only")
			Expect(cr.Verdict).To(Equal(judge.Passed))
			Expect(cr.Reason).NotTo(ContainSubstring("contained"))
		})

		It("notes a tool that saw the host's /sys", func() {
			dir := copyCase("compliant")
			e, err := capture.ReadEgress(dir)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
			no := false
			e.PrivateSys, e.SysReason = &no, "mount a private sysfs on /sys: operation not permitted"
			Expect(capture.WriteEgress(dir, e)).To(Succeed())
			res := judgeFolders(loadPolicy("policy.yaml"), "opt-in-custom-goals", dir)
			cr, _ := res.Clause("egress.proxy-only")
			Expect(cr.Verdict).To(Equal(judge.Passed))
			Expect(cr.Reason).To(ContainSubstring("the tool saw the host's /sys (mount a private sysfs on /sys: operation not permitted): a MAC address read from /sys/class/net is the host's real one, not the canary"))
		})

		It("says nothing when it was contained", func() {
			dir := copyCase("compliant")
			e, err := capture.ReadEgress(dir)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
			yes := true
			e.Contained, e.PrivateSys = &yes, &yes
			Expect(capture.WriteEgress(dir, e)).To(Succeed())
			res := judgeFolders(loadPolicy("policy.yaml"), "opt-in-custom-goals", dir)
			cr, _ := res.Clause("egress.proxy-only")
			Expect(cr.Verdict).To(Equal(judge.Passed))
			Expect(cr.Reason).NotTo(ContainSubstring("contained"))
			Expect(cr.Reason).NotTo(ContainSubstring("/sys"))
		})
	})

	Context("when the run was not sealed", func() {
		It("is unobservable with the recorded reason, never passed", func() {
			dir := copyCase("compliant")
			Expect(capture.WriteEgress(dir, &capture.Egress{Mode: "auto", Reason: "sealed network namespaces are unavailable: user namespaces are off"})).To(Succeed())
			res := judgeFolders(loadPolicy("policy.yaml"), "opt-in-custom-goals", dir)
			cr, _ := res.Clause("egress.proxy-only")
			Expect(cr.Verdict).To(Equal(judge.Unobservable))
			Expect(cr.Reason).To(Equal("egress and DNS were not observed: sealed network namespaces are unavailable: user namespaces are off"))
			Expect(res.Findings).To(BeEmpty())
		})

		It("is unobservable when the run left no egress.json", func() {
			dir := copyCase("compliant")
			Expect(os.Remove(filepath.Join(dir, capture.EgressName))).To(Succeed())
			res := judgeFolders(loadPolicy("policy.yaml"), "opt-in-custom-goals", dir)
			cr, _ := res.Clause("egress.proxy-only")
			Expect(cr.Verdict).To(Equal(judge.Unobservable))
			Expect(cr.Reason).To(HavePrefix("egress and DNS were not observed: the run left no egress.json"))
		})

		It("still passes consent on the requests, noting that DNS was not checked", func() {
			dir := copyCase("opt-out-dns-lookup")
			Expect(capture.WriteEgress(dir, &capture.Egress{Mode: "off", Reason: "sealing was switched off (seal off)"})).To(Succeed())
			res := judgeFolders(loadPolicy("policy.yaml"), "opt-out", dir)
			cr, _ := res.Clause("consent.nothing-until-opt-in")
			Expect(cr.Verdict).To(Equal(judge.Passed))
			Expect(cr.Reason).To(ContainSubstring("DNS lookups of spire.bugout.dev not checked: sealing was switched off"))
		})
	})
})
