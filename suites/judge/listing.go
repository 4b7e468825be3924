package judge

import (
	"cmp"
	"container/heap"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// What a report lists of a run folder: the run's facts, its requests with
// timing and the cited ones pretty-printed. The judge reads captures; the
// reports render what it read.

// MaxListedRequests bounds the requests a run lists in the reports beside
// every request a finding cites: a run folder may hold 100,000 exchanges,
// and a listing that long helps no reader, costs memory while the reports
// are written and makes report.html too big for a browser. The capture in
// the run folder keeps them all; Run.RequestsOmitted counts the rest.
const MaxListedRequests = 500

// RunListing is what one run folder of a scenario holds: the run's facts and the
// requests captured, with timing: the first MaxListedRequests by sequence
// number and every request a finding cites.
type RunListing struct {
	// Name is the run's name; empty for a scenario with one run (as in
	// judge.Finding.Run).
	Name string `json:"name,omitempty"`
	// Dir is the run folder, relative to the output folder when inside it.
	Dir string `json:"dir"`
	// Capture is the capture file the requests were read from, relative
	// to the output folder when inside it.
	Capture string `json:"capture,omitempty"`
	// Start, MainExit and End are run.json's times; zero when unknown.
	Start    time.Time `json:"start,omitzero"`
	MainExit time.Time `json:"main_exit,omitzero"`
	End      time.Time `json:"end,omitzero"`
	// DurationMS is how long the tool itself ran (start to main exit).
	DurationMS float64 `json:"duration_ms,omitempty"`
	// ExitCode is the tool's exit status; nil when unknown.
	ExitCode *int `json:"exit_code,omitempty"`
	TimedOut bool `json:"timed_out,omitempty"`
	// Killed is how many processes the harness had to kill at the end.
	Killed int `json:"killed,omitempty"`
	// Requests are the listed requests in sequence order.
	Requests []ListedRequest `json:"requests"`
	// TotalRequests and TotalBytes count every exchange of the capture
	// and their request bodies' sizes on the wire, listed or not.
	TotalRequests int   `json:"total_requests"`
	TotalBytes    int64 `json:"total_bytes"`
	// RequestsOmitted counts the exchanges Requests does not list.
	RequestsOmitted int `json:"requests_omitted,omitempty"`
	// Error says why the folder could not be read; the requests read
	// before the error are listed and counted, the rest are unknown.
	Error string `json:"error,omitempty"`
	// Host is the host facts the run was given (run.json), with what could
	// not be applied; nil when the run pinned none.
	Host *capture.Host `json:"host,omitempty"`
}

// ListedRequest is one captured exchange, summarised without its body.
type ListedRequest struct {
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"`
	// Method and URL are empty for tunnels; URL has planted values
	// redacted.
	Method string `json:"method,omitempty"`
	URL    string `json:"url,omitempty"`
	Host   string `json:"host,omitempty"`
	// OffsetMS is when the request was complete, from the run's start (or
	// from the recording's start when run.json is missing).
	OffsetMS float64 `json:"offset_ms"`
	// Size is the request body's size on the wire.
	Size int64 `json:"size"`
	// Status is the answer's status; 0 when none was given.
	Status int `json:"status,omitempty"`
	// LatencyMS is how long the answer took; 0 when none was given.
	LatencyMS float64 `json:"latency_ms,omitempty"`
	Note      string  `json:"note,omitempty"`
	// Attributed names the declared non-telemetry traffic (the policy's
	// other_traffic) the request belongs to, with its reason.
	Attributed string `json:"attributed,omitempty"`
	// Evidence is the request pretty-printed, redacted, one line per
	// value; only for requests a finding cites.
	Evidence []EvidenceLine `json:"evidence,omitempty"`
}

// EvidenceLine is one line of a pretty-printed request.
type EvidenceLine struct {
	Text string `json:"text"`
	// Path is the observe path of the value on this line; empty for
	// punctuation.
	Path string `json:"path,omitempty"`
	// Alt is a second path naming the same value (a tag's LIST[KEY]).
	Alt string `json:"alt,omitempty"`
}

// Cites reports whether the line shows the value at a finding's path, or
// a part of it.
func (l EvidenceLine) Cites(path string) bool {
	if path == "" || l.Path == "" {
		return false
	}
	for _, p := range []string{l.Path, l.Alt} {
		if p == "" {
			continue
		}
		if p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return true
		}
	}
	return false
}

// ListRun reads the run folder dir for a report, streaming its capture
// once: every exchange is counted, the first MaxListedRequests by sequence
// number and the cited ones are listed (the cited pretty-printed, redacted
// with the run's canaries), and when fc is not nil the JSON bodies are
// counted into its field table. A folder that cannot be read is noted in
// the listing's Error, never fatal: the verdicts stand without it. Capture
// is the capture file's path as the run folder gives it. Judge does the
// same while it judges (Input.Listing); ListRun is for run folders judged
// elsewhere (a merged report).
func ListRun(dir string, p *policy.Policy, cited map[int64]bool, fc *FieldCounter) RunListing {
	jr, err := OpenRun(dir)
	if err != nil {
		return RunListing{Requests: []ListedRequest{}, Error: err.Error()}
	}
	l := newLister(p, &jr, fc)
	lists := TagLists(p)
	err = jr.EachExchange(func(ex *capture.Exchange) error {
		var o *observe.Observation
		if fc != nil || cited[ex.Seq] {
			// Observation is only needed for the field table and the
			// evidence; skipping it elsewhere saves a JSON parse per body.
			if ob, oerr := observe.Observe(ex, observe.Options{TagLists: lists}); oerr == nil {
				o = ob
			}
		}
		l.exchange(ex, o, cited[ex.Seq])
		return nil
	})
	if err != nil {
		l.run.Error = err.Error()
	}
	run, _ := l.listing(cited)
	return run
}

// lister builds one run's listing as its exchanges stream past, once: for
// ListRun, and inside Judge's own pass over the capture.
type lister struct {
	p    *policy.Policy
	run  RunListing
	red  *Redactor
	base time.Time
	// first are the MaxListedRequests lowest sequence numbers.
	first seqHeap
	// printed are the requests pretty-printed because a finding might
	// cite them, by sequence number.
	printed map[int64]ListedRequest
	fc      *FieldCounter
}

func newLister(p *policy.Policy, jr *RunData, fc *FieldCounter) *lister {
	l := &lister{p: p, run: RunListing{Requests: []ListedRequest{}, Capture: jr.Capture}, red: NewRedactor(jr.Canaries, p),
		printed: map[int64]ListedRequest{}, fc: fc}
	if f := jr.Facts; f != nil {
		l.run.Start, l.run.MainExit, l.run.End = f.Start, f.MainExit, f.End
		l.run.DurationMS = ms(f.MainExit.Sub(f.Start))
		code := f.ExitCode
		l.run.ExitCode = &code
		l.run.TimedOut, l.run.Killed = f.TimedOut, len(f.Killed)
		l.run.Host = f.Host
		l.base = f.Start
	}
	if fc != nil {
		fc.runs++
	}
	return l
}

// exchange counts ex, keeps its summary when it is among the first, and
// pretty-prints it when print is set. o is its observation, nil when it
// was not observed.
func (l *lister) exchange(ex *capture.Exchange, o *observe.Observation, print bool) {
	l.run.TotalRequests++
	l.run.TotalBytes += ex.Body.Size
	if l.fc != nil && o != nil && o.IsJSON {
		l.fc.add(ex.Seq, o)
	}
	if !print && l.first.full() && ex.Seq > l.first.max() {
		return
	}
	// URL, Host and Note are redacted at the end, once the listed ones
	// are known, so that an exchange dropped later costs no redaction.
	rq := ListedRequest{Seq: ex.Seq, Kind: string(ex.Kind), Method: ex.Method, URL: ex.URL, Host: ex.Host,
		Size: ex.Body.Size, Note: ex.Note}
	if rq.Kind == "" {
		rq.Kind = string(capture.KindHTTP)
	}
	if u, err := url.Parse(ex.URL); err == nil && ex.Method != "" && ex.Method != "CONNECT" {
		if t, ok := l.p.Attribute(ex.Method, u.Hostname(), u.Path); ok {
			rq.Attributed = t.Name + ": " + t.Reason
		}
	}
	if l.base.IsZero() {
		rq.OffsetMS = ms(time.Duration(ex.Mono))
	} else {
		rq.OffsetMS = ms(ex.Time.Sub(l.base))
	}
	if ex.Response != nil {
		rq.Status = ex.Response.Status
		if !ex.Response.Time.IsZero() {
			rq.LatencyMS = ms(ex.Response.Time.Sub(ex.Time))
		}
	}
	if print {
		ev := rq
		ev.Evidence = pretty(ex, o, l.red)
		l.printed[ex.Seq] = ev
	}
	l.first.push(rq)
}

// listing is the run's listing for a report that cites the exchanges
// cited: the first MaxListedRequests and every cited one, with its
// evidence. ok is false when a cited exchange was not printed as it
// passed (a whole-run check cited it at the end, or no such exchange was
// captured): a caller that wants it listed reads the run again (ListRun).
func (l *lister) listing(cited map[int64]bool) (run RunListing, ok bool) {
	run, ok = l.run, true
	var kept []ListedRequest
	for seq := range cited {
		ev, printed := l.printed[seq]
		if !printed {
			// Cited at the end of the run, or never captured: only a
			// second read can tell.
			ok = false
			continue
		}
		kept = append(kept, ev)
	}
	for _, rq := range l.first {
		if !cited[rq.Seq] { // kept already, with its evidence
			kept = append(kept, rq)
		}
	}
	slices.SortFunc(kept, func(a, b ListedRequest) int { return cmp.Compare(a.Seq, b.Seq) })
	for i := range kept {
		kept[i].URL, kept[i].Host, kept[i].Note = l.red.Text(kept[i].URL), l.red.Text(kept[i].Host), l.red.Text(kept[i].Note)
	}
	run.Requests = append(slices.Clone(run.Requests), kept...)
	run.RequestsOmitted = run.TotalRequests - len(run.Requests)
	return run, ok
}

// ms is d in milliseconds, rounded to a tenth.
func ms(d time.Duration) float64 {
	return float64(d.Round(100*time.Microsecond)) / float64(time.Millisecond)
}

// The request listing keeps the lowest MaxListedRequests sequence numbers of a run in a bounded heap.

// seqHeap holds the MaxListedRequests requests with the lowest sequence
// numbers seen so far: a max-heap on Seq, so the highest is evicted first
// (the capture streams in completion order, not sequence order).
type seqHeap []ListedRequest

func (h seqHeap) full() bool { return len(h) >= MaxListedRequests }

func (h seqHeap) max() int64 { return h[0].Seq }

func (h seqHeap) Len() int { return len(h) }

func (h seqHeap) Less(i, j int) bool { return h[i].Seq > h[j].Seq }

func (h seqHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

func (h *seqHeap) Push(x any) { *h = append(*h, x.(ListedRequest)) }

func (h *seqHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// push adds rq, evicting the highest sequence number when full.
func (h *seqHeap) push(rq ListedRequest) {
	if !h.full() {
		heap.Push(h, rq)
		return
	}
	if rq.Seq < h.max() {
		(*h)[0] = rq
		heap.Fix(h, 0)
	}
}
