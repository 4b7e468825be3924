package canary_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// BenchmarkSearch measures Search (observation already built) for 50
// canaries in every form over a Pants-sized report (~1.3 KiB), the body of
// the 100,000-exchange scale capture (10 KiB, not JSON: cut mid-object) and
// a Turborepo-style array of events (~1 MiB), with and without hits.
func BenchmarkSearch(b *testing.B) {
	roles := []string{"user", "host", "node", "repo-id", "repo-path", "home", "custom-goal", "failing-target", "config-value", "env-value", "cmdline-arg"}
	var cs []canary.Canary
	for i := range 50 {
		cs = append(cs, canary.Generate(roles[i%len(roles)]))
	}
	s, err := canary.NewSearcher(cs)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d canaries, %d spellings", len(cs), s.Patterns())

	report, err := os.ReadFile("../observe/testdata/pants-2.16.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		invalid bool // not JSON, as sent: the search goes by byte offset
	}{
		{"1KiB", report, false},
		{"10KiB-scale", bytes.Repeat([]byte(`{"k":"0123456789abcdefghijklmnopqrstuvwxyz"},`), 10240/45+1)[:10240], true},
		{"1MiB", events(1<<20, ""), false},
		{"1MiB-hits", events(1<<20, cs[0].Value), false},
		// Every event carries a 64-character base64 token (48 random
		// bytes): each is decoded and tried as compressed data, the
		// layered search's worst case short of real hits.
		{"1MiB-base64-tokens", tokenEvents(1 << 20), false},
	} {
		ex := &capture.Exchange{Seq: 1, Method: "POST", URL: "https://telemetry.example/v1/events?v=1",
			Headers: []capture.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "User-Agent", Value: "python-requests/2.28.1"}},
			Body:    capture.Body{Raw: tc.body}}
		obs, err := observe.Observe(ex, observe.Options{TagLists: []observe.TagList{{Path: "$.tags", Sep: ":"}, {Path: "$[*].tags", Sep: ":"}}})
		if err != nil || (obs.BodyError != "") != tc.invalid {
			b.Fatalf("observe: %v %s", err, obs.BodyError)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			// MB/s is wall time, the share of the machine this process
			// got; on the shared 2-core VM other work skews it. cpu-MB/s
			// divides by the process's CPU time (GC included) instead.
			// The first search of a digest-sized run builds the
			// salted-hash index (BenchmarkDigestIndex): not timed here.
			s.Search(obs)
			n := 0
			cpu0 := cpuTime()
			for b.Loop() {
				s.Search(obs)
				n++
			}
			if d := cpuTime() - cpu0; d > 0 {
				b.ReportMetric(float64(n)*float64(len(tc.body))/d.Seconds()/1e6, "cpu-MB/s")
			}
		})
	}
}

// BenchmarkDigestIndex measures what a Searcher of 50 canaries costs on its
// first digest-sized run: every value hashed four ways, unsalted and salted
// with each other value and a constant, 7 separators, both sides (~140,000
// digests).
func BenchmarkDigestIndex(b *testing.B) {
	var cs []canary.Canary
	for range 50 {
		cs = append(cs, canary.Generate("user"))
	}
	digest := []byte("id=c097d99e988826c75cb2b4d4b56f937590ba2f0cf32e8be063321ef97cd5ca51")
	b.ReportAllocs()
	for b.Loop() {
		s, err := canary.NewSearcherWith(cs, canary.Options{Constants: []string{"pantsbuild/pants"}})
		if err != nil {
			b.Fatal(err)
		}
		s.SearchBytes(digest, 0, "x")
	}
}

// tokenEvents is events with each user id a base64 token of 48 bytes from a
// fixed-seed generator.
func tokenEvents(size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	return eventsWith(size, func(int) string {
		b := make([]byte, 48)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return base64.StdEncoding.EncodeToString(b)
	})
}

// events is a JSON array of telemetry events of about size bytes; every
// 100th event carries plant (when not empty) in a nested JSON string.
func events(size int, plant string) []byte {
	return eventsWith(size, func(i int) string {
		if plant != "" && i%100 == 0 {
			return plant
		}
		return "c097d99e988826c75cb2b4d4b56f937590ba2f0cf32e8be063321ef97cd5ca51"
	})
}

// eventsWith is events with user(i) as the user id of event i.
func eventsWith(size int, user func(i int) string) []byte {
	var evs []any
	n := 0
	for i := 0; n < size; i++ {
		inner, _ := json.Marshal(map[string]any{"user_id": user(i), "duration": 2.5, "goals": []string{"test", "lint"}})
		ev := map[string]any{
			"event":     fmt.Sprintf("run-%d", i),
			"timestamp": "2023-06-13T23:46:40.123Z",
			"platform":  "Linux-6.18.44-fc-v782-x86_64-with-glibc2.36",
			"content":   string(inner),
			"tags":      []string{"os:Linux", "arch:x86_64", "python:3.11.2", "outcome:SUCCESS"},
		}
		b, _ := json.Marshal(ev)
		n += len(b) + 1
		evs = append(evs, ev)
	}
	out, _ := json.Marshal(evs)
	return out
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
