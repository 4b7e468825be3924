package scenario

import (
	"os"
	"path/filepath"
	"strings"
)

// ResolveTool makes the relative paths among the tool words absolute against
// cwd, the folder the harness was started in: the tool runs inside a repo
// copy, where "fixtures/reference/pants.py" would mean something else. The
// first word is a path only when it holds a slash (otherwise it is looked up
// in PATH, as a shell would); a later word is a path when it does not start
// with "-" and names something that exists under cwd. Other words are kept
// as they are.
func ResolveTool(words []string, cwd string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w
		if w == "" || filepath.IsAbs(w) || strings.HasPrefix(w, "-") {
			continue
		}
		if i == 0 && !strings.Contains(w, "/") {
			continue
		}
		p := filepath.Join(cwd, w)
		if _, err := os.Stat(p); err == nil {
			out[i] = p
		}
	}
	return out
}

// quote returns s as one shell word.
func quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
