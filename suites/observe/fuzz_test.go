package observe_test

import (
	"os"
	"testing"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// FuzzObserve feeds arbitrary bodies, URLs and content types: Observe must
// not panic, and every body value's span must lie inside the body.
func FuzzObserve(f *testing.F) {
	pants, err := os.ReadFile("testdata/pants-2.16.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pants, "https://spire.bugout.dev/humbug/reports", "application/json")
	f.Add([]byte(`[{"event":"a","tags":["k:v"]},{"event":"b"}]`), "http://127.0.0.1:1/x?a=1&b=%20", "application/json")
	f.Add([]byte(`{"a":"{\"b\":\"[1,2,{\\\"c\\\":null}]\"}","a":true}`), "/relative?q", "text/plain")
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`), "", "application/vnd.x+json")
	f.Add([]byte(`{"a":1,`), "http://[::1]:80/", "application/json; charset=utf-8")
	f.Add([]byte("\xff\xfe{"), "%%%", "")
	opts := observe.Options{MaxDepth: 32, TagLists: []observe.TagList{{Path: "$.tags", Sep: ":"}, {Path: "$[*].tags", Sep: "="}}}
	f.Fuzz(func(t *testing.T, body []byte, url, contentType string) {
		ex := &capture.Exchange{Method: "POST", URL: url, Headers: []capture.Header{{Name: "Content-Type", Value: contentType}},
			Body: capture.Body{Raw: body}}
		obs, err := observe.Observe(ex, opts)
		if err != nil {
			t.Fatalf("Observe: %v", err)
		}
		for _, v := range obs.Values {
			if v.Start == -1 {
				continue
			}
			if v.Start < 0 || v.End > len(body) || v.Start > v.End {
				t.Fatalf("value %s span [%d,%d) outside body of %d bytes", v.Path, v.Start, v.End, len(body))
			}
			if err := observe.ValidatePath(v.Path); err != nil {
				t.Fatalf("value path does not validate: %v", err)
			}
			if len(obs.Get(v.Path)) == 0 && v.Kind != observe.KindTag {
				t.Fatalf("Get(%q) finds nothing although the value exists", v.Path)
			}
		}
	})
}
