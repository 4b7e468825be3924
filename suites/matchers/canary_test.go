package matchers_test

import (
	"encoding/base64"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/matchers"
)

var _ = Describe("ContainNoCanary", func() {
	const user, conf = "cnryuser8k2m4x7p", "cnryconf5t6y7u8i"
	var cs []canary.Canary

	BeforeEach(func() {
		cs = []canary.Canary{{Role: "user", Value: user}, {Role: "config-value", Value: conf}}
	})

	It("passes a capture without canaries, and NotTo fails", func() {
		exs := []*capture.Exchange{report(1, `{"content": {"user_id": "5a01f053"}}`)}
		Expect(to(exs, matchers.ContainNoCanary(cs))).To(BeEmpty())
		Expect(notTo(exs, matchers.ContainNoCanary(cs))).To(Equal([]string{
			"Expected\n    <1 exchange: 1 http>\nnot to contain no canary (2 canaries planted: config-value, user)"}))
	})

	It("fails with every hit: exchange, location, role, form, length and a redacted excerpt", func() {
		exs := []*capture.Exchange{
			report(1, `{"content": {"platform": "Linux-`+base64.StdEncoding.EncodeToString([]byte(user))+`"}}`,
				capture.Header{Name: "User-Agent", Value: "python-requests/2.28.1 (" + user + ")"}),
			report(2, `{"content": {"backend": "`+conf+`"}}`),
		}
		failures := to(exs, matchers.ContainNoCanary(cs))
		Expect(failures).To(HaveLen(1))
		Expect(failures[0]).NotTo(SatisfyAny(ContainSubstring(user), ContainSubstring(conf)), "the message must not hold a raw canary")
		Expect(failures).To(Equal([]string{`Expected
    <2 exchanges: 2 http>
to contain no canary (2 canaries planted: config-value, user)
    exchange #1 header:User-Agent: user canary found (raw form, value of 16 chars, excerpt "…quests/2.28.1 («user»)")
    exchange #1 $.content.platform: user canary found (base64 form, value of 16 chars, excerpt "…tform\": \"Linux-«user»A==\"}}")
    exchange #2 $.content.backend: config-value canary found (raw form, value of 16 chars, excerpt "…: {\"backend\": \"«config-value»\"}}")`}))
		Expect(notTo(exs, matchers.ContainNoCanary(cs))).To(BeEmpty())
	})

	It("finds a canary in a tunnel's host, and errs on a tunnel without one", func() {
		exs := []*capture.Exchange{tunnel(1, capture.KindTunnelRejected, user+".example:443")}
		Expect(to(exs, matchers.ContainNoCanary(cs))).To(Equal([]string{`Expected
    <1 exchange: 1 tunnel-rejected>
to contain no canary (2 canaries planted: config-value, user)
    exchange #1 host: user canary found (raw form, value of 16 chars, excerpt "«user».example:443")`}))

		exs = []*capture.Exchange{report(1, "{}"), tunnel(2, capture.KindOpaqueTunnel, "spire.bugout.dev:443")}
		Expect(bothFail(exs, matchers.ContainNoCanary(cs))).To(Equal(
			"ContainNoCanary matcher: unobservable: exchange #2 is opaque-tunnel to spire.bugout.dev:443 (client aborted the TLS handshake): the harness could not see what was sent, so neither To nor NotTo may pass"))
	})

	It("finds the canaries of a hand-written fixture capture", func() {
		run, err := judge.LoadRun(filepath.Join(root, "fixtures/captures/user-raw"))
		Expect(err).NotTo(HaveOccurred(), "loading fixtures/captures/user-raw")
		Expect(run.Canaries).NotTo(BeEmpty(), "the fixture plants canaries")
		failures := to(run.Exchanges, matchers.ContainNoCanary(run.Canaries))
		Expect(failures).To(HaveLen(1))
		Expect(failures[0]).To(ContainSubstring("exchange #1 header:User-Agent: user canary found (raw form"))
		for _, c := range run.Canaries {
			Expect(failures[0]).NotTo(ContainSubstring(c.Value), "the %s canary's value must not be printed", c.Role)
		}
	})

	DescribeTable("errs under both To and NotTo on bad input",
		func(actual any, cs []canary.Canary, want string) {
			Expect(bothFail(actual, matchers.ContainNoCanary(cs))).To(Equal(want))
		},
		Entry("nil", nil, []canary.Canary{{Role: "user", Value: user}},
			"ContainNoCanary matcher expects a []*capture.Exchange, got nil"),
		Entry("a wrong type", map[string]string{}, []canary.Canary{{Role: "user", Value: user}},
			"ContainNoCanary matcher expects a []*capture.Exchange, got map[string]string"),
		Entry("a nil exchange", []*capture.Exchange{nil}, []canary.Canary{{Role: "user", Value: user}},
			"ContainNoCanary matcher: exchange at index 0 is nil: the capture is malformed"),
		Entry("no canaries", []*capture.Exchange{}, nil,
			"ContainNoCanary matcher: no canaries to search for: pass the canaries planted in the run"),
		Entry("a canary too short to search", []*capture.Exchange{}, []canary.Canary{{Role: "user", Value: "bob"}},
			"ContainNoCanary matcher: canary search: canary 0 (role user): value of 3 bytes is shorter than 4 and would match by chance; use Generate"),
	)

	It("clears what it found between calls, as Eventually needs", func() {
		m := matchers.ContainNoCanary(cs)
		Expect(m.Match([]*capture.Exchange{report(1, `{"u": "`+user+`"}`)})).To(BeFalse())
		Expect(m.Match([]*capture.Exchange{report(1, "{}")})).To(BeTrue())
		Expect(m.NegatedFailureMessage(nil)).NotTo(ContainSubstring("canary found"))
	})
})
