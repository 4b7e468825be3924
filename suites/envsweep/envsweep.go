package envsweep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Source says where a name was found.
type Source string

// Sources.
const (
	SourceJS     Source = "javascript"
	SourcePython Source = "python"
	SourceBinary Source = "binary"
	SourceFamily Source = "family"
	SourceRunEnv Source = "run-environment"
)

// Names are the swept variable names with where each came from.
type Names struct {
	// Names is sorted and unique.
	Names []string `json:"names"`
	// From maps each name to its first source.
	From map[string]Source `json:"from"`
	// Roots are the folders and files scanned for the tool's code.
	Roots []string `json:"roots"`
	// Files counts the files read.
	Files int `json:"files"`
	// Excluded are names found but never planted: the harness owns them,
	// or planting them would break any process (PATH, LD_PRELOAD, ...).
	Excluded []string `json:"excluded,omitempty"`

	// prefixes are the first segments a binary's name must start with.
	prefixes map[string]bool
}

// prefixesOf are the name prefixes kept from a native binary's strings,
// whose upper-case runs are mostly not variables (key names, protocol
// constants): the tool's own name (TURBO_ for turbo) and the families'
// (GITHUB_, VERCEL_, ...).
func prefixesOf(words, roots []string) map[string]bool {
	p := map[string]bool{}
	for _, f := range Families() {
		if i := strings.IndexByte(f, '_'); i > 0 {
			p[f[:i]] = true
		}
	}
	var names []string
	for _, w := range append(slices.Clone(words), roots...) {
		names = append(names, filepath.Base(w))
		if real, err := filepath.EvalSymlinks(w); err == nil {
			names = append(names, filepath.Base(real))
		}
	}
	for _, n := range names {
		n = strings.ToUpper(strings.TrimSuffix(n, filepath.Ext(n)))
		if len(n) >= 2 && nameRe.MatchString(n+"_X") {
			p[n] = true
		}
	}
	return p
}

// Counts are how many names each source contributed.
func (n *Names) Counts() map[Source]int {
	c := map[Source]int{}
	for _, s := range n.From {
		c[s]++
	}
	return c
}

// Summary is one line: how many names and from where.
func (n *Names) Summary() string {
	c := n.Counts()
	var parts []string
	for _, s := range []Source{SourceJS, SourcePython, SourceBinary, SourceFamily, SourceRunEnv} {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d from %s", c[s], s))
		}
	}
	return fmt.Sprintf("%d variable names found (%s; %d files of the tool's code read)", len(n.Names), strings.Join(parts, ", "), n.Files)
}

// maxFile bounds the bytes read of one file: a tool's binary is tens of
// MB, and names sit in its read-only data, not in the tail of a larger
// blob.
const maxFile = 256 << 20

// maxFiles bounds the files read under one root.
const maxFiles = 200000

var (
	// nameRe is an environment variable name as tools spell them: upper
	// case, digits and underscores, at least one underscore or a known
	// short name, 3 to 64 characters.
	nameRe = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)
	jsRe   = regexp.MustCompile(`process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\])`)
	pyRe   = regexp.MustCompile(`(?:os\.environ(?:\.get)?\s*[\[(]\s*|os\.getenv\(\s*|environ\.get\(\s*)['"]([A-Za-z_][A-Za-z0-9_]*)['"]`)
)

// Discover lists the names for a tool given by its words (as run runs it:
// the first word through PATH, every word that names an existing file or
// folder), plus the families and the names of env (the run's own
// environment, KEY=VALUE). Folders are scanned recursively; a file inside
// a node_modules tree makes the whole tree its root.
func Discover(words []string, env []string) (*Names, error) {
	n := &Names{From: map[string]Source{}}
	roots, err := toolRoots(words)
	if err != nil {
		return nil, err
	}
	n.Roots = roots
	n.prefixes = prefixesOf(words, roots)
	for _, r := range roots {
		if err := n.scanRoot(r); err != nil {
			return nil, fmt.Errorf("sweep the code of %s: %w", r, err)
		}
	}
	for _, f := range Families() {
		n.add(f, SourceFamily)
	}
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); ok && k != "" {
			n.add(k, SourceRunEnv)
		}
	}
	var keep []string
	for _, name := range n.Names {
		if Unsafe(name) {
			n.Excluded = append(n.Excluded, name)
			delete(n.From, name)
			continue
		}
		keep = append(keep, name)
	}
	n.Names = keep
	return n, nil
}

func (n *Names) add(name string, src Source) {
	if _, ok := n.From[name]; ok {
		return
	}
	n.From[name] = src
	i := sort.SearchStrings(n.Names, name)
	n.Names = slices.Insert(n.Names, i, name)
}

// toolRoots resolves the tool's words to the files and folders holding its
// code.
func toolRoots(words []string) ([]string, error) {
	if len(words) == 0 {
		return nil, errors.New("sweep: no tool words")
	}
	var roots []string
	addPath := func(p string) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		p = filepath.Clean(p)
		if i := strings.LastIndex(p, string(filepath.Separator)+"node_modules"+string(filepath.Separator)); i >= 0 {
			p = p[:i] // the project whose node_modules holds it
		}
		if !slices.Contains(roots, p) {
			roots = append(roots, p)
		}
	}
	if p, err := exec.LookPath(words[0]); err == nil {
		addPath(p)
		// An npm .bin link points into the package; the link's own tree
		// (…/node_modules/.bin) names the project too.
		if abs, err := filepath.Abs(p); err == nil && strings.Contains(abs, "node_modules") {
			addPath(abs)
		}
	}
	for _, w := range words[1:] {
		if _, err := os.Stat(w); err == nil {
			addPath(w)
		}
	}
	// An interpreter (python3, node) is not the tool's code: keep its
	// folder only when nothing else named the tool.
	if len(roots) > 1 {
		if bin, err := exec.LookPath(words[0]); err == nil && isInterpreter(bin) {
			real, _ := filepath.EvalSymlinks(bin)
			roots = slices.DeleteFunc(roots, func(r string) bool { return r == filepath.Clean(real) || r == filepath.Clean(bin) })
		}
	}
	return roots, nil
}

func isInterpreter(bin string) bool {
	b := filepath.Base(bin)
	for _, i := range []string{"python", "node", "ruby", "perl", "sh", "bash", "env"} {
		if strings.HasPrefix(b, i) {
			return true
		}
	}
	return false
}

func (n *Names) scanRoot(root string) error {
	st, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return n.scanFile(root)
	}
	files := 0
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable corner is skipped, not fatal
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if files++; files > maxFiles {
			return fs.SkipAll
		}
		return n.scanFile(p)
	})
}

func (n *Names) scanFile(p string) error {
	ext := strings.ToLower(filepath.Ext(p))
	switch ext {
	case ".map", ".md", ".txt", ".json", ".d.ts", ".css", ".html", ".png", ".svg", ".woff", ".woff2", ".ttf":
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile))
	if err != nil {
		return nil
	}
	n.Files++
	switch {
	case ext == ".js" || ext == ".mjs" || ext == ".cjs" || ext == ".ts":
		for _, m := range jsRe.FindAllSubmatch(b, -1) {
			n.addCode(string(m[1])+string(m[2]), SourceJS)
		}
	case ext == ".py" || bytes.HasPrefix(b, []byte("#!/usr/bin/env python")):
		for _, m := range pyRe.FindAllSubmatch(b, -1) {
			n.addCode(string(m[1]), SourcePython)
		}
	case isBinary(b):
		n.scanBinary(b)
	default:
		// A script of another kind (a launcher): both patterns.
		for _, m := range jsRe.FindAllSubmatch(b, -1) {
			n.addCode(string(m[1])+string(m[2]), SourceJS)
		}
		for _, m := range pyRe.FindAllSubmatch(b, -1) {
			n.addCode(string(m[1]), SourcePython)
		}
	}
	return nil
}

// addCode adds a name read from code: any spelling the code used, within
// the length a variable name has.
func (n *Names) addCode(name string, src Source) {
	if len(name) >= 2 && len(name) <= 64 {
		n.add(name, src)
	}
}

func isBinary(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\x7fELF")) || bytes.HasPrefix(b, []byte("\xcf\xfa\xed\xfe")) || bytes.HasPrefix(b, []byte("MZ"))
}

// scanBinary takes upper-case runs from a binary's bytes. Compilers pack
// string literals without separators ("TURBO_TEAMTURBO_TOKEN"), so a run
// is split again wherever a prefix that starts other names recurs.
func (n *Names) scanBinary(b []byte) {
	var runs []string
	start := -1
	for i := 0; i <= len(b); i++ {
		upper := i < len(b) && (b[i] >= 'A' && b[i] <= 'Z' || b[i] >= '0' && b[i] <= '9' || b[i] == '_')
		if upper && start < 0 {
			start = i
		}
		if !upper && start >= 0 {
			if i-start >= 4 && i-start <= 512 {
				runs = append(runs, string(b[start:i]))
			}
			start = -1
		}
	}
	prefixes := map[string]int{}
	for _, r := range runs {
		if j := strings.IndexByte(r, '_'); j > 1 {
			prefixes[r[:j+1]]++
		}
	}
	for _, r := range runs {
		for _, part := range splitAtPrefixes(r, prefixes) {
			if len(part) <= 64 && nameRe.MatchString(part) && n.prefixes[part[:strings.IndexByte(part, '_')]] {
				n.add(part, SourceBinary)
			}
		}
	}
}

// splitAtPrefixes cuts r before every later occurrence of a prefix that
// starts at least 3 runs.
func splitAtPrefixes(r string, prefixes map[string]int) []string {
	cuts := []int{0}
	for p, count := range prefixes {
		if count < 3 {
			continue
		}
		for off := 1; off < len(r); {
			k := strings.Index(r[off:], p)
			if k < 0 {
				break
			}
			cuts = append(cuts, off+k)
			off += k + 1
		}
	}
	sort.Ints(cuts)
	var out []string
	for i, c := range cuts {
		end := len(r)
		if i+1 < len(cuts) {
			end = cuts[i+1]
		}
		if end > c {
			out = append(out, strings.Trim(r[c:end], "_"))
		}
	}
	return out
}
