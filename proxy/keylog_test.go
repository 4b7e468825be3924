package proxy_test

import (
	"crypto/tls"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/telemetry-harness/telemetry-harness/proxy"
)

var _ = Describe("the TLS key log", func() {
	It("holds the secrets the client logged for the same MITM'd session, in the NSS format", func() {
		keys := gbytes.NewBuffer() // safe for concurrent use
		s := startProxy(proxy.Options{KeyLog: keys})
		client := gbytes.NewBuffer()
		raw := s.connect("spire.bugout.dev:443")
		tc := tls.Client(raw, &tls.Config{RootCAs: s.caPool(), ServerName: "spire.bugout.dev", KeyLogWriter: client})
		Expect(tc.Handshake()).To(Succeed())
		Expect(tc.Close()).To(Succeed())

		want := strings.Split(strings.TrimSpace(string(client.Contents())), "\n")
		Expect(want).To(ContainElement(HavePrefix("CLIENT_TRAFFIC_SECRET_0 ")), "TLS 1.3 secrets")
		for _, line := range want {
			Expect(line).To(MatchRegexp(`^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+$`))
		}
		Eventually(func() []string {
			return strings.Split(strings.TrimSpace(string(keys.Contents())), "\n")
		}).Should(ConsistOf(want), "the proxy's side of the session")
	})
})
