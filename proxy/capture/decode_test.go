package capture_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// fixtureLines returns every line of the committed fixture captures.
func fixtureLines() ([][]byte, error) {
	paths, err := filepath.Glob("../../fixtures/captures/*/*/capture.jsonl")
	if err != nil {
		return nil, err
	}
	more, err := filepath.Glob("../../fixtures/captures/*/capture.jsonl")
	if err != nil {
		return nil, err
	}
	paths = append(paths, more...)
	if len(paths) == 0 {
		return nil, fmt.Errorf("no fixture captures found")
	}
	var lines [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(l) > 0 {
				lines = append(lines, l)
			}
		}
	}
	return lines, nil
}

// oddLines are records the Writer never produces but a reader must take
// exactly as encoding/json does: they leave the fast path.
var oddLines = []string{
	`{"type":"exchange","exchange":{"seq":1,"kind":"http","url":"https://h/p?a=1\u0026b=2","headers":[{"name":"X","value":"\u00e9t\u00e9 \ud83d\ude00"}]}}`,
	`{"type":"exchange","exchange":{"seq":1,"url":"caf` + "\xc3\xa9" + `","note":"bad ` + "\xff" + ` utf8"}}`,
	`{"type":"exchange","exchange":{"seq":1,"body":{"raw":"e30=","size":2},"Body":{"size":3}}}`,
	`{"type":"exchange","exchange":{"seq":1,"seq":2}}`,
	`{"type":"exchange","exchange":{"seq":1,"unknown":{"a":[1,2,{"b":null}]}}}`,
	`{"Type":"exchange","Exchange":{"Seq":7}}`,
	`{"type":"exchange","exchange":null}`,
	`{"type":"exchange","exchange":{"seq":1.0}}`,
	`{"type":"exchange","exchange":{"seq":1e2}}`,
	`{"type":"exchange","exchange":{"seq":-0}}`,
	`{"type":"exchange","exchange":{"seq":01}}`,
	`{"type":"exchange","exchange":{"seq":9223372036854775807,"conn":-9223372036854775808}}`,
	`{"type":"exchange","exchange":{"seq":9223372036854775808}}`,
	`{"type":"exchange","exchange":{"seq":"1"}}`,
	`{"type":"exchange","exchange":{"seq":1,"headers":[]}}`,
	`{"type":"exchange","exchange":{"seq":1,"headers":null}}`,
	`{"type":"exchange","exchange":{"seq":1,"body":{"raw":""}}}`,
	`{"type":"exchange","exchange":{"seq":1,"body":{"raw":"e30"}}}`,
	`{"type":"exchange","exchange":{"seq":1,"body":{"raw":"e3\r\n0="}}}`,
	`{"type":"exchange","exchange":{"seq":1,"body":{"raw":"e3\r\n\r\n0=\r\n\r\n"}}}`,
	`{"type":"exchange","exchange":{"seq":1,"body":{"raw":"e3\/0="}}}`,
	`{"type":"exchange","exchange":{"seq":1,"body":{"raw":"e30=","decoded":"e30=","truncated":true,"raw_truncated":false}}}`,
	`{"type":"exchange","exchange":{"seq":1,"time":"2026-11-27T14:10:47.523390145+01:00"}}`,
	`{"type":"exchange","exchange":{"seq":1,"time":"not a time"}}`,
	`{"type":"exchange","exchange":{"seq":1,"tls":{"sni":"a","sni":"b"}}}`,
	` { "type" : "response" , "seq" : 3 , "response" : { "status" : 200 , "body" : { "raw" : "e30=" } } } `,
	`{"type":"response","seq":3,"response":{"status":99999999999999999999}}`,
	`{"type":"response","seq":3}trailing`,
	`{"type":"response","seq":3}{}`,
	`{"type":"response","seq":3,}`,
	`{"type":"response"`,
	`["type"]`,
	`null`,
	`"x"`,
	`{"type":"response","seq":3,"response":{"status":true}}`,
	`{"type":"exchange","exchange":{"body":{"truncated":tru}}}`,
	`{"type":"exchange","exchange":{"body":{"truncated":truex}}}`,
	`{"type":"exchange","exchange":{"method":"GET` + "\t" + `"}}`,
	`{"type":"exchange","exchange":{"method":"\"quoted\" \\ back"}}`,
}

// sameAsEncodingJSON fails unless decoding line gives what json.Unmarshal
// gives: equal records (nil and empty slices told apart) and equal errors.
func sameAsEncodingJSON(line []byte) error {
	var want capture.Record
	werr := json.Unmarshal(line, &want)
	got, gerr := capture.DecodeRecordForTest(line)
	if fmt.Sprint(werr) != fmt.Sprint(gerr) {
		return fmt.Errorf("%q: error %w, encoding/json says %w", line, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		return fmt.Errorf("%q: decoded\n%s\nencoding/json decodes\n%s", line, g, w)
	}
	return nil
}

var _ = Describe("decoding a record", func() {
	It("gives what encoding/json gives for every fixture line", func() {
		lines, err := fixtureLines()
		Expect(err).NotTo(HaveOccurred(), "fixtureLines")
		Expect(len(lines)).To(BeNumerically(">", 20))
		fast := 0
		for _, l := range lines {
			Expect(sameAsEncodingJSON(l)).To(Succeed())
			if capture.DecodesFast(l) {
				fast++
			}
		}
		Expect(fast).To(Equal(len(lines)), "what the Writer writes stays on the fast path")
	})

	It("gives what encoding/json gives for records the writer never writes", func() {
		for _, l := range oddLines {
			Expect(sameAsEncodingJSON([]byte(l))).To(Succeed())
		}
	})

	It("gives what encoding/json gives for every prefix of a record", func() {
		lines, err := fixtureLines()
		Expect(err).NotTo(HaveOccurred(), "fixtureLines")
		l := lines[0]
		for i := range len(l) {
			Expect(sameAsEncodingJSON(l[:i])).To(Succeed())
		}
	})
})

// FuzzDecodeRecord compares the fast decoder with encoding/json.
//
//	go test -run '^$' -fuzz FuzzDecodeRecord -fuzztime 60s -fuzzminimizetime 3s ./proxy/capture/
func FuzzDecodeRecord(f *testing.F) {
	lines, err := fixtureLines()
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range lines {
		f.Add(l)
	}
	for _, l := range oddLines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if err := sameAsEncodingJSON(line); err != nil {
			t.Fatal(err)
		}
	})
}
