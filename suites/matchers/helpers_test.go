package matchers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

const root = "../.."

// report is a request to the documented endpoint carrying body.
func report(seq int64, body string, headers ...capture.Header) *capture.Exchange {
	return request(seq, "POST", "spire.bugout.dev", "https://spire.bugout.dev/humbug/reports", body, headers...)
}

func request(seq int64, method, host, url, body string, headers ...capture.Header) *capture.Exchange {
	return &capture.Exchange{
		Seq: seq, Kind: capture.KindHTTP, Conn: 1, Host: host + ":443",
		TLS:    &capture.TLS{SNI: host, Version: "TLS 1.3"},
		Method: method, URL: url, Proto: "HTTP/1.1",
		Headers: append([]capture.Header{{Name: "Host", Value: host}, {Name: "Content-Type", Value: "application/json"}}, headers...),
		Body:    capture.Body{Raw: []byte(body), Size: int64(len(body))},
	}
}

func tunnel(seq int64, kind capture.Kind, authority string) *capture.Exchange {
	return &capture.Exchange{Seq: seq, Kind: kind, Conn: seq, Host: authority, Note: "client aborted the TLS handshake"}
}

// to and notTo return the failures an assertion reported: none when it
// passed.
func to(actual any, m types.GomegaMatcher) []string {
	return InterceptGomegaFailures(func() { Expect(actual).To(m) })
}

func notTo(actual any, m types.GomegaMatcher) []string {
	return InterceptGomegaFailures(func() { Expect(actual).NotTo(m) })
}

// bothFail asserts that a matcher errs, so neither To nor NotTo passes, and
// returns the error text (the same under both).
func bothFail(actual any, m types.GomegaMatcher) string {
	GinkgoHelper()
	pos, neg := to(actual, m), notTo(actual, m)
	Expect(pos).To(HaveLen(1), "To must fail on bad input")
	Expect(neg).To(HaveLen(1), "NotTo must fail on bad input")
	Expect(neg[0]).To(Equal(pos[0]), "the error reads the same under To and NotTo")
	return pos[0]
}
