package proxy_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// wsFrame is one client frame: masked, as RFC 6455 requires of clients.
func wsFrame(fin bool, op byte, payload []byte) []byte {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	default:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	}
	key := []byte{0x12, 0x34, 0x56, 0x78}
	b = append(b, key...)
	for i, x := range payload {
		b = append(b, x^key[i%4])
	}
	return b
}

var _ = Describe("WebSocket messages in sink mode", func() {
	It("records every client message after the upgrade, fragments joined and unmasked", func() {
		s := startProxy(proxy.Options{})
		c := s.tlsConnect("events.example")
		key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
		_, err := fmt.Fprintf(c, "GET /stream HTTP/1.1\r\nHost: events.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", key)
		Expect(err).NotTo(HaveOccurred(), "fmt.Fprintf")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		Expect(err).NotTo(HaveOccurred(), "http.ReadResponse")
		Expect(resp.StatusCode).To(Equal(http.StatusSwitchingProtocols))
		long := make([]byte, 300)
		for i := range long {
			long[i] = 'a' + byte(i%26)
		}
		var frames []byte
		frames = append(frames, wsFrame(false, 0x1, []byte(`{"user": "al`))...)
		frames = append(frames, wsFrame(false, 0x9, []byte("ping"))...) // a control frame between fragments
		frames = append(frames, wsFrame(true, 0x0, []byte(`ice"}`))...)
		frames = append(frames, wsFrame(true, 0x2, long)...)
		frames = append(frames, wsFrame(true, 0x8, []byte{0x03, 0xe8})...)
		_, err = c.Write(frames)
		Expect(err).NotTo(HaveOccurred(), "c.Write")

		Eventually(s.p.Exchanges).Should(BeEquivalentTo(3))
		c.Close()
		exs := s.exchanges()
		Expect(exs[0].Kind).To(Equal(capture.KindWebSocket))
		Expect(exs[1].Kind).To(Equal(capture.KindWebSocketMessage))
		Expect(exs[1].Parent).To(Equal(exs[0].Seq))
		Expect(string(exs[1].Body.Raw)).To(Equal(`{"user": "alice"}`))
		Expect(exs[1].Note).To(Equal("WebSocket text message from the client on exchange #1"))
		Expect(exs[1].URL).To(Equal("https://events.example/stream"))
		Expect(exs[2].Body.Raw).To(Equal(long))
		Expect(exs[2].Body.Size).To(BeEquivalentTo(300))
		Expect(exs[2].FromServer).To(BeFalse())
	})
})

var _ = Describe("WebSocket messages in forward mode", func() {
	It("relays both directions and records each message, the server's marked as such", func() {
		origin := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
			_ = brw.Flush()
			// One masked client frame of at most 125 bytes, echoed unmasked.
			var h [6]byte
			if _, err := io.ReadFull(brw, h[:]); err != nil {
				return
			}
			p := make([]byte, h[1]&0x7f)
			if _, err := io.ReadFull(brw, p); err != nil {
				return
			}
			for i := range p {
				p[i] ^= h[2+i%4]
			}
			reply := append([]byte("echo:"), p...)
			_, _ = conn.Write(append([]byte{0x81, byte(len(reply))}, reply...))
			_, _ = io.Copy(io.Discard, brw) // until the client closes
		}))
		origin.StartTLS()
		DeferCleanup(origin.Close)
		pool := x509.NewCertPool()
		pool.AddCert(origin.Certificate())
		s := startProxy(proxy.Options{Forward: true, UpstreamTLS: &tls.Config{RootCAs: pool}})
		target := strings.TrimPrefix(origin.URL, "https://")
		raw := s.connect(target)
		c := tls.Client(raw, &tls.Config{RootCAs: s.caPool(), ServerName: "127.0.0.1"})
		Expect(c.Handshake()).To(Succeed())
		_, err := fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n", target)
		Expect(err).NotTo(HaveOccurred(), "fmt.Fprintf")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		Expect(err).NotTo(HaveOccurred(), "http.ReadResponse")
		Expect(resp.StatusCode).To(Equal(http.StatusSwitchingProtocols))
		_, err = c.Write(wsFrame(true, 0x1, []byte("hi alice")))
		Expect(err).NotTo(HaveOccurred(), "c.Write")
		var h [2]byte
		_, err = io.ReadFull(br, h[:])
		Expect(err).NotTo(HaveOccurred(), "io.ReadFull")
		echo := make([]byte, h[1])
		_, err = io.ReadFull(br, echo)
		Expect(err).NotTo(HaveOccurred(), "io.ReadFull")
		Expect(string(echo)).To(Equal("echo:hi alice"), "relayed both ways, unchanged")

		Eventually(s.p.Exchanges).Should(BeEquivalentTo(3))
		c.Close()
		var msgs []string
		for _, ex := range s.exchanges() {
			if ex.Kind == capture.KindWebSocketMessage {
				msgs = append(msgs, fmt.Sprintf("%v %s", ex.FromServer, ex.Body.Raw))
			}
		}
		Expect(msgs).To(ConsistOf("false hi alice", "true echo:hi alice"))
	})
})
