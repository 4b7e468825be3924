package differential

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Folder is one run folder of a comparison with what was planted in it.
type Folder struct {
	// Dir is the run folder.
	Dir string
	// Canaries are the values planted in the run; nil reads the folder's
	// canaries.json.
	Canaries []canary.Canary
	// Integrity is the capture's chain as the runner holds it; nil checks
	// the folder's integrity.json, when there is one.
	Integrity *capture.Integrity
}

// snapshot maps each value position of a run folder to the set of values
// seen there (normalised: planted values replaced by their role).
type snapshot map[string]map[string]bool

// maxShown bounds a value's length in a finding.
const maxShown = 60

// indexRe finds JSON array indexes, which are folded: the order and number
// of events may differ between runs without any value changing.
var indexRe = regexp.MustCompile(`\[[0-9]+\]`)

// fold is a position path with its array indexes folded to [*].
func fold(path string) string { return indexRe.ReplaceAllString(path, "[*]") }

// framing headers follow from the body: its length changes whenever a
// value does, which the body's own positions already show.
var framing = map[string]bool{"content-length": true, "transfer-encoding": true}

// load reads the capture (and DNS questions) of one run folder into a
// snapshot. Planted values that the canary search recognises become
// «role» in paths and values alike.
func load(f Folder, lists []observe.TagList) (snapshot, error) {
	cs := f.Canaries
	if cs == nil {
		var err error
		cs, err = canary.ReadFile(filepath.Join(f.Dir, capture.CanariesName))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("differential: %w", err)
		}
	}
	redact := func(s string) string { return s }
	if len(cs) > 0 {
		s, err := canary.NewSearcher(cs)
		if err != nil {
			return nil, fmt.Errorf("differential: %s: %w", f.Dir, err)
		}
		seen := map[string]string{}
		redact = func(t string) string {
			if v, ok := seen[t]; ok {
				return v
			}
			v := s.Redact(t)
			seen[t] = v
			return v
		}
	}
	listPaths := map[string]bool{}
	for _, l := range lists {
		listPaths[fold(l.Path)] = true
	}
	snap := snapshot{}
	add := func(pos, val string) {
		pos = redact(pos)
		set := snap[pos]
		if set == nil {
			set = map[string]bool{}
			snap[pos] = set
		}
		set[redact(val)] = true
	}
	path, err := capture.CaptureFile(f.Dir)
	if err != nil {
		return nil, fmt.Errorf("differential: %w", err)
	}
	switch {
	case f.Integrity != nil:
		err = capture.VerifyWith(path, f.Integrity)
	default:
		if _, serr := os.Stat(filepath.Join(f.Dir, capture.IntegrityName)); serr == nil {
			err = capture.Verify(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("differential: %w", err)
	}
	err = capture.ScanFile(path, func(ex *capture.Exchange) error {
		o, err := observe.Observe(ex, observe.Options{TagLists: lists})
		if err != nil {
			return err
		}
		addExchange(o, ex, listPaths, add)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("differential: %s: %w", path, err)
	}
	eg, err := capture.ReadEgress(f.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("differential: %w", err)
	}
	if eg != nil {
		for _, q := range eg.DNS {
			add("dns", q.Name)
		}
	}
	return snap, nil
}

// addExchange adds every value position of one observed exchange; lists
// are the folded paths of the policy's tag lists.
func addExchange(o *observe.Observation, ex *capture.Exchange, lists map[string]bool, add func(pos, val string)) {
	method, host := o.Method, o.Host
	if method == "" {
		method = "-"
	}
	if host == "" {
		host = "-"
	}
	group := string(ex.Kind) + " " + method + " " + host
	if o.Port != "" && o.Port != "443" && o.Port != "80" {
		group += ":" + o.Port
	}
	add(group, "sent")
	for i, seg := range strings.Split(strings.TrimPrefix(o.Path, "/"), "/") {
		add(fmt.Sprintf("%s path[%d]", group, i), seg)
	}
	for _, v := range o.Values {
		switch v.Kind {
		case observe.KindURL:
			continue // its parts are positions of their own
		case observe.KindHeader:
			name, _ := strings.CutPrefix(strings.ToLower(v.Path), "header:")
			if framing[name] && strings.HasPrefix(v.Path, "header:") {
				continue
			}
			add(group+" "+strings.ToLower(v.Path), v.Text)
		case observe.KindQuery, observe.KindTag:
			add(group+" "+v.Path, v.Text)
		default:
			if v.Start < 0 {
				add(group+" "+v.Path, v.Text) // chunk extensions
			}
			// Body leaves come from the walk below, which knows events.
		}
	}
	if o.IsJSON {
		w := walker{add: add, group: group, lists: lists}
		w.walk(o.JSON, "$", "")
	}
	if !o.IsJSON && len(o.Body) > 0 {
		// An opaque body is one position: its whole text.
		add(group+" body", bodyValue(o.Body))
	}
}

// bodyValue is an opaque body as a comparable value: its text when short
// and printable, else its length and digest.
func bodyValue(b []byte) string {
	if len(b) <= 256 && utf8.Valid(b) {
		return string(b)
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes, sha256 %s", len(b), hex.EncodeToString(sum[:8]))
}

// tagLists are the policy's tag lists as observe takes them.

// walker adds the body's leaves: array indexes folded, members of an
// event qualified by its kind ("$[*].generic.value {key=execution}").
type walker struct {
	add   func(pos, val string)
	group string
	lists map[string]bool
}

func (w walker) walk(node any, path, qual string) {
	switch n := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if strings.HasSuffix(path, "[*]") || strings.Contains(path, "[*].") {
			for _, k := range keys {
				if s, ok := n[k].(string); ok && policy.IsEventField(k) {
					qual = " {" + k + "=" + s + "}"
					break
				}
			}
		}
		for _, k := range keys {
			w.walk(n[k], observe.ChildKey(path, k), qual)
		}
	case []any:
		if w.lists[path] {
			return // a tag list: its tags are positions of their own
		}
		for _, e := range n {
			w.walk(e, path+"[*]", qual)
		}
	default:
		w.add(w.group+" "+path+qual, scalarText(node))
	}
}

// scalarText is a JSON leaf as text, as observe writes it.
func scalarText(v any) string {
	switch n := v.(type) {
	case string:
		return n
	case json.Number:
		return string(n)
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(n)
	case float64:
		return strconv.FormatFloat(n, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}
