package reports

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// The report model's run listing is what the judge read of each run
// folder (judge.ListRun); the reports render it.
type (
	// RunListing is one run folder of a scenario: facts and requests.
	RunListing = judge.RunListing
	// Request is one listed exchange.
	Request = judge.ListedRequest
	// Line is one line of a pretty-printed request.
	Line = judge.EvidenceLine
	// FieldTable and FieldRow are the field table of one scenario.
	FieldTable = judge.FieldTable
	FieldRow   = judge.FieldRow
)

// MaxListedRequests is how many requests a run lists beside the cited ones.
const MaxListedRequests = judge.MaxListedRequests

// Field statuses in the field table.
const (
	FieldDocumentedSent = judge.FieldDocumentedSent
	FieldUndocumented   = judge.FieldUndocumented
	FieldMissing        = judge.FieldMissing
	FieldEnvelope       = judge.FieldEnvelope
)

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
	fieldScenario := fieldScenario(r, p)
	var fields *judge.FieldCounter // when the judge kept no field table
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		sc, err := p.Scenario(s.Name)
		if err != nil {
			continue
		}
		runs := sc.RunsOf()
		// What the judge read while judging, when it kept it for every
		// run: then no capture is read again.
		var listed []RunListing
		for j := range s.Dirs {
			name := ""
			if len(sc.Runs) > 0 && j < len(runs) {
				name = runs[j].Name
			}
			run, ok := s.judged.Listing(j, cited[s.Name+"/"+name])
			if !ok {
				listed = nil
				break
			}
			listed = append(listed, run)
		}
		var fc *judge.FieldCounter
		if s.Name == fieldScenario {
			if t := s.judged.FieldTable(); listed != nil && t != nil {
				r.Fields = t
			} else {
				fc = judge.NewFieldCounter(p)
				fields = fc
			}
		}
		s.Runs = nil
		for j, d := range s.Dirs {
			name := ""
			if len(sc.Runs) > 0 && j < len(runs) {
				name = runs[j].Name
			}
			var run RunListing
			if listed != nil {
				run = listed[j]
			} else {
				dir := d
				if !filepath.IsAbs(dir) {
					dir = filepath.Join(out, dir)
				}
				run = judge.ListRun(dir, p, cited[s.Name+"/"+name], fc)
			}
			run.Name, run.Dir = name, relTo(out, d)
			if run.Capture != "" {
				run.Capture = relTo(out, run.Capture)
			}
			s.Runs = append(s.Runs, run)
		}
		for j := range s.Dirs {
			s.Dirs[j] = relTo(out, s.Dirs[j])
		}
	}
	if fields != nil {
		r.Fields = fields.Table(fieldScenario)
	}
	lines := clauseLines(filepath.Join(out, "policy.yaml"))
	if len(lines) == 0 && p.File != "" {
		lines = clauseLines(p.File)
	}
	for i := range r.Clauses {
		r.Clauses[i].Line = lines[r.Clauses[i].ID]
	}
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
