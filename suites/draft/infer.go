package draft

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Setup is how a scenario switches telemetry on or off: variables and
// files written into the repo copy.
type Setup struct {
	Env   map[string]string
	Files []policy.File
}

// Input is what a draft is made from.
type Input struct {
	// ToolName names the tool in the draft.
	ToolName string
	// Dirs are the recorded run folders (capture.jsonl, canaries.json,
	// egress.json), all of the opt-in scenario. Required.
	Dirs []string
	// Repo is the scenario repo as the draft writes it (relative to the
	// draft's folder, or absolute).
	Repo string
	// Goals and Args are the words after the tool words.
	Goals, Args []string
	// OptIn is how the runs switched telemetry on; empty when the tool
	// sends by default.
	OptIn Setup
	// OptOut is the user's opt-out, nil when none was given.
	OptOut *Setup
	// Canaries is the canary plan the runs used, and Roles the roles they
	// planted.
	Canaries []policy.CanaryPlan
	Roles    []string
}

// Leak is a planted value seen in the recording.
type Leak struct {
	Role, Form string
	// Path is the generalised field path ($.content.user, $[*].x), or a
	// location outside the body (header:NAME, url, host, body).
	Path string
	// Requests counts the requests it was seen in.
	Requests int
}

// String is the line the draft and stderr print.
func (l Leak) String() string {
	return fmt.Sprintf("PROBABLE LEAK: %s (%s) at %s", l.Role, l.Form, l.Path)
}

// Destination is one (scheme, host, path, method) the runs sent to.
type Destination struct {
	Scheme, Host, Port, Path, Method string
	Requests                         int
}

// Result is the draft and what it was made from.
type Result struct {
	// Policy is the drafted policy, and YAML its text with the comments.
	Policy *policy.Policy
	YAML   []byte
	// Leaks are the planted values seen, by field path.
	Leaks []Leak
	// Others are the requests that did not go to the endpoint.
	Others []Destination
	// Sealed is true when every run was sealed (egress observed).
	Sealed bool
	// Bypassed counts the requests that ignored HTTPS_PROXY and reached a
	// transparent listener of the sealed namespace.
	Bypassed int
	// Notes are what the user must look at beyond TODO (printed and in the
	// draft's head comment).
	Notes []string
}

// ErrNothingSent is returned when no run sent a request: there is nothing
// to draft from.
var ErrNothingSent = errors.New("no run sent a request")

// pathStat is what was seen at one generalised path.
type pathStat struct {
	path     string
	order    int
	kinds    map[string]int // object, list, string, number, bool, null
	strs     []string       // string values (list elements for lists)
	nums     []string
	embedded bool           // a string holding JSON
	listOf   map[string]int // kinds of list elements
	requests int
	leaky    map[string]bool // values that matched a canary
	// runs are the runs each string value was seen in.
	runs map[string]map[int]bool
	// keyedBy is a key of the object that no path can name ("@scope/pkg"):
	// the object is a map keyed by data (package or addon names), drafted
	// open, its members not fields.
	keyedBy string
}

// exState is what one endpoint request showed, for tag derivations.
type exState struct {
	scalars map[string][]string // generalised path -> values
	lists   map[string][]string // generalised path -> string elements
}

type inferrer struct {
	in    Input
	stats map[string]*pathStat
	// headers are the non-standard headers of the reports, as fields.
	headers map[string]*pathStat
	closed  []string
	notes   []string
	exs     []exState
	// run is the run folder of the report being walked.
	run int
	// drafted are the fields with the evidence their comments show.
	drafted []fieldInfo
}

// Infer drafts a policy from the run folders of in.
func Infer(in Input) (*Result, error) {
	if len(in.Dirs) == 0 {
		return nil, errors.New("draft: no run folder given")
	}
	var reqs []req
	dests := map[Destination]int{}
	var destOrder []Destination
	sealed := true
	perRun := make([]map[Destination]int, len(in.Dirs))
	exits := map[string]bool{}
	var abandoned, opaque, bypassed int
	var notes []string
	for i, dir := range in.Dirs {
		exs, err := capture.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("draft: run folder %s: %w", dir, err)
		}
		cs, err := canary.ReadFile(filepath.Join(dir, "canaries.json"))
		if err != nil {
			return nil, fmt.Errorf("draft: run folder %s: %w", dir, err)
		}
		var search *canary.Searcher
		if len(cs) > 0 {
			if search, err = canary.NewSearcher(usable(cs)); err != nil {
				return nil, fmt.Errorf("draft: canaries of %s: %w", dir, err)
			}
		}
		if eg, err := capture.ReadEgress(dir); err != nil || !eg.Sealed {
			sealed = false
		}
		if run, err := capture.ReadRun(dir); err == nil {
			switch {
			case run.ExitCode == 0:
				exits["success"] = true
			default:
				exits["failure"] = true
			}
		}
		perRun[i] = map[Destination]int{}
		for _, ex := range exs {
			switch {
			case ex.Empty():
				// A send the tool gave up on at exit: nothing was in it.
				abandoned++
				continue
			case ex.Kind == capture.KindOpaqueTunnel:
				opaque++
				continue
			case ex.Kind != "" && ex.Kind != capture.KindHTTP && ex.Kind != capture.KindWebSocket:
				return nil, fmt.Errorf("draft: run folder %s: request %d is a %s: the tool did not trust the harness's CA, so what it sent is unknown; see README \"The command's environment\" for the CA variables it reads", dir, ex.Seq, ex.Kind)
			}
			o, err := observe.Observe(ex, observe.Options{})
			if err != nil {
				return nil, fmt.Errorf("draft: run folder %s, request %d: %w", dir, ex.Seq, err)
			}
			if o.Method == "CONNECT" {
				continue
			}
			d := Destination{Scheme: o.Scheme, Host: strings.ToLower(o.Host), Port: o.Port, Path: o.Path, Method: o.Method}
			if _, ok := dests[d]; !ok {
				destOrder = append(destOrder, d)
			}
			dests[d]++
			perRun[i][d]++
			r := req{o: o, run: i}
			if ex.Path == capture.PathTransparent {
				bypassed++
			}
			if search != nil {
				r.hits = search.Search(o)
			}
			reqs = append(reqs, r)
		}
	}
	if abandoned > 0 {
		notes = append(notes, fmt.Sprintf("%d connection(s) were opened and closed without a byte (a send the tool gave up on at exit): if reports go missing, the tool may deliver on a best-effort basis (see docs/writing-a-policy.md, delivery)", abandoned))
	}
	if opaque > 0 {
		notes = append(notes, fmt.Sprintf("%d tunnel(s) carried bytes that are not HTTP/1.x (HTTP/2 prior knowledge, another protocol): not drafted, and run reports them as unobservable", opaque))
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("draft: %w in %d run(s): check that the opt-in switches telemetry on (--opt-in, --opt-in-file) and that the tool reports on this command", ErrNothingSent, len(in.Dirs))
	}

	// The endpoint: the most frequent host, then its most frequent
	// scheme, path and method.
	hosts := map[string]int{}
	for _, d := range destOrder {
		hosts[d.Host] += dests[d]
	}
	// Ties go to what was seen first.
	var ep Destination
	for _, d := range destOrder {
		if ep.Host == "" || hosts[d.Host] > hosts[ep.Host] {
			ep = d
			ep.Requests = dests[d]
		}
	}
	for _, d := range destOrder {
		if d.Host == ep.Host && dests[d] > ep.Requests {
			ep = d
			ep.Requests = dests[d]
		}
	}
	res := &Result{Sealed: sealed, Bypassed: bypassed}
	for _, d := range destOrder {
		if d == (Destination{Scheme: ep.Scheme, Host: ep.Host, Port: ep.Port, Path: ep.Path, Method: ep.Method}) {
			continue
		}
		d.Requests = dests[d]
		res.Others = append(res.Others, d)
	}
	epKey := Destination{Scheme: ep.Scheme, Host: ep.Host, Port: ep.Port, Path: ep.Path, Method: ep.Method}
	reportsPerRun := map[int]bool{}
	for _, m := range perRun {
		reportsPerRun[m[epKey]] = true
	}

	inf := &inferrer{in: in, stats: map[string]*pathStat{}, headers: map[string]*pathStat{}, notes: notes}
	var headers []string
	seenHeader := map[string]bool{}
	leaks := map[Leak]int{}
	var leakOrder []Leak
	nonJSON := 0
	for _, r := range reqs {
		isEP := r.o.Scheme == ep.Scheme && strings.EqualFold(r.o.Host, ep.Host) && r.o.Port == ep.Port && r.o.Path == ep.Path && r.o.Method == ep.Method
		leakPaths := map[string]bool{}
		leakHeaders := map[string]bool{}
		for _, h := range r.hits {
			l := Leak{Role: h.Canary.Role, Form: h.Form, Path: leakPath(h.Location)}
			if !isEP {
				l.Path = fmt.Sprintf("%s (request to %s %s%s)", l.Path, r.o.Method, r.o.Host, r.o.Path)
			}
			key := l
			if _, ok := leaks[key]; !ok {
				leakOrder = append(leakOrder, key)
			}
			leaks[key]++
			if isEP && strings.HasPrefix(h.Location, "$") {
				leakPaths[h.Location] = true
			}
			if name, ok := strings.CutPrefix(h.Location, "header:"); ok && isEP {
				leakHeaders[strings.ToLower(name)] = true
			}
		}
		if !isEP {
			continue
		}
		reqHeaders := map[string]bool{}
		for _, h := range r.o.Exchange.Headers {
			k := strings.ToLower(h.Name)
			if !seenHeader[k] {
				seenHeader[k] = true
				headers = append(headers, h.Name)
			}
			if !standardHeader(k) {
				hs := inf.headerStat(h.Name)
				if !reqHeaders[k] {
					reqHeaders[k] = true
					hs.requests++
				}
				hs.kinds["string"]++
				hs.strs = append(hs.strs, h.Value)
				hs.seenIn(h.Value, r.run)
				if leakHeaders[k] {
					hs.leaky[h.Value] = true
				}
			}
		}
		if len(r.o.Body) == 0 {
			continue
		}
		if !r.o.IsJSON {
			nonJSON++
			continue
		}
		inf.run = r.run
		inf.observation(r.o, leakPaths)
	}
	if nonJSON > 0 {
		inf.notes = append(inf.notes, fmt.Sprintf("%d report(s) had a body that is not JSON (%s): only json payloads can be drafted; fields.documented-only will report them", nonJSON, contentTypes(reqs, func(o *observe.Observation) bool { return !o.IsJSON && len(o.Body) > 0 })))
	}
	for _, l := range leakOrder {
		l.Requests = leaks[l]
		res.Leaks = append(res.Leaks, l)
	}

	p := inf.policy(ep, headers, res, reportsPerRun, exits)
	res.Policy = p
	res.Notes = inf.notes
	y, err := render(p, res, inf)
	if err != nil {
		return nil, err
	}
	// The draft must load: a draft that the loader rejects is a bug here,
	// not the user's to fix.
	loaded, err := policy.Parse(y, "draft")
	if err != nil {
		return nil, fmt.Errorf("draft: the drafted policy does not load (a bug in init; please report it with the run folders): %w", err)
	}
	loaded.File = ""
	res.Policy, res.YAML = loaded, y
	return res, nil
}

// usable drops canary values too short to search (the search rejects
// them; a short planted value would match ordinary text anyway).
func usable(cs []canary.Canary) []canary.Canary {
	out := cs[:0:0]
	for _, c := range cs {
		if len(c.Value) >= canary.MinValueLen {
			out = append(out, c)
		}
	}
	return out
}

// req is one recorded request and the canaries found in it.
type req struct {
	o    *observe.Observation
	hits []canary.Hit
	run  int // index of the run folder
}

func contentTypes(reqs []req, pick func(*observe.Observation) bool) string {
	var ts []string
	for _, r := range reqs {
		if pick(r.o) {
			t := r.o.ContentType
			if t == "" {
				t = "no Content-Type"
			}
			if !slices.Contains(ts, t) {
				ts = append(ts, t)
			}
		}
	}
	return strings.Join(ts, ", ")
}

var indexRe = regexp.MustCompile(`\[[0-9]+\]`)

// general replaces array indices by [*].
func general(path string) string { return indexRe.ReplaceAllString(path, "[*]") }

// leakPath is where a hit is reported: a generalised body path, or the
// location's kind (header:NAME, url, host, sni, body, raw-body).
func leakPath(loc string) string {
	switch {
	case strings.HasPrefix(loc, "$"):
		return general(loc)
	case strings.HasPrefix(loc, "body@"):
		return "body"
	case strings.HasPrefix(loc, "raw-body@"):
		return "raw-body"
	}
	return loc
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func childPath(parent, key string) string {
	if identRe.MatchString(key) {
		return parent + "." + key
	}
	return parent + "[" + strconv.Quote(key) + "]"
}

func (inf *inferrer) stat(path string) *pathStat {
	s, ok := inf.stats[path]
	if !ok {
		s = &pathStat{path: path, order: len(inf.stats), kinds: map[string]int{}, listOf: map[string]int{}, leaky: map[string]bool{}}
		inf.stats[path] = s
	}
	return s
}

// standardHeader reports whether a header is HTTP's own plumbing, which
// the allowed list covers; any other header (x-tool-session-id) may carry
// data and gets a field of its own.
func standardHeader(lower string) bool {
	switch lower {
	case "host", "user-agent", "accept", "accept-encoding", "accept-language", "connection", "content-length", "content-type",
		"content-encoding", "transfer-encoding", "authorization", "proxy-authorization", "cookie", "expect", "te",
		"keep-alive", "pragma", "cache-control", "origin", "referer":
		return true
	}
	return false
}

// headerStat is the stat of a header field, kept apart from the body
// paths and listed after them.
func (inf *inferrer) headerStat(name string) *pathStat {
	path := "header:" + strings.ToLower(name)
	s, ok := inf.headers[path]
	if !ok {
		s = &pathStat{path: path, order: len(inf.headers), kinds: map[string]int{}, listOf: map[string]int{}, leaky: map[string]bool{}}
		inf.headers[path] = s
	}
	return s
}

// keyedAncestor is the map keyed by names that path lies under, or "".
func (inf *inferrer) keyedAncestor(path string) string {
	for p, s := range inf.stats {
		if s.keyedBy != "" && p != path && strings.HasPrefix(path, p) && (strings.HasPrefix(path[len(p):], ".") || strings.HasPrefix(path[len(p):], "[")) {
			return p
		}
	}
	return ""
}

func (inf *inferrer) addClosed(path string) {
	if !slices.Contains(inf.closed, path) {
		inf.closed = append(inf.closed, path)
	}
}

// observation walks one report's JSON.
func (inf *inferrer) observation(o *observe.Observation, leakPaths map[string]bool) {
	st := exState{scalars: map[string][]string{}, lists: map[string][]string{}}
	embedded := map[string]bool{}
	for _, e := range o.Embedded {
		embedded[e] = true
	}
	seen := map[string]bool{}
	var walk func(v any, cpath string)
	walk = func(v any, cpath string) {
		g := general(cpath)
		s := inf.stat(g)
		if !seen[g] {
			seen[g] = true
			s.requests++
		}
		if embedded[cpath] {
			s.embedded = true
		}
		switch x := v.(type) {
		case map[string]any:
			s.kinds["object"]++
			var keys []string
			for _, k := range o.Keys(cpath) {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
			if i := slices.IndexFunc(keys, func(k string) bool { return !keyRe.MatchString(k) }); i >= 0 && s.keyedBy == "" {
				s.keyedBy = keys[i]
			}
			if s.keyedBy != "" {
				// A map keyed by names: its keys are data for the canary
				// search to judge, not fields to list.
				return
			}
			inf.addClosed(g)
			for _, k := range keys {
				walk(x[k], childPath(cpath, k))
			}
		case []any:
			s.kinds["list"]++
			for i, e := range x {
				ep := cpath + "[" + strconv.Itoa(i) + "]"
				switch ev := e.(type) {
				case string:
					s.listOf["string"]++
					s.strs = append(s.strs, ev)
					st.lists[g] = append(st.lists[g], ev)
					if leakPaths[ep] {
						s.leaky[ev] = true
					}
				case map[string]any:
					s.listOf["object"]++
					walk(ev, ep)
				case []any:
					s.listOf["list"]++
				default:
					s.listOf[kindOf(ev)]++
				}
			}
		case string:
			s.kinds["string"]++
			s.strs = append(s.strs, x)
			s.seenIn(x, inf.run)
			st.scalars[g] = append(st.scalars[g], x)
			if leakPaths[cpath] {
				s.leaky[x] = true
			}
		default:
			k := kindOf(x)
			s.kinds[k]++
			if k == "number" {
				t := fmt.Sprint(x)
				s.nums = append(s.nums, t)
				st.scalars[g] = append(st.scalars[g], t)
			}
		}
	}
	walk(o.JSON, "$")
	inf.exs = append(inf.exs, st)
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	return "number"
}

var (
	sha256Re  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	uuidRe    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	versionRe = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+.]?[0-9A-Za-z.+-]*)?$`)
	tagRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*:`)
)

// Patterns the draft writes.
const (
	UUIDPattern    = `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	UUIDAnyCase    = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	VersionPattern = `^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+.]?[0-9A-Za-z.+-]*)?$`
)

// Enum limits: a string field whose values repeat, are few and short is
// drafted as an enum of the values seen; random ids never repeat across
// runs, so they stay free.
const (
	maxEnumValues = 6
	maxEnumLen    = 24
)

// Unix seconds between 2001 and 2286: a number in this range is drafted
// as a time stamp.
const minUnix, maxUnix = 1e9, 1e10

func all(vs []string, ok func(string) bool) bool {
	n := 0
	for _, v := range vs {
		if v == "" {
			continue
		}
		if !ok(v) {
			return false
		}
		n++
	}
	return n > 0
}

func hasEmpty(vs []string) bool { return slices.Contains(vs, "") }

// fieldInfo is a drafted field with the evidence shown in its comment.
type fieldInfo struct {
	field    policy.Field
	evidence string
	checked  bool // has a type to check beyond its presence (field-format)
}

// scalarField drafts type and format from a path's values.
func scalarField(s *pathStat) (policy.Field, string, bool) {
	f := policy.Field{Doc: "TODO"}
	// null beside one other kind is an optional value of that kind.
	kind, n := "", 0
	for k, c := range s.kinds {
		if k == "null" && len(s.kinds) == 2 {
			continue
		}
		if c > n || c == n && k < kind {
			kind, n = k, c
		}
	}
	nullable := s.kinds["null"] > 0 && len(s.kinds) == 2
	distinct := uniq(append(slices.Clone(s.strs), s.nums...))
	ev := fmt.Sprintf("seen in %d report(s), %d distinct value(s)", s.requests, len(distinct))
	switch {
	case nullable:
		ev += "; sometimes null"
	case len(s.kinds) > 1:
		ev += fmt.Sprintf("; mixed kinds %v", sortedKeys(s.kinds))
	}
	switch kind {
	case "bool":
		f.Type = policy.TypeBoolean
		return f, ev, len(s.kinds) == 1
	case "null":
		f.Type = policy.TypeString
		return f, ev + "; always null: TODO its type", false
	case "number":
		f.Type = policy.TypeNumber
		if all(s.nums, isInt) {
			f.Type = policy.TypeInteger
		}
		if all(s.nums, isUnix) {
			f.Type, f.Format = policy.TypeNumber, policy.FormatUnixTime
			return f, ev + "; unix seconds", len(s.kinds) == 1
		}
		return f, ev, len(s.kinds) == 1
	}
	f.Type = policy.TypeString
	vals := s.strs
	if len(s.kinds) > 1 {
		// A null would fail the type check: the field stays unchecked
		// until the page says what it may hold.
		return f, ev + "; free text", false
	}
	// A decimal string is a number to the judge too ("a JSON number or a
	// decimal string"): humbug, for one, sends every value as a string.
	if all(vals, isFloat) && !hasEmpty(vals) {
		f.Type = policy.TypeNumber
		if all(vals, isInt) {
			f.Type = policy.TypeInteger
		}
		if all(vals, isUnix) {
			f.Type, f.Format = policy.TypeNumber, policy.FormatUnixTime
			return f, ev + "; decimal strings, unix seconds", true
		}
		return f, ev + "; decimal strings", true
	}
	switch {
	case all(vals, sha256Re.MatchString):
		f.Format = policy.FormatSHA256Hex
		f.AllowEmpty = hasEmpty(vals)
		return f, ev + "; sha256 hex", true
	case all(vals, uuidRe.MatchString):
		f.Pattern = UUIDPattern
		if !all(vals, regexp.MustCompile(UUIDPattern).MatchString) {
			f.Pattern = UUIDAnyCase
		}
		f.AllowEmpty = hasEmpty(vals)
		return f, ev + "; uuid", true
	case all(vals, versionRe.MatchString):
		f.Pattern = VersionPattern
		f.AllowEmpty = hasEmpty(vals)
		return f, ev + "; a version", true
	}
	if s.perRun() {
		// Repeated within a run, never across runs: a session id, not
		// a set of values.
		return f, ev + "; one value per run, never repeated across runs: a random or per-run id? TODO: a pattern, and varies: per-run", false
	}
	enum := len(distinct) <= maxEnumValues && len(vals) > len(distinct) && len(s.leaky) == 0
	for _, v := range distinct {
		if len(v) > maxEnumLen {
			enum = false
		}
	}
	if enum {
		f.Enum = distinct
		return f, ev + "; an enum of the values seen (widen it to what the tool can send)", true
	}
	return f, ev + "; free text", false
}

// seenIn records that value v was seen in run.
func (s *pathStat) seenIn(v string, run int) {
	if s.runs == nil {
		s.runs = map[string]map[int]bool{}
	}
	if s.runs[v] == nil {
		s.runs[v] = map[int]bool{}
	}
	s.runs[v][run] = true
}

// perRun reports whether the path held a different value in every run it
// was seen in, over two runs or more.
func (s *pathStat) perRun() bool {
	all := map[int]bool{}
	for _, rs := range s.runs {
		if len(rs) != 1 {
			return false
		}
		for r := range rs {
			all[r] = true
		}
	}
	return len(all) >= 2 && len(s.runs) == len(all)
}

func isUnix(v string) bool {
	x, err := strconv.ParseFloat(v, 64)
	return err == nil && x >= minUnix && x < maxUnix
}

// isFloat accepts plain decimal text only (no NaN, Inf or hex).
func isFloat(v string) bool {
	if !decimalRe.MatchString(v) {
		return false
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

var decimalRe = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

func isInt(v string) bool {
	_, err := strconv.ParseInt(v, 10, 64)
	return err == nil
}

func uniq(vs []string) []string {
	out := []string{}
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// fields drafts one field per path seen, in the order first seen.
func (inf *inferrer) fields() []fieldInfo {
	var stats []*pathStat
	for _, s := range inf.stats {
		if s.path != "$" {
			stats = append(stats, s)
		}
	}
	sort.Slice(stats, func(i, j int) bool { return stats[i].order < stats[j].order })
	var out []fieldInfo
	names := map[string]bool{}
	for _, s := range stats {
		if strings.HasSuffix(s.path, "[*]") {
			continue // list elements: their list has the field, closed the objects
		}
		if !fieldPathOK(s.path) {
			inf.notes = append(inf.notes, fmt.Sprintf("%s: a key a field path cannot name (only letters, digits, _ and -): not drafted; TODO", s.path))
			continue
		}
		if under := inf.keyedAncestor(s.path); under != "" {
			continue // a member of a map keyed by names (noted at the map)
		}
		fi := fieldInfo{}
		switch {
		case s.keyedBy != "":
			fi.field = policy.Field{Type: policy.TypeObject, Doc: "TODO"}
			fi.evidence = fmt.Sprintf("an object keyed by names (e.g. %q), seen in %d report(s): left open, its keys and values are judged by the canary search; TODO: say in doc what the names are", s.keyedBy, s.requests)
		case s.kinds["object"] > 0 || s.kinds["list"] > 0 && s.listOf["object"] > 0 && len(s.listOf) == 1:
			fi.field = policy.Field{Type: policy.TypeObject, Doc: "TODO"}
			fi.evidence = fmt.Sprintf("an object, seen in %d report(s)", s.requests)
			if s.kinds["list"] > 0 {
				fi.evidence = fmt.Sprintf("a list of objects, seen in %d report(s)", s.requests)
				inf.addClosed(s.path + "[*]")
			}
			if s.embedded {
				fi.field.Type = policy.TypeJSONString
				fi.evidence = fmt.Sprintf("a string holding JSON, seen in %d report(s)", s.requests)
				// The judge finds a json-string by its exact path, which a
				// [*] path never is: the field-format check would fail it.
				fi.checked = !strings.Contains(s.path, "[*]")
			}
		case s.kinds["list"] > 0:
			fi.field = policy.Field{Type: policy.TypeStringList, Doc: "TODO"}
			fi.evidence = fmt.Sprintf("a list, seen in %d report(s), %d distinct element(s)", s.requests, len(uniq(s.strs)))
			if len(s.listOf) > 1 || len(s.listOf) == 1 && s.listOf["string"] == 0 {
				fi.evidence += fmt.Sprintf("; elements of kinds %v: TODO (string-list checks strings)", sortedKeys(s.listOf))
			} else if tags, ok := inf.tagList(s); ok {
				fi.field = policy.Field{Type: policy.TypeTagList, Sep: ":", Tags: tags, Doc: "TODO"}
				fi.evidence = fmt.Sprintf("a list of key:value tags, seen in %d report(s); each tag key is const (one value seen) or derives from the field it repeats", s.requests)
			} else {
				fi.checked = len(s.listOf) <= 1
			}
		default:
			fi.field, fi.evidence, fi.checked = scalarField(s)
		}
		fi.field.Path = s.path
		fi.field.Name = fieldName(s.path, names)
		out = append(out, fi)
	}
	var hs []*pathStat
	for _, s := range inf.headers {
		hs = append(hs, s)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].order < hs[j].order })
	for _, s := range hs {
		if !headerFieldRe.MatchString(s.path) {
			continue
		}
		f, ev, checked := scalarField(s)
		f.Path = s.path
		f.Name = fieldName(strings.ReplaceAll(strings.TrimPrefix(s.path, "header:"), "-", "_"), names)
		out = append(out, fieldInfo{field: f, evidence: "a request header; " + ev, checked: checked})
	}
	return out
}

var headerFieldRe = regexp.MustCompile(`^header:[A-Za-z0-9!#$%&'*+.^_|~-]+$`)

// keyRe is a JSON key a field path can name.
var keyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

var fieldPathRe = regexp.MustCompile(`^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\*\])*$`)

func fieldPathOK(p string) bool {
	return fieldPathRe.MatchString(p) && !strings.HasSuffix(p, "[*]")
}

// fieldName is the path's last key, made unique with its parents' keys.
func fieldName(path string, taken map[string]bool) string {
	var keys []string
	for _, part := range strings.Split(strings.ReplaceAll(path, "[*]", ""), ".") {
		if part != "" && part != "$" {
			keys = append(keys, part)
		}
	}
	for n := 1; n <= len(keys); n++ {
		name := strings.Join(keys[len(keys)-n:], "_")
		if !taken[name] {
			taken[name] = true
			return name
		}
	}
	for i := 2; ; i++ {
		name := fmt.Sprintf("%s_%d", strings.Join(keys, "_"), i)
		if !taken[name] {
			taken[name] = true
			return name
		}
	}
}

// tagList reports whether a list of strings is key:value tags and drafts
// each key: const when one value was seen (and it is no canary), else the
// field of the same report it equals, is an element of, or is a version
// prefix or substring of.
func (inf *inferrer) tagList(s *pathStat) ([]policy.Tag, bool) {
	if len(s.strs) == 0 || !all(s.strs, tagRe.MatchString) || hasEmpty(s.strs) {
		return nil, false
	}
	byKey := map[string][]string{}
	var keys []string
	for _, t := range s.strs {
		k, v, _ := strings.Cut(t, ":")
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], v)
	}
	if len(keys) < 2 {
		return nil, false
	}
	var tags []policy.Tag
	for _, k := range keys {
		vals := uniq(byKey[k])
		leaky := false
		for _, v := range vals {
			if s.leaky[k+":"+v] {
				leaky = true
			}
		}
		// A value that repeats a field is declared so (it follows the
		// field in every run); one value that repeats nothing is a
		// constant.
		if d := inf.derivation(s.path, k); d != nil {
			tags = append(tags, policy.Tag{Key: k, Derive: d})
			continue
		}
		if len(vals) == 1 && !leaky && vals[0] != "" {
			tags = append(tags, policy.Tag{Key: k, Const: vals[0]})
			continue
		}
		return nil, false
	}
	return tags, true
}

// derivation finds the field every value of tag key k (in the list at
// list) repeats, in every report.
func (inf *inferrer) derivation(list, k string) *policy.Derive {
	var cands []string
	for _, s := range inf.stats {
		if s.path != list && fieldPathOK(s.path) && s.kinds["object"] == 0 {
			cands = append(cands, s.path)
		}
	}
	sort.Slice(cands, func(i, j int) bool { return inf.stats[cands[i]].order < inf.stats[cands[j]].order })
	rules := []struct {
		rule string
		ok   func(v string, st exState, from string) bool
	}{
		{policy.DeriveEquals, func(v string, st exState, from string) bool { return slices.Contains(st.scalars[from], v) }},
		{policy.DeriveElement, func(v string, st exState, from string) bool { return slices.Contains(st.lists[from], v) }},
		{policy.DeriveVersionPrefix, func(v string, st exState, from string) bool {
			return slices.ContainsFunc(st.scalars[from], func(s string) bool { return s == v || strings.HasPrefix(s, v+".") })
		}},
		{policy.DeriveSubstring, func(v string, st exState, from string) bool {
			return slices.ContainsFunc(st.scalars[from], func(s string) bool { return strings.Contains(s, v) })
		}},
	}
	for _, r := range rules {
		for _, from := range cands {
			ok, any := true, false
			for _, st := range inf.exs {
				for _, t := range st.lists[list] {
					tk, tv, _ := strings.Cut(t, ":")
					if tk != k {
						continue
					}
					any = true
					if tv == "" || !r.ok(tv, st, from) {
						ok = false
					}
				}
			}
			if ok && any {
				return &policy.Derive{From: "\x00" + from, Rule: r.rule, How: "TODO (drafted from the values seen)"}
			}
		}
	}
	return nil
}

// resolveDerive replaces the path placeholders of derivations by field
// names once the fields are named.
func resolveDerive(fs []fieldInfo) {
	byPath := map[string]string{}
	for _, f := range fs {
		byPath[f.field.Path] = f.field.Name
	}
	for i := range fs {
		for j := range fs[i].field.Tags {
			if d := fs[i].field.Tags[j].Derive; d != nil && strings.HasPrefix(d.From, "\x00") {
				d.From = byPath[strings.TrimPrefix(d.From, "\x00")]
			}
		}
	}
}
