package judge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/textmatch"
)

// Limits of a pretty-printed request: evidence is for reading, and a
// report must stay small enough for a browser and a job summary.
const (
	maxEvidenceLines = 400
	maxValueLen      = 300
)

// alwaysSecret are headers whose values are never printed, whatever the
// policy says: they carry credentials, not telemetry.
var alwaysSecret = []string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}

// Redactor scrubs planted values (raw, case-insensitively; any other form
// the canary search knows hides the whole value) and secret headers from
// what a report or a finding prints: the one redactor of the harness.
type Redactor struct {
	raw     []rawRep
	search  *canary.Searcher
	secrets map[string]bool
	// expected are the forms of a role the policy says are no leak (its
	// canary-absent checks' ignore_forms: the documented sha256 of the
	// repo id); they are printed as sent.
	expected map[string]map[string]bool
}

type rawRep struct {
	// re is behind textmatch's literal prefilter: evidence bodies rarely
	// hold a planted value, and regexp alone walks every byte of each.
	re   *textmatch.Regexp
	role string
}

// NewRedactor redacts the planted values cs; p names the secret headers
// and the forms its canary-absent checks accept (nil: none).
func NewRedactor(cs []canary.Canary, p *policy.Policy) *Redactor {
	r := &Redactor{secrets: map[string]bool{}, expected: map[string]map[string]bool{}}
	for _, h := range alwaysSecret {
		r.secrets[h] = true
	}
	if p != nil {
		for _, h := range p.Endpoint.Headers.Secret {
			r.secrets[strings.ToLower(h)] = true
		}
		for _, c := range p.Clauses {
			for _, ch := range c.Checks {
				if ch.Kind != policy.KindCanaryAbsent {
					continue
				}
				for _, role := range ch.Roles {
					if r.expected[role] == nil {
						r.expected[role] = map[string]bool{}
					}
					for _, f := range ch.IgnoreForms {
						r.expected[role][f] = true
					}
				}
			}
		}
	}
	valid := r.addRaw(cs)
	if len(valid) > 0 {
		// A searcher that cannot be built leaves the raw replacement only.
		r.search, _ = canary.NewSearcher(valid)
	}
	return r
}

// newRawRedactor replaces the planted values cs and nothing else (no
// search for other forms, no secret headers).
func newRawRedactor(cs []canary.Canary) *Redactor {
	r := &Redactor{}
	r.addRaw(cs)
	return r
}

// addRaw adds a literal replacement for each distinct value of cs (first
// role wins, letter case ignored) and returns the values long enough for
// the canary search.
func (r *Redactor) addRaw(cs []canary.Canary) []canary.Canary {
	seen := map[string]bool{}
	var valid []canary.Canary
	for _, c := range cs {
		v := strings.ToLower(c.Value)
		if c.Value == "" || seen[v] {
			continue
		}
		seen[v] = true
		// A quoted literal always compiles.
		r.raw = append(r.raw, rawRep{textmatch.MustCompile("(?i)" + regexp.QuoteMeta(c.Value)), c.Role})
		if len(c.Value) >= canary.MinValueLen {
			valid = append(valid, c)
		}
	}
	return valid
}

// Raw returns s with every planted value, in any letter case, replaced by
// «role».
func (r *Redactor) Raw(s string) string {
	if r == nil || s == "" {
		return s
	}
	for _, rp := range r.raw {
		if rp.re.MatchString(s) {
			s = rp.re.Regexp().ReplaceAllLiteralString(s, "«"+rp.role+"»")
		}
	}
	return s
}

// Text returns s with every planted value replaced by «role»; a value that
// holds a planted value in another form (base64, a hash, ...) is replaced
// as a whole.
func (r *Redactor) Text(s string) string {
	if r == nil || s == "" {
		return s
	}
	s = r.Raw(s)
	if r.search != nil {
		for _, h := range r.search.SearchBytes([]byte(s), 0, "value") {
			// A salted hash is how documented ids are made and shows
			// nothing of the value.
			if !r.expected[h.Canary.Role][h.Form] && !strings.HasPrefix(h.Form, canary.SaltedPrefix) {
				return fmt.Sprintf("«%s as %s: %d chars redacted»", h.Canary.Role, h.Form, len(s))
			}
		}
	}
	return s
}

// Header returns a header's printable value.
func (r *Redactor) Header(name, value string) string {
	if r.secrets[strings.ToLower(name)] {
		return fmt.Sprintf("«secret: %d chars redacted»", len(value))
	}
	return r.Text(value)
}

// pretty prints one exchange as lines: the request line, the headers, and
// the body (JSON indented, with JSON held in strings opened up), each line
// carrying the observe path of its value so that a finding's path can be
// highlighted. o may be nil.
func pretty(ex *capture.Exchange, o *observe.Observation, red *Redactor) []EvidenceLine {
	var lines []EvidenceLine
	switch ex.Kind {
	case capture.KindTunnelRejected, capture.KindOpaqueTunnel:
		lines = append(lines, EvidenceLine{Text: fmt.Sprintf("%s to %s", ex.Kind, red.Text(ex.Host)), Path: "host"})
		if ex.Note != "" {
			lines = append(lines, EvidenceLine{Text: red.Text(ex.Note)})
		}
		return lines
	}
	lines = append(lines, EvidenceLine{Text: strings.TrimSpace(ex.Method + " " + red.Text(ex.URL) + " " + ex.Proto), Path: "url", Alt: "host"})
	for _, h := range ex.Headers {
		lines = append(lines, EvidenceLine{Text: h.Name + ": " + clip(red.Header(h.Name, h.Value)), Path: "header:" + h.Name})
	}
	body := ex.Body.Bytes()
	if len(body) == 0 {
		return lines
	}
	lines = append(lines, EvidenceLine{})
	pp := &printer{red: red}
	if o != nil && o.IsJSON {
		pp.tagsOf = o
	}
	// The observation's own parser, keeping repeated keys: what is
	// printed is what the checks read.
	if n, err := observe.Tree(body); err == nil {
		pp.node(n, "$", "", "", false)
		lines = append(lines, pp.lines...)
	} else {
		lines = append(lines, textBody(body, red)...)
	}
	if len(lines) > maxEvidenceLines {
		more := len(lines) - maxEvidenceLines
		lines = append(lines[:maxEvidenceLines], EvidenceLine{Text: fmt.Sprintf("… %d more lines not shown", more)})
	}
	return lines
}

func clip(s string) string {
	if len(s) <= maxValueLen {
		return s
	}
	cut := maxValueLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d chars)", len(s))
}

// textBody prints a body that is not JSON: its lines when it is text, else
// its size.
func textBody(b []byte, red *Redactor) []EvidenceLine {
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return []EvidenceLine{{Text: fmt.Sprintf("«%d bytes of binary body»", len(b)), Path: "$"}}
	}
	var out []EvidenceLine
	for _, l := range strings.Split(string(b), "\n") {
		out = append(out, EvidenceLine{Text: clip(red.Text(l)), Path: "$"})
	}
	return out
}

// printer writes a node tree as indented lines.
type printer struct {
	red    *Redactor
	lines  []EvidenceLine
	tagsOf *observe.Observation
}

func (pp *printer) node(n *observe.Node, path, indent, label string, comma bool) {
	end := ""
	if comma {
		end = ","
	}
	switch {
	case n.Kind == '{' || n.Kind == '[':
		open, closeB := "{", "}"
		if n.Kind == '[' {
			open, closeB = "[", "]"
		}
		if len(n.Kids) == 0 {
			pp.lines = append(pp.lines, EvidenceLine{Text: indent + label + open + closeB + end, Path: path})
			return
		}
		pp.lines = append(pp.lines, EvidenceLine{Text: indent + label + open, Path: path})
		for i, c := range n.Kids {
			var cp, cl string
			if n.Kind == '{' {
				cp, cl = observe.ChildKey(path, n.Keys[i]), jsonString(pp.red.Text(n.Keys[i]))+": "
			} else {
				cp = path + "[" + strconv.Itoa(i) + "]"
			}
			pp.node(c, cp, indent+"  ", cl, i < len(n.Kids)-1)
		}
		pp.lines = append(pp.lines, EvidenceLine{Text: indent + closeB + end})
	case n.Inner != nil:
		pp.node(n.Inner, path, indent, label+"(JSON in a string) ", comma)
	case n.Kind == 's':
		pp.lines = append(pp.lines, EvidenceLine{Text: indent + label + clip(jsonString(pp.red.Text(n.Lit))) + end, Path: path, Alt: pp.tagAlt(path)})
	default:
		pp.lines = append(pp.lines, EvidenceLine{Text: indent + label + pp.red.Text(n.Lit) + end, Path: path})
	}
}

// tagAlt is the LIST[KEY] path of a tag-list element, so a finding on a
// tag highlights its line.
func (pp *printer) tagAlt(path string) string {
	if pp.tagsOf == nil {
		return ""
	}
	for _, t := range pp.tagsOf.Tags(tagListOf(path)) {
		if t.Path == path {
			return observe.TagPath(t.List, t.Key)
		}
	}
	return ""
}

// tagListOf is the array path of an element path ($.tags[3] -> $.tags).
func tagListOf(path string) string {
	if i := strings.LastIndexByte(path, '['); i > 0 {
		return path[:i]
	}
	return path
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
