package scenario

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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

// Python returns the absolute path of the interpreter that `python3` in
// PATH really runs. Version managers (pyenv, asdf) put a shell-script shim
// first in PATH that costs more than the reference implementation itself
// (measured: 3x the wall time of a run); the bundled reference is ours to
// start, so the harness starts the interpreter directly. A tool the user
// names with --tool is run exactly as named.
func Python(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("find python3 (the bundled reference implementation needs it): %w", err)
	}
	p := strings.TrimSpace(string(out))
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("find python3: sys.executable is %q, not an absolute path", p)
	}
	return p, nil
}
