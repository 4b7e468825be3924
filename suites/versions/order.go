// Package versions runs one policy against many versions of a tool: it
// resolves the versions (a list, or a semver range over the registry's
// list), installs each one into its own cache folder from a command
// template (once: a stamp file remembers the install), runs the harness's
// `run` on it as a child process, and gathers the clause verdicts into a
// clause × version matrix with the payload diff of each pair of
// neighbouring versions. Bisect finds the first version whose run breaks a
// clause by binary search. A version that cannot install or run here is
// skipped with its reason, never given a verdict.
package versions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// validVersion is what a version may hold: it becomes a folder name and a
// word of the install command.
var validVersion = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// List parses a comma-separated --versions value, in semver order when
// every entry is a semver version, else in the order given.
func List(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !validVersion.MatchString(v) {
			return nil, fmt.Errorf("--versions: %q is not a version (letters, digits, '.', '+', '-')", v)
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--versions: no version given (e.g. --versions 1.0.0,1.1.0)")
	}
	Sort(out)
	return out, nil
}

// Sort orders versions by semver when every one parses; otherwise it
// leaves the order alone (the user's order is the only one known).
func Sort(vs []string) {
	parsed := make(map[string]*semver.Version, len(vs))
	for _, v := range vs {
		p, err := semver.NewVersion(v)
		if err != nil {
			return
		}
		parsed[v] = p
	}
	sort.SliceStable(vs, func(i, j int) bool { return parsed[vs[i]].LessThan(parsed[vs[j]]) })
}

// InRange keeps the versions of all that satisfy the semver range rng
// (Masterminds syntax: '>=13 <16.5', '^15', '13 - 16.4.6'), sorted.
// Prereleases are kept only when the range names one, as npm does.
func InRange(all []string, rng string) ([]string, error) {
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return nil, fmt.Errorf("--range %q: %w", rng, err)
	}
	var out []string
	for _, v := range all {
		p, err := semver.NewVersion(v)
		if err != nil || !validVersion.MatchString(v) {
			continue
		}
		if c.Check(p) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--range %q: none of the %d published versions satisfies it", rng, len(all))
	}
	Sort(out)
	return out, nil
}

// Between returns the versions of all from good to bad, both included, in
// order; both must be in all.
func Between(all []string, good, bad string) ([]string, error) {
	gi, bi := -1, -1
	for i, v := range all {
		switch v {
		case good:
			gi = i
		case bad:
			bi = i
		}
	}
	switch {
	case gi < 0:
		return nil, fmt.Errorf("--good %s is not among the versions (%s)", good, summary(all))
	case bi < 0:
		return nil, fmt.Errorf("--bad %s is not among the versions (%s)", bad, summary(all))
	case gi >= bi:
		return nil, fmt.Errorf("--good %s must come before --bad %s", good, bad)
	}
	return append([]string(nil), all[gi:bi+1]...), nil
}

func summary(vs []string) string {
	if len(vs) <= 6 {
		return strings.Join(vs, ", ")
	}
	return fmt.Sprintf("%s, ... %s; %d in all", strings.Join(vs[:3], ", "), strings.Join(vs[len(vs)-2:], ", "), len(vs))
}

// Registry lists the published versions of pkg with `NPM view PKG versions
// --json` (npm is the command, "npm" by default).
func Registry(ctx context.Context, npm, pkg string) ([]string, error) {
	if npm == "" {
		npm = "npm"
	}
	if pkg == "" {
		return nil, errors.New("the registry needs a package name: give --package (e.g. --package next)")
	}
	cmd := exec.CommandContext(ctx, npm, "view", pkg, "versions", "--json")
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg = lastLine(string(ee.Stderr))
		}
		return nil, fmt.Errorf("%s view %s versions --json: %w %s (is npm installed and the registry reachable?)", npm, pkg, err, msg)
	}
	var vs []string
	if err := json.Unmarshal(out, &vs); err != nil {
		// A package with one version prints a bare string.
		var one string
		if err2 := json.Unmarshal(out, &one); err2 != nil {
			return nil, fmt.Errorf("%s view %s versions --json: not a JSON list of versions: %w", npm, pkg, err)
		}
		vs = []string{one}
	}
	return vs, nil
}

// lastLine is the last non-empty line of s, for one-line reasons.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			if len(l) > 300 {
				l = l[:300] + "…"
			}
			return l
		}
	}
	return ""
}
