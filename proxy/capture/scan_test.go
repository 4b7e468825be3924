package capture_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// oracleScan is ScanJSONL as it was before the fast decoder and the
// parallel reader (encoding/json, one line at a time): the reference the
// new scanner must match exactly.
func oracleScan(r io.Reader, name string, fn func(*capture.Exchange) error, maxLine int) error {
	br := bufio.NewReaderSize(r, 1<<20)
	readLine := func() ([]byte, error) {
		var buf []byte
		for {
			chunk, err := br.ReadSlice('\n')
			buf = append(buf, chunk...)
			if len(buf) > maxLine {
				return nil, fmt.Errorf("line longer than %d bytes", maxLine)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err == nil {
				return buf[:len(buf)-1], nil
			}
			return buf, err
		}
	}
	awaits := func(k capture.Kind) bool { return k != capture.KindTunnelRejected && k != capture.KindOpaqueTunnel }
	waiting := map[int64]*capture.Exchange{}
	seen := map[int64]bool{}
	var truncErr error
	for lineNo := 1; ; lineNo++ {
		line, err := readLine()
		if len(line) == 0 && errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read capture %s line %d: %w", name, lineNo, err)
		}
		complete := err == nil
		if len(bytes.TrimSpace(line)) == 0 {
			if !complete {
				break
			}
			continue
		}
		var rec capture.Record
		if uerr := json.Unmarshal(line, &rec); uerr != nil {
			if !complete {
				truncErr = fmt.Errorf("capture %s line %d: %w (kept the %d records before it)", name, lineNo, capture.ErrTruncated, lineNo-1)
				break
			}
			return fmt.Errorf("capture %s line %d: not a capture record: %w", name, lineNo, uerr)
		}
		switch rec.Type {
		case capture.RecordExchange:
			ex := rec.Exchange
			if ex == nil {
				return fmt.Errorf("capture %s line %d: exchange record without exchange", name, lineNo)
			}
			if seen[ex.Seq] {
				return fmt.Errorf("capture %s line %d: exchange #%d recorded twice", name, lineNo, ex.Seq)
			}
			seen[ex.Seq] = true
			if ex.Response != nil || !awaits(ex.Kind) {
				if err := fn(ex); err != nil {
					return err
				}
				continue
			}
			waiting[ex.Seq] = ex
		case capture.RecordResponse:
			ex, ok := waiting[rec.Seq]
			if !ok {
				if seen[rec.Seq] {
					return fmt.Errorf("capture %s line %d: second response for exchange #%d", name, lineNo, rec.Seq)
				}
				return fmt.Errorf("capture %s line %d: response for unknown exchange #%d", name, lineNo, rec.Seq)
			}
			delete(waiting, rec.Seq)
			ex.Response = rec.Response
			if err := fn(ex); err != nil {
				return err
			}
		default:
			return fmt.Errorf("capture %s line %d: unknown record type %q (want %q or %q)", name, lineNo, rec.Type, capture.RecordExchange, capture.RecordResponse)
		}
		if !complete {
			break
		}
	}
	rest := make([]int64, 0, len(waiting))
	for s := range waiting {
		rest = append(rest, s)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	for _, s := range rest {
		if err := fn(waiting[s]); err != nil {
			return err
		}
	}
	return truncErr
}

// scanOutcome is what a scan hands over and returns.
type scanOutcome struct {
	exchanges []*capture.Exchange
	err       string
}

var errEnough = errors.New("enough")

// collect returns fn for a scan that stops with errEnough after stopAfter
// exchanges (never when stopAfter is 0).
func collect(o *scanOutcome, stopAfter int) func(*capture.Exchange) error {
	return func(ex *capture.Exchange) error {
		o.exchanges = append(o.exchanges, ex)
		if stopAfter > 0 && len(o.exchanges) == stopAfter {
			return errEnough
		}
		return nil
	}
}

// compareScans scans data with every reader configuration and says how
// the result differs from the oracle's, if it does.
func compareScans(dir string, data []byte, maxLine, stopAfter int) error {
	var want scanOutcome
	want.err = fmt.Sprint(oracleScan(bytes.NewReader(data), "c.jsonl", collect(&want, stopAfter), maxLine))
	path := filepath.Join(dir, "c.jsonl")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	for _, cfg := range []struct{ workers, chunk int }{{1, 16}, {1, 100}, {1, 1 << 20}, {2, 1}, {2, 7}, {2, 100}, {3, 4096}, {2, 1 << 20}} {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		var got scanOutcome
		got.err = fmt.Sprint(capture.ScanJSONLWith(f, "c.jsonl", collect(&got, stopAfter), maxLine, cfg.workers, cfg.chunk))
		f.Close()
		if got.err != want.err {
			return fmt.Errorf("workers %d chunk %d: error %q, want %q", cfg.workers, cfg.chunk, got.err, want.err)
		}
		if len(got.exchanges) != len(want.exchanges) {
			return fmt.Errorf("workers %d chunk %d: %d exchanges, want %d", cfg.workers, cfg.chunk, len(got.exchanges), len(want.exchanges))
		}
		for i := range want.exchanges {
			if !reflect.DeepEqual(got.exchanges[i], want.exchanges[i]) {
				return fmt.Errorf("workers %d chunk %d: exchange %d is %s, want %s", cfg.workers, cfg.chunk, i, got.exchanges[i], want.exchanges[i])
			}
		}
	}
	return nil
}

// sameScans fails unless scanning data with every reader configuration
// gives exactly what the oracle gives.
func sameScans(dir string, data []byte, maxLine, stopAfter int) {
	GinkgoHelper()
	Expect(compareScans(dir, data, maxLine, stopAfter)).To(Succeed())
}

// recorded writes a capture the way the recorder does: concurrent
// requests whose responses arrive out of order, tunnel records, bodies of
// several sizes.
func recorded(dir string, n int) []byte {
	GinkgoHelper()
	path := filepath.Join(dir, "rec.jsonl")
	w, err := capture.Create(path)
	Expect(err).NotTo(HaveOccurred(), "capture.Create")
	t0 := time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)
	var open []int64
	for i := 1; i <= n; i++ {
		s := int64(i)
		kind := capture.KindHTTP
		if i%7 == 0 {
			kind = capture.KindOpaqueTunnel
		}
		body := bytes.Repeat([]byte{byte('a' + i%26)}, (i*37)%300)
		Expect(w.Exchange(&capture.Exchange{Seq: s, Kind: kind, Time: t0.Add(time.Duration(i) * time.Millisecond), Mono: s * 1000, Conn: s % 3,
			Host: "h.example:443", Method: "POST", URL: fmt.Sprintf("https://h.example/p?i=%d&x=<y>", i), Proto: "HTTP/1.1",
			Headers: []capture.Header{{Name: "Host", Value: "h.example"}, {Name: "X-Café", Value: "é"}},
			Body:    capture.Body{Raw: body, Size: int64(len(body))}})).To(Succeed())
		if kind == capture.KindHTTP {
			open = append(open, s)
		}
		if len(open) == 3 { // answer the middle one first
			for _, r := range []int64{open[1], open[0], open[2]} {
				Expect(w.Response(r, &capture.Response{Status: 200 + int(r%5), Body: capture.Body{Raw: []byte("{}"), Size: 2}, Time: t0})).To(Succeed())
			}
			open = open[:0]
		}
	}
	Expect(w.Close()).To(Succeed())
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
	return b
}

var _ = Describe("scanning with the fast decoder and parallel reader", func() {
	var dir string
	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		before := gleak.Goroutines()
		DeferCleanup(func() {
			Eventually(gleak.Goroutines).ShouldNot(gleak.HaveLeaked(before), "every reader and decoder goroutine has ended")
		})
	})

	It("hands over what the encoding/json reader did for a recorded capture, and when fn stops it", func() {
		data := recorded(dir, 40)
		sameScans(dir, data, 1<<20, 0)
		for _, stop := range []int{1, 2, 17, 33} {
			sameScans(dir, data, 1<<20, stop)
		}
	})

	It("matches it on a capture cut at any byte", func() {
		data := recorded(dir, 3)
		for i := 0; i <= len(data); i += 1 + i%13 {
			sameScans(dir, data[:i], 1<<20, 0)
		}
	})

	It("matches it on broken captures, naming the same line", func() {
		ex := func(seq int, kind capture.Kind) string { return exchangeLine(int64(seq), kind) }
		for _, in := range []string{
			"",
			"\n\n  \n",
			ex(1, capture.KindHTTP) + "   ",
			ex(1, capture.KindHTTP) + responseLine(1, 200) + "not json\n" + ex(2, capture.KindHTTP),
			ex(1, capture.KindHTTP) + ex(1, capture.KindHTTP),
			responseLine(9, 200),
			ex(1, capture.KindHTTP) + responseLine(1, 200) + responseLine(1, 200),
			ex(1, capture.KindOpaqueTunnel) + `{"type":"note"}` + "\n",
			`{"type":"exchange"}` + "\n",
			ex(1, capture.KindHTTP) + strings.TrimSuffix(responseLine(1, 200), "\n"),
			ex(1, capture.KindHTTP) + "\r\n" + strings.ReplaceAll(responseLine(1, 200), "\n", "\r\n"),
			ex(3, capture.KindHTTP) + ex(1, capture.KindHTTP) + ex(2, capture.KindTunnelRejected) + `{"type":"response","seq":3,"response":{"status":1}}`,
		} {
			sameScans(dir, []byte(in), 1<<20, 0)
		}
	})

	It("matches it on a line over the limit, with and without its newline", func() {
		data := recorded(dir, 5)
		for _, limit := range []int{60, 200, 400} {
			sameScans(dir, data, limit, 0)
			sameScans(dir, data[:len(data)-1], limit, 0)
		}
	})

	It("reads a large capture whole in both modes", func() {
		data := recorded(dir, 2000)
		sameScans(dir, data, 1<<20, 0)
		sameScans(dir, data, 1<<20, 1999)
	})
})

var _ = Describe("a scan that fn panics out of", func() {
	It("ends its reader and decoders before the panic goes on", func() {
		dir := GinkgoT().TempDir()
		path := filepath.Join(dir, "c.jsonl")
		Expect(os.WriteFile(path, recorded(dir, 300), 0o600)).To(Succeed())
		before := gleak.Goroutines()
		f, err := os.Open(path)
		Expect(err).NotTo(HaveOccurred(), "os.Open")
		DeferCleanup(f.Close)
		n := 0
		Expect(func() {
			_ = capture.ScanJSONLWith(f, "c.jsonl", func(*capture.Exchange) error {
				if n++; n == 10 {
					panic("fn broke")
				}
				return nil
			}, 1<<20, 2, 512)
		}).To(PanicWith("fn broke"))
		Eventually(gleak.Goroutines).ShouldNot(gleak.HaveLeaked(before))
	})
})

// FuzzScanJSONL compares the scanner, serial and parallel, with the
// encoding/json one on arbitrary files.
//
//	go test -run '^$' -fuzz FuzzScanJSONL -fuzztime 60s -fuzzminimizetime 3s ./proxy/capture/
func FuzzScanJSONL(f *testing.F) {
	lines, err := fixtureLines()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Join(lines[:6], []byte("\n")), 200, 0)
	f.Add(bytes.Join(lines[:6], []byte("\n"))[:500], 1<<20, 1)
	f.Add([]byte(`{"type":"exchange","exchange":{"seq":1,"kind":"http","time":"0001-01-01T00:00:00Z","mono_ns":0,"conn":0,"body":{"size":0}}}`+"\n"+
		`{"type":"exchange","exchange":{"seq":2,"kind":"opaque-tunnel","time":"0001-01-01T00:00:00Z","mono_ns":0,"conn":0,"body":{"size":0}}}`+"\n \n"+
		`{"type":"response","seq":1,"response":{"status":200,"body":{"size":0},"time":"0001-01-01T00:00:00Z"}}`), 1<<20, 0)
	f.Fuzz(func(t *testing.T, data []byte, maxLine, stopAfter int) {
		if maxLine < 1 || maxLine > 1<<20 || stopAfter < 0 {
			t.Skip()
		}
		if err := compareScans(t.TempDir(), data, maxLine, stopAfter); err != nil {
			t.Fatal(err)
		}
	})
}
