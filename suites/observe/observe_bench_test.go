package observe_test

import (
	"bytes"
	"testing"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// BenchmarkObserve observes a Pants-shaped report (JSON inside a string,
// a tag list) and a 10 KiB body that starts like JSON but is not (the
// scale capture's): the cost every exchange of a judged capture pays.
func BenchmarkObserve(b *testing.B) {
	report := []byte(`{"title":"pants run","content":"{\"run_id\":\"pants_run_2023\",\"user_id\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"goals\":[\"test\",\"lint\"],\"num_goals\":2,\"outcome\":\"SUCCESS\"}","tags":["source:pants","goal:test","goal:lint","user:9f86d0"]}`)
	scale := bytes.Repeat([]byte(`{"k":"0123456789abcdef"},`), 420)[:10240]
	opts := observe.Options{TagLists: []observe.TagList{{Path: "$.tags", Sep: ":"}}}
	for _, c := range []struct {
		name string
		body []byte
	}{{"report", report}, {"not-json-10KiB", scale}} {
		ex := &capture.Exchange{Kind: capture.KindHTTP, Method: "POST", URL: "https://t.example/r",
			Headers: []capture.Header{{Name: "Content-Type", Value: "application/json"}},
			Body:    capture.Body{Raw: c.body, Size: int64(len(c.body))}}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := observe.Observe(ex, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
