package matchers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/matchers"
)

var _ = Describe("HaveSentNothing", func() {
	It("passes an empty capture, and NotTo fails", func() {
		Expect(to([]*capture.Exchange{}, matchers.HaveSentNothing())).To(BeEmpty())
		Expect(to([]*capture.Exchange(nil), matchers.HaveSentNothing())).To(BeEmpty(), "a nil slice is an empty capture, not a missing one")
		Expect(notTo([]*capture.Exchange{}, matchers.HaveSentNothing())).To(Equal([]string{
			"Expected\n    <no exchanges>\nnot to have sent nothing"}))
	})

	It("fails a capture with requests, one line each, without URLs or bodies", func() {
		exs := []*capture.Exchange{
			report(1, `{"user":"cnryuser8k2m4x7p"}`),
			request(2, "GET", "pypi.org", "https://pypi.org/simple/cnryuser8k2m4x7p/", ""),
		}
		Expect(notTo(exs, matchers.HaveSentNothing())).To(BeEmpty())
		Expect(to(exs, matchers.HaveSentNothing())).To(Equal([]string{`Expected
    <2 exchanges: 2 http>
to have sent nothing
    exchange #1: a request was sent: POST to spire.bugout.dev (url of 39 chars and body of 27 bytes, redacted)
    exchange #2: a request was sent: GET to pypi.org (url of 41 chars and body of 0 bytes, redacted)`}))
	})

	It("fails on a seen request even beside a rejected tunnel: the violation is certain", func() {
		exs := []*capture.Exchange{tunnel(1, capture.KindTunnelRejected, "spire.bugout.dev:443"), report(2, "{}")}
		Expect(to(exs, matchers.HaveSentNothing())).To(Equal([]string{`Expected
    <2 exchanges: 1 http, 1 tunnel-rejected>
to have sent nothing
    exchange #2: a request was sent: POST to spire.bugout.dev (url of 39 chars and body of 2 bytes, redacted)`}))
		Expect(notTo(exs, matchers.HaveSentNothing())).To(BeEmpty())
	})

	DescribeTable("errs under both To and NotTo when the harness could not see",
		func(kind capture.Kind, want string) {
			exs := []*capture.Exchange{tunnel(1, kind, "spire.bugout.dev:443")}
			Expect(bothFail(exs, matchers.HaveSentNothing())).To(Equal(want))
		},
		Entry("a rejected tunnel", capture.KindTunnelRejected,
			"HaveSentNothing matcher: unobservable: exchange #1 is tunnel-rejected to spire.bugout.dev:443 (client aborted the TLS handshake): the harness could not see what was sent, so neither To nor NotTo may pass"),
		Entry("an opaque tunnel", capture.KindOpaqueTunnel,
			"HaveSentNothing matcher: unobservable: exchange #1 is opaque-tunnel to spire.bugout.dev:443 (client aborted the TLS handshake): the harness could not see what was sent, so neither To nor NotTo may pass"),
	)

	DescribeTable("errs under both To and NotTo on bad input",
		func(actual any, want string) {
			Expect(bothFail(actual, matchers.HaveSentNothing())).To(Equal(want))
		},
		Entry("nil", nil, "HaveSentNothing matcher expects a []*capture.Exchange, got nil"),
		Entry("a wrong type", []capture.Exchange{}, "HaveSentNothing matcher expects a []*capture.Exchange, got []capture.Exchange"),
		Entry("a nil exchange", []*capture.Exchange{nil}, "HaveSentNothing matcher: exchange at index 0 is nil: the capture is malformed"),
		Entry("an unknown kind", []*capture.Exchange{{Seq: 4, Kind: "carrier-pigeon"}},
			`HaveSentNothing matcher: exchange #4 has unknown kind "carrier-pigeon": the capture is malformed or newer than this harness`),
	)

	It("clears what it found between calls, as Eventually needs", func() {
		m := matchers.HaveSentNothing()
		Expect(m.Match([]*capture.Exchange{report(1, "{}")})).To(BeFalse())
		Expect(m.Match([]*capture.Exchange{})).To(BeTrue())
		Expect(m.NegatedFailureMessage(nil)).To(Equal("Expected\n    <no exchanges>\nnot to have sent nothing"))
	})
})
