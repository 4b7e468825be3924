package reports

import (
	"bufio"
	"cmp"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

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
	Requests []Request `json:"requests"`
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

// HostLine says in one line which host the tool believed it ran on, and,
// when some fact could not be pinned, that the verdict may be this
// machine's: what was not applied and what the host showed instead.
func HostLine(h *capture.Host) string {
	if h == nil {
		return ""
	}
	tty := "no terminal"
	if h.TTY {
		tty = "a terminal"
	}
	line := fmt.Sprintf("container %s, CI %s, %s, locale %s, time zone %s", h.Container, h.CI, tty, h.Locale, h.Timezone)
	if len(h.NotApplied) > 0 {
		line += "; NOT APPLIED: " + strings.Join(h.NotApplied, "; ")
		shows := "nothing of a container or CI"
		if len(h.HostShows) > 0 {
			shows = strings.Join(h.HostShows, ", ")
		}
		line += "; the host showed the tool " + shows
	}
	return line
}

// Request is one captured exchange, summarised without its body.
type Request struct {
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
	Evidence []Line `json:"evidence,omitempty"`
}

// Line is one line of a pretty-printed request.
type Line struct {
	Text string `json:"text"`
	// Path is the observe path of the value on this line; empty for
	// punctuation.
	Path string `json:"path,omitempty"`
	// Alt is a second path naming the same value (a tag's LIST[KEY]).
	Alt string `json:"alt,omitempty"`
}

// Cites reports whether the line shows the value at a finding's path, or
// a part of it.
func (l Line) Cites(path string) bool {
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

// Attach reads what the report's run folders hold under out (captures,
// run.json, canaries.json): each scenario's requests with timing, the
// pretty-printed evidence of every request a finding cites, the field
// table of the opt-in scenario and each clause's line in the policy. Run
// folders are recorded relative to out. A folder that cannot be read is
// noted in its Run, never fatal: the verdicts stand without it. Captures
// are streamed, one exchange held at a time, so that memory stays bounded
// by what the report lists (MaxListedRequests per run and the cited
// requests), not by the captures.
func Attach(r *Report, p *policy.Policy, out string) {
	cited := map[string]map[int64]bool{} // scenario/run -> exchanges cited
	for _, c := range r.Clauses {
		for _, f := range c.Findings {
			if f.Exchange != 0 {
				k := f.Scenario + "/" + f.Run
				if cited[k] == nil {
					cited[k] = map[int64]bool{}
				}
				cited[k][f.Exchange] = true
			}
		}
	}
	lists := judge.TagLists(p)
	fieldScenario := fieldScenario(r, p)
	var fields *fieldCounter
	if fieldScenario != "" {
		fields = newFieldCounter(p)
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		sc, err := p.Scenario(s.Name)
		if err != nil {
			continue
		}
		runs := sc.RunsOf()
		s.Runs = nil
		for j, d := range s.Dirs {
			run := RunListing{Dir: relTo(out, d), Requests: []Request{}}
			if len(sc.Runs) > 0 && j < len(runs) {
				run.Name = runs[j].Name
			}
			dir := d
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(out, dir)
			}
			var fc *fieldCounter
			if s.Name == fieldScenario {
				fc = fields
			}
			run.load(out, dir, p, lists, cited[s.Name+"/"+run.Name], fc)
			s.Runs = append(s.Runs, run)
		}
		for j := range s.Dirs {
			s.Dirs[j] = relTo(out, s.Dirs[j])
		}
	}
	if fields != nil {
		r.Fields = fields.table(fieldScenario)
	}
	lines := clauseLines(filepath.Join(out, "policy.yaml"))
	if len(lines) == 0 && p.File != "" {
		lines = clauseLines(p.File)
	}
	for i := range r.Clauses {
		r.Clauses[i].Line = lines[r.Clauses[i].ID]
	}
}

// load fills the run from dir, streaming its capture once: every exchange
// is counted, the first MaxListedRequests by sequence number and the cited
// ones are listed,
// and when fc is not nil the JSON bodies are counted into the field table.
func (run *RunListing) load(out, dir string, p *policy.Policy, lists []observe.TagList, cited map[int64]bool, fc *fieldCounter) {
	jr, err := judge.OpenRun(dir)
	if err != nil {
		run.Error = err.Error()
		return
	}
	run.Capture = relTo(out, jr.Capture)
	red := newRedactor(jr.Canaries, p)
	var base time.Time
	if f := jr.Facts; f != nil {
		run.Start, run.MainExit, run.End = f.Start, f.MainExit, f.End
		run.DurationMS = ms(f.MainExit.Sub(f.Start))
		code := f.ExitCode
		run.ExitCode = &code
		run.TimedOut, run.Killed = f.TimedOut, len(f.Killed)
		run.Host = f.Host
		base = f.Start
	}
	if fc != nil {
		fc.runs++
	}
	var first seqHeap  // the MaxListedRequests lowest sequence numbers
	var kept []Request // the cited requests, with evidence
	err = jr.EachExchange(func(ex *capture.Exchange) error {
		run.TotalRequests++
		run.TotalBytes += ex.Body.Size
		isCited := cited[ex.Seq]
		var o *observe.Observation
		if fc != nil || isCited {
			// Observation is only needed for the field table and the
			// evidence; skipping it elsewhere saves a JSON parse per body.
			ob, oerr := observe.Observe(ex, observe.Options{TagLists: lists})
			if oerr == nil {
				o = ob
			}
			if fc != nil && o != nil && o.IsJSON {
				fc.add(ex.Seq, o)
			}
		}
		if !isCited && first.full() && ex.Seq > first.max() {
			return nil
		}
		// URL, Host and Note are redacted at the end, once the listed ones
		// are known, so that an exchange dropped later costs no redaction.
		rq := Request{Seq: ex.Seq, Kind: string(ex.Kind), Method: ex.Method, URL: ex.URL, Host: ex.Host,
			Size: ex.Body.Size, Note: ex.Note}
		if rq.Kind == "" {
			rq.Kind = string(capture.KindHTTP)
		}
		if u, err := url.Parse(ex.URL); err == nil && ex.Method != "" && ex.Method != "CONNECT" {
			if t, ok := p.Attribute(ex.Method, u.Hostname(), u.Path); ok {
				rq.Attributed = t.Name + ": " + t.Reason
			}
		}
		if base.IsZero() {
			rq.OffsetMS = ms(time.Duration(ex.Mono))
		} else {
			rq.OffsetMS = ms(ex.Time.Sub(base))
		}
		if ex.Response != nil {
			rq.Status = ex.Response.Status
			if !ex.Response.Time.IsZero() {
				rq.LatencyMS = ms(ex.Response.Time.Sub(ex.Time))
			}
		}
		if isCited {
			ev := rq
			ev.Evidence = pretty(ex, o, red)
			kept = append(kept, ev)
		}
		first.push(rq)
		return nil
	})
	if err != nil {
		run.Error = err.Error()
	}
	for _, rq := range first {
		if !cited[rq.Seq] { // kept already, with its evidence
			kept = append(kept, rq)
		}
	}
	slices.SortFunc(kept, func(a, b Request) int { return cmp.Compare(a.Seq, b.Seq) })
	for i := range kept {
		kept[i].URL, kept[i].Host, kept[i].Note = red.text(kept[i].URL), red.text(kept[i].Host), red.text(kept[i].Note)
	}
	run.Requests = append(run.Requests, kept...)
	run.RequestsOmitted = run.TotalRequests - len(run.Requests)
}

// ms is d in milliseconds, rounded to a tenth.
func ms(d time.Duration) float64 {
	return float64(d.Round(100*time.Microsecond)) / float64(time.Millisecond)
}

// relTo makes path relative to out when it lies inside out.
func relTo(out, path string) string {
	if !filepath.IsAbs(path) {
		return filepath.ToSlash(path)
	}
	ao, err := filepath.Abs(out)
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(ao, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.ToSlash(rel)
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// clauseLines finds the line of each "- id: CLAUSE" in a policy file; nil
// when the file cannot be read.
func clauseLines(path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	inClauses := false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") && strings.TrimSpace(line) != "" {
			inClauses = strings.HasPrefix(line, "clauses:")
			continue
		}
		t := strings.TrimSpace(line)
		if inClauses && strings.HasPrefix(t, "- id:") {
			id := strings.Trim(strings.TrimSpace(strings.TrimPrefix(t, "- id:")), `"'`)
			if _, dup := out[id]; !dup {
				out[id] = n
			}
		}
	}
	return out
}

// scenarioOrder sorts names in the policy's scenario order.
func scenarioOrder(p *policy.Policy, names []string) {
	idx := map[string]int{}
	for i, s := range p.Scenarios {
		idx[s.Name] = i
	}
	slices.SortStableFunc(names, func(a, b string) int { return idx[a] - idx[b] })
}
