package capture_test

import (
	"bytes"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

var _ = Describe("WebSocket messages in HAR", func() {
	It("lists them on the upgrade's entry (_webSocketMessages) and reads them back as exchanges", func() {
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		exs := []*capture.Exchange{
			{Seq: 1, Kind: capture.KindWebSocket, Time: at, Method: "GET", URL: "https://events.example/ws", Proto: "HTTP/1.1",
				Headers: []capture.Header{{Name: "Upgrade", Value: "websocket"}}},
			{Seq: 2, Kind: capture.KindWebSocketMessage, Time: at, URL: "https://events.example/ws", Parent: 1,
				Body: capture.Body{Raw: []byte(`{"u":"alice"}`), Size: 13}},
			{Seq: 3, Kind: capture.KindWebSocketMessage, Time: at, URL: "https://events.example/ws", Parent: 1, FromServer: true,
				Body: capture.Body{Raw: []byte{0xff, 0x00}, Size: 2}},
		}
		var buf bytes.Buffer
		Expect(capture.WriteHAR(&buf, exs, false)).To(Succeed())
		Expect(buf.String()).To(ContainSubstring(`"_webSocketMessages": [`))
		Expect(buf.String()).To(ContainSubstring(`"type": "send"`))
		Expect(buf.String()).To(ContainSubstring(`"data": "{\"u\":\"alice\"}"`))
		Expect(buf.String()).To(ContainSubstring(`"type": "receive"`))
		Expect(buf.String()).To(ContainSubstring(`"data": "/wA="`), "binary data base64, as Chrome writes it")

		back, err := capture.ReadHAR(&buf, "ws.har")
		Expect(err).NotTo(HaveOccurred(), "capture.ReadHAR")
		Expect(back).To(HaveLen(3))
		Expect(back[1].Kind).To(Equal(capture.KindWebSocketMessage))
		Expect(back[1].Parent).To(BeEquivalentTo(1))
		Expect(string(back[1].Body.Raw)).To(Equal(`{"u":"alice"}`))
		Expect(back[2].FromServer).To(BeTrue())
	})
})
