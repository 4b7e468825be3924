package matchers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/matchers"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

var _ = Describe("BeSentOnlyTo", func() {
	var ep policy.Endpoint

	BeforeEach(func() {
		ep = policy.Endpoint{Scheme: "https", Host: "spire.bugout.dev", Path: "/humbug/reports", Method: "POST"}
	})

	It("passes requests to the endpoint, and NotTo fails", func() {
		exs := []*capture.Exchange{report(1, "{}"), report(2, "{}")}
		Expect(to(exs, matchers.BeSentOnlyTo(ep))).To(BeEmpty())
		Expect(notTo(exs, matchers.BeSentOnlyTo(ep))).To(Equal([]string{
			"Expected\n    <2 exchanges: 2 http>\nnot to be sent only to POST https://spire.bugout.dev/humbug/reports"}))
	})

	It("passes an empty capture: nothing went elsewhere", func() {
		Expect(to([]*capture.Exchange{}, matchers.BeSentOnlyTo(ep))).To(BeEmpty())
	})

	It("takes the host case-insensitively and the scheme's default port", func() {
		ex := request(1, "POST", "Spire.Bugout.Dev", "https://Spire.Bugout.Dev:443/humbug/reports", "{}")
		ep.Port = 443
		Expect(to([]*capture.Exchange{ex}, matchers.BeSentOnlyTo(ep))).To(BeEmpty())
	})

	It("fails a look-alike host, another path, method, scheme or port, one line per request", func() {
		exs := []*capture.Exchange{
			report(1, "{}"),
			request(2, "POST", "spire.bugout.dev.example.net", "https://spire.bugout.dev.example.net/humbug/reports", "{}"),
			request(3, "GET", "spire.bugout.dev", "https://spire.bugout.dev/humbug/reports?u=cnryuser8k2m4x7p", ""),
			request(4, "POST", "spire.bugout.dev", "http://spire.bugout.dev:8080/cnryuser8k2m4x7p", "{}"),
			tunnel(5, capture.KindTunnelRejected, "telemetry.example:443"),
			request(6, "POST", "cnryuser8k2m4x7p.tracker.example", "https://cnryuser8k2m4x7p.tracker.example/humbug/reports", "{}"),
		}
		Expect(notTo(exs, matchers.BeSentOnlyTo(ep))).To(BeEmpty())
		Expect(to(exs, matchers.BeSentOnlyTo(ep))).To(Equal([]string{`Expected
    <6 exchanges: 5 http, 1 tunnel-rejected>
to be sent only to POST https://spire.bugout.dev/humbug/reports
    exchange #2: request outside the endpoint: host spire.bugout.dev.example.net is not spire.bugout.dev
    exchange #3: request outside the endpoint: method GET is not POST
    exchange #4: request outside the endpoint: scheme http is not https, port 8080 is not 443, path (17 chars, redacted) is not /humbug/reports
    exchange #5: tunnel-rejected outside the endpoint: host telemetry.example is not spire.bugout.dev
    exchange #6: request outside the endpoint: host «canary».tracker.example is not spire.bugout.dev`}))
	})

	It("shows a non-default endpoint port", func() {
		ep.Port = 8443
		Expect(to([]*capture.Exchange{report(1, "{}")}, matchers.BeSentOnlyTo(ep))).To(Equal([]string{`Expected
    <1 exchange: 1 http>
to be sent only to POST https://spire.bugout.dev:8443/humbug/reports
    exchange #1: request outside the endpoint: port 443 is not 8443`}))
	})

	It("errs under both To and NotTo on a tunnel to the endpoint's host: path and method are unknown", func() {
		exs := []*capture.Exchange{report(1, "{}"), tunnel(2, capture.KindOpaqueTunnel, "spire.bugout.dev:443")}
		Expect(bothFail(exs, matchers.BeSentOnlyTo(ep))).To(Equal(
			"BeSentOnlyTo matcher: unobservable: exchange #2 is opaque-tunnel to spire.bugout.dev:443 (client aborted the TLS handshake): its path and method are unknown: the harness could not see what was sent, so neither To nor NotTo may pass"))
	})

	DescribeTable("errs under both To and NotTo on bad input",
		func(actual any, want string) {
			Expect(bothFail(actual, matchers.BeSentOnlyTo(ep))).To(Equal(want))
		},
		Entry("nil", nil, "BeSentOnlyTo matcher expects a []*capture.Exchange, got nil"),
		Entry("a wrong type", "https://spire.bugout.dev", "BeSentOnlyTo matcher expects a []*capture.Exchange, got string"),
		Entry("a nil exchange", []*capture.Exchange{nil}, "BeSentOnlyTo matcher: exchange at index 0 is nil: the capture is malformed"),
	)

	It("errs on an incomplete endpoint", func() {
		Expect(bothFail([]*capture.Exchange{}, matchers.BeSentOnlyTo(policy.Endpoint{Host: "spire.bugout.dev"}))).To(HavePrefix(
			"BeSentOnlyTo matcher: endpoint  ://spire.bugout.dev is incomplete: scheme, host, path and method are all required"))
	})

	It("clears what it found between calls, as Eventually needs", func() {
		m := matchers.BeSentOnlyTo(ep)
		Expect(m.Match([]*capture.Exchange{request(1, "GET", "example.net", "https://example.net/", "")})).To(BeFalse())
		Expect(m.Match([]*capture.Exchange{report(1, "{}")})).To(BeTrue())
		Expect(m.NegatedFailureMessage(nil)).NotTo(ContainSubstring("example.net"))
	})
})
