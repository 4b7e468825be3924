package judge_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
)

// writeCapture writes a JSONL capture of n POSTs to host, answering them in
// the order given by answer (indexes into the requests), like a recorder
// whose clients finish out of order.
func writeCapture(path, host string, n int, answer func(i int) int) {
	GinkgoHelper()
	w, err := capture.Create(path)
	Expect(err).NotTo(HaveOccurred(), "capture.Create")
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		ex := &capture.Exchange{Seq: int64(i), Kind: capture.KindHTTP, Time: t0.Add(time.Duration(i) * time.Millisecond),
			Conn: 1, Host: host, Method: "POST", URL: "https://" + host + "/v1/x", Proto: "HTTP/1.1",
			Headers: []capture.Header{{Name: "Content-Type", Value: "application/json"}},
			Body:    capture.Body{Raw: []byte(fmt.Sprintf(`{"n":%d}`, i)), Size: 8}}
		Expect(w.Exchange(ex)).To(Succeed())
	}
	for i := 0; i < n; i++ {
		Expect(w.Response(int64(answer(i)), &capture.Response{Status: 204, Time: t0.Add(time.Hour)})).To(Succeed())
	}
	Expect(w.Close()).To(Succeed())
}

func judgeOpened(scenario string, paths ...string) (*judge.Result, error) {
	GinkgoHelper()
	p := loadPolicy("policy.yaml")
	var runs []judge.RunData
	for _, d := range paths {
		r, err := judge.OpenRun(d)
		Expect(err).NotTo(HaveOccurred(), "judge.OpenRun")
		Expect(r.Capture).NotTo(BeEmpty(), "OpenRun streams the capture instead of loading it")
		Expect(r.Exchanges).To(BeNil())
		runs = append(runs, r)
	}
	return judge.Judge(judge.Input{Policy: p, Scenario: scenario, Runs: runs})
}

var _ = Describe("streamed judging", func() {
	It("gives every hand-written capture case the same result as judging it in memory", func() {
		p := loadPolicy("policy.yaml")
		for _, c := range cases() {
			dir := filepath.Join(root, "fixtures/captures", c.Name)
			sc, err := p.Scenario(c.Scenario)
			Expect(err).NotTo(HaveOccurred(), "p.Scenario")
			var loaded, opened []judge.RunData
			dirs := []string{dir}
			if len(sc.Runs) > 0 {
				dirs = nil
				for _, r := range sc.Runs {
					dirs = append(dirs, filepath.Join(dir, r.Name))
				}
			}
			for i, d := range dirs {
				l, err := judge.LoadRun(d)
				Expect(err).NotTo(HaveOccurred(), c.Name)
				o, err := judge.OpenRun(d)
				Expect(err).NotTo(HaveOccurred(), c.Name)
				if len(sc.Runs) > 0 {
					l.Name, l.Set = sc.Runs[i].Name, sc.Runs[i].Set
					o.Name, o.Set = sc.Runs[i].Name, sc.Runs[i].Set
				}
				loaded, opened = append(loaded, l), append(opened, o)
			}
			want, err := judge.Judge(judge.Input{Policy: p, Scenario: c.Scenario, Runs: loaded})
			Expect(err).NotTo(HaveOccurred(), c.Name)
			got, err := judge.Judge(judge.Input{Policy: p, Scenario: c.Scenario, Runs: opened})
			Expect(err).NotTo(HaveOccurred(), c.Name)
			Expect(got).To(Equal(want), c.Name)
		}
	})

	It("keeps MaxFindings findings per clause and counts the rest", func() {
		path := filepath.Join(GinkgoT().TempDir(), "capture.jsonl")
		n := judge.MaxFindings + 250
		writeCapture(path, "elsewhere.example", n, func(i int) int { return i + 1 })
		res, err := judgeOpened("opt-out", path)
		Expect(err).NotTo(HaveOccurred(), "judgeOpened")
		cr, ok := res.Clause("consent.nothing-until-opt-in")
		Expect(ok).To(BeTrue())
		Expect(cr.Verdict).To(Equal(judge.Violated))
		Expect(cr.Findings).To(Equal(n))
		Expect(cr.Omitted).To(Equal(250))
		kept := 0
		for _, f := range res.Findings {
			if f.Clause == "consent.nothing-until-opt-in" {
				kept++
				Expect(f.Exchange).To(BeNumerically("<=", judge.MaxFindings), "the first findings in capture order are kept")
			}
		}
		Expect(kept).To(Equal(judge.MaxFindings))
	})

	It("lists findings in sequence order although the capture streams in completion order", func() {
		path := filepath.Join(GinkgoT().TempDir(), "capture.jsonl")
		const n = 40
		writeCapture(path, "elsewhere.example", n, func(i int) int { return n - i }) // last request answered first
		res, err := judgeOpened("opt-out", path)
		Expect(err).NotTo(HaveOccurred(), "judgeOpened")
		var seqs []int64
		for _, f := range res.Findings {
			if f.Clause == "consent.nothing-until-opt-in" {
				seqs = append(seqs, f.Exchange)
			}
		}
		Expect(seqs).To(HaveLen(n))
		for i, s := range seqs {
			Expect(s).To(Equal(int64(i+1)), "finding %d", i)
		}
	})

	It("makes a capture cut mid-line a harness error: at open when it is chained, else found while streaming", func() {
		dir := GinkgoT().TempDir()
		path := filepath.Join(dir, "capture.jsonl")
		writeCapture(path, "elsewhere.example", 3, func(i int) int { return i + 1 })
		b, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(os.WriteFile(path, append(b, []byte(`{"type":"exchange","exchange":{"seq":4,"ki`)...), 0o600)).To(Succeed())
		_, err = judge.OpenRun(path)
		Expect(err).To(And(MatchError(capture.ErrTruncated), MatchError(capture.ErrIntegrity)))
		Expect(err.Error()).To(ContainSubstring(path + " line 7"))

		// An older capture without its chain is opened, and streaming
		// finds the cut line.
		Expect(os.Remove(filepath.Join(dir, capture.IntegrityName))).To(Succeed())
		_, err = judgeOpened("opt-out", path)
		Expect(err).To(MatchError(capture.ErrTruncated))
		Expect(err.Error()).To(ContainSubstring(path))
	})

	It("stops every worker and the reader when an exchange cannot be judged", func() {
		before := gleak.Goroutines()
		var exs []*capture.Exchange
		for i := 1; i <= 200; i++ {
			exs = append(exs, &capture.Exchange{Seq: int64(i), Kind: capture.KindHTTP, Host: "elsewhere.example", Method: "GET", URL: "https://elsewhere.example/"})
		}
		exs[99] = nil
		p := loadPolicy("policy.yaml")
		_, err := judge.Judge(judge.Input{Policy: p, Scenario: "opt-out", Runs: []judge.RunData{{Exchanges: exs}}})
		Expect(err).To(MatchError(ContainSubstring("run 1: a nil exchange in the run")))
		Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(before))
	})

	It("names at most ten blind exchanges in a reason and counts the others", func() {
		path := filepath.Join(GinkgoT().TempDir(), "capture.jsonl")
		w, err := capture.Create(path)
		Expect(err).NotTo(HaveOccurred(), "capture.Create")
		for i := 1; i <= 25; i++ {
			Expect(w.Exchange(&capture.Exchange{Seq: int64(i), Kind: capture.KindTunnelRejected, Conn: int64(i),
				Host: fmt.Sprintf("pinned%02d.example:443", i), Note: "client rejected the certificate"})).To(Succeed())
		}
		Expect(w.Close()).To(Succeed())
		res, err := judgeOpened("opt-in", path)
		Expect(err).NotTo(HaveOccurred(), "judgeOpened")
		cr, ok := res.Clause("fields.documented-only")
		Expect(ok).To(BeTrue())
		Expect(cr.Verdict).To(Equal(judge.Unobservable))
		Expect(strings.Count(cr.Reason, "is tunnel-rejected to")).To(Equal(10), cr.Reason)
		Expect(cr.Reason).To(ContainSubstring("and 15 more"))
	})
})

var _ = Describe("a handshake the transparent path caught at the namespace's address", func() {
	judgeOne := func(sni string) judge.ClauseResult {
		GinkgoHelper()
		path := filepath.Join(GinkgoT().TempDir(), "capture.jsonl")
		w, err := capture.Create(path)
		Expect(err).NotTo(HaveOccurred(), "create the capture")
		// What a Node client racing IPv4 against IPv6 leaves: a handshake
		// at the namespace's one IPv6 address, reset by the client.
		Expect(w.Exchange(&capture.Exchange{Seq: 1, Kind: capture.KindTunnelRejected, Path: capture.PathTransparent, Conn: 1,
			Host: "[2001:db8::1]:443", TLS: &capture.TLS{SNI: sni}, BytesFromClient: 394,
			Note: "TLS handshake with the client failed: connection reset by peer"})).To(Succeed(), "write the exchange")
		Expect(w.Close()).To(Succeed(), "close the capture")
		res, err := judgeOpened("opt-in", path)
		Expect(err).NotTo(HaveOccurred(), "judge")
		cr, ok := res.Clause("destination.processor-only")
		Expect(ok).To(BeTrue())
		return cr
	}

	It("is judged by the server name it asked for: the endpoint's is not another destination, only unseen", func() {
		cr := judgeOne("spire.bugout.dev")
		Expect(cr.Verdict).To(Equal(judge.Unobservable))
		Expect(cr.Reason).To(ContainSubstring("exchange #1 is tunnel-rejected"))
	})

	It("names another server name as a destination outside the endpoint", func() {
		cr := judgeOne("collector.elsewhere.example")
		Expect(cr.Verdict).To(Equal(judge.Violated))
	})
})
