package capture_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

func exchangeLine(seq int64, kind capture.Kind) string {
	b, err := json.Marshal(capture.Record{Type: capture.RecordExchange, Exchange: &capture.Exchange{Seq: seq, Kind: kind, Method: "POST"}})
	Expect(err).NotTo(HaveOccurred(), "json.Marshal")
	return string(b) + "\n"
}

func responseLine(seq int64, status int) string {
	b, err := json.Marshal(capture.Record{Type: capture.RecordResponse, Seq: seq, Response: &capture.Response{Status: status}})
	Expect(err).NotTo(HaveOccurred(), "json.Marshal")
	return string(b) + "\n"
}

var _ = Describe("streaming a JSON Lines capture", func() {
	It("hands over an exchange as soon as its response is read, before the rest of the file exists", func() {
		pr, pw := io.Pipe()
		got := make(chan int64, 10)
		done := make(chan error, 1)
		go func() {
			done <- capture.ScanJSONL(pr, "pipe", func(ex *capture.Exchange) error {
				got <- ex.Seq
				return nil
			})
		}()
		_, err := io.WriteString(pw, exchangeLine(1, capture.KindHTTP)+exchangeLine(2, capture.KindHTTP)+responseLine(2, 204))
		Expect(err).NotTo(HaveOccurred(), "io.WriteString")
		Eventually(got).Should(Receive(BeEquivalentTo(2)), "#2 is complete while #1 still waits and the writer is still open")
		Consistently(got, "50ms").ShouldNot(Receive(), "#1 waits for its response")
		_, err = io.WriteString(pw, exchangeLine(3, capture.KindOpaqueTunnel))
		Expect(err).NotTo(HaveOccurred(), "io.WriteString")
		Eventually(got).Should(Receive(BeEquivalentTo(3)), "a tunnel record never gets a response: handed over at once")
		_, err = io.WriteString(pw, exchangeLine(5, capture.KindHTTP)+exchangeLine(4, capture.KindHTTP))
		Expect(err).NotTo(HaveOccurred(), "io.WriteString")
		Expect(pw.Close()).To(Succeed())
		Eventually(done).Should(Receive(BeNil()))
		Expect([]int64{<-got, <-got, <-got}).To(Equal([]int64{1, 4, 5}), "exchanges without a response come at the end, in sequence order")
	})

	It("reads back in sequence order with ReadJSONL whatever the completion order", func() {
		in := exchangeLine(1, capture.KindHTTP) + exchangeLine(2, capture.KindHTTP) + responseLine(2, 200) +
			exchangeLine(3, capture.KindTunnelRejected) + responseLine(1, 201)
		exs, err := capture.ReadJSONL(bytes.NewBufferString(in), "mem")
		Expect(err).NotTo(HaveOccurred(), "capture.ReadJSONL")
		Expect(exs).To(HaveLen(3))
		for i, ex := range exs {
			Expect(ex.Seq).To(BeEquivalentTo(i + 1))
		}
		Expect(exs[0].Response.Status).To(Equal(201))
		Expect(exs[1].Response.Status).To(Equal(200))
		Expect(exs[2].Response).To(BeNil())
	})

	It("names the line of a second response for one exchange", func() {
		in := exchangeLine(1, capture.KindHTTP) + responseLine(1, 200) + responseLine(1, 500)
		_, err := capture.ReadJSONL(bytes.NewBufferString(in), "mem")
		Expect(err).To(MatchError(ContainSubstring("mem line 3: second response for exchange #1")))
	})

	It("stops at fn's error and returns it", func() {
		in := exchangeLine(1, capture.KindOpaqueTunnel) + exchangeLine(2, capture.KindOpaqueTunnel)
		stop := fmt.Errorf("enough")
		n := 0
		err := capture.ScanJSONL(bytes.NewBufferString(in), "mem", func(*capture.Exchange) error { n++; return stop })
		Expect(err).To(MatchError(stop))
		Expect(n).To(Equal(1))
	})

	It("scans a run folder like Load reads it", func() {
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, capture.JSONLName), []byte(exchangeLine(1, capture.KindHTTP)+responseLine(1, 200)), 0o600)).To(Succeed())
		var seqs []int64
		Expect(capture.ScanFile(dir, func(ex *capture.Exchange) error {
			Expect(ex.Response).NotTo(BeNil())
			seqs = append(seqs, ex.Seq)
			return nil
		})).To(Succeed())
		Expect(seqs).To(Equal([]int64{1}))
	})
})

var _ = Describe("the JSON Lines writer", func() {
	It("writes an exchange at once and a queued response with the next exchange, or on Flush", func() {
		path := filepath.Join(GinkgoT().TempDir(), capture.JSONLName)
		w, err := capture.Create(path)
		Expect(err).NotTo(HaveOccurred(), "capture.Create")
		DeferCleanup(w.Close)
		lines := func() []string {
			b, err := os.ReadFile(path)
			Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
			var types []string
			for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
				var r capture.Record
				Expect(json.Unmarshal(l, &r)).To(Succeed(), "every line written whole")
				seq := r.Seq
				if r.Exchange != nil {
					seq = r.Exchange.Seq
				}
				types = append(types, fmt.Sprintf("%s %d", r.Type, seq))
			}
			return types
		}
		Expect(w.Exchange(&capture.Exchange{Seq: 1, Kind: capture.KindHTTP})).To(Succeed())
		Expect(lines()).To(Equal([]string{"exchange 1"}), "on disk before Exchange returns (a SIGKILL keeps it)")
		Expect(w.Response(1, &capture.Response{Status: 200})).To(Succeed())
		Expect(w.Exchange(&capture.Exchange{Seq: 2, Kind: capture.KindHTTP})).To(Succeed())
		Expect(lines()).To(Equal([]string{"exchange 1", "response 1", "exchange 2"}))
		Expect(w.Response(2, &capture.Response{Status: 200})).To(Succeed())
		Expect(w.Flush()).To(Succeed())
		Expect(lines()).To(HaveLen(4))
		Expect(w.Count()).To(BeEquivalentTo(4))
	})

	It("writes a queued response by itself soon when no exchange follows", func() {
		path := filepath.Join(GinkgoT().TempDir(), capture.JSONLName)
		w, err := capture.Create(path)
		Expect(err).NotTo(HaveOccurred(), "capture.Create")
		DeferCleanup(w.Close)
		Expect(w.Exchange(&capture.Exchange{Seq: 1, Kind: capture.KindHTTP})).To(Succeed())
		Expect(w.Response(1, &capture.Response{Status: 200})).To(Succeed())
		Eventually(func() int {
			b, _ := os.ReadFile(path)
			return bytes.Count(b, []byte("\n"))
		}).WithTimeout(2 * time.Second).Should(Equal(2))
	})
})
