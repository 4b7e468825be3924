package telemetryharness_test

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// The dependency rules of docs/architecture.md, checked on the import graph
// that `go list` reports (production code only: tests may import anything).

const module = "github.com/telemetry-harness/telemetry-harness"

// archRule forbids the packages matching from to import any package
// matching forbid (unless it matches allow). direct checks the package's
// own imports; otherwise every package it depends on, directly or not
// (`go list -deps`), counts, so a rule cannot be dodged through a helper.
type archRule struct {
	name   string
	from   []string
	forbid []string
	allow  []string
	direct bool
}

// Patterns are module-relative ("suites/judge") or full import paths; a
// trailing "/..." matches the folder and everything below it.
var archRules = []archRule{
	{
		name:   "recording never imports the checking or output side (a capture outlives any policy)",
		from:   []string{"proxy/..."},
		forbid: []string{"suites/...", "reports/...", "cmd/..."},
	},
	{
		name: "evidence is a plain library: no Ginkgo, no Gomega (check, replay and the specs call the same functions)",
		from: []string{"suites/canary", "suites/observe", "suites/judge", "suites/oracle",
			"suites/textmatch", "suites/policy", "suites/scenario", "suites/differential"},
		forbid: []string{"github.com/onsi/ginkgo/...", "github.com/onsi/gomega/..."},
	},
	{
		name: "policy owns its vocabulary: it never imports evidence",
		from: []string{"suites/policy"},
		forbid: []string{"suites/canary", "suites/observe", "suites/judge", "suites/oracle",
			"suites/textmatch", "suites/scenario"},
	},
	{
		name:   "reports render judged results: of the suites they import judge and policy only",
		from:   []string{"reports/..."},
		forbid: []string{"suites/..."},
		allow:  []string{"suites/judge", "suites/policy"},
		direct: true,
	},
	{
		name:   "nothing imports cmd/",
		from:   []string{"..."},
		forbid: []string{"cmd/..."},
	},
}

// knownArchExceptions are imports that break a rule today, kept visible
// here until they go; the test fails on an exception that no longer occurs.
// None today: the last three (reports -> canary, observe, textmatch) went
// when reading run folders for a report moved into suites/judge (#16).
var knownArchExceptions = map[string]string{}

// archPackage is one node of the import graph.
type archPackage struct {
	path    string // module-relative, "" for the root package
	imports []string
	deps    []string
}

func TestArchitectureRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; expected the whole module", len(pkgs))
	}
	violations := archViolations(pkgs, archRules)
	seen := map[string]bool{}
	for _, v := range violations {
		seen[v.edge] = true
		if why, ok := knownArchExceptions[v.edge]; ok {
			t.Logf("known exception %s (%s)", v.edge, why)
			continue
		}
		t.Errorf("forbidden import %s: rule %q (docs/architecture.md)", v.edge, v.rule)
	}
	for edge := range knownArchExceptions {
		if !seen[edge] {
			t.Errorf("known exception %q no longer occurs: delete it from knownArchExceptions", edge)
		}
	}
}

// TestArchitectureRulesCatchViolations proves the checker fails on each
// kind of forbidden import, on a made-up graph.
func TestArchitectureRulesCatchViolations(t *testing.T) {
	pkgs := []archPackage{
		{path: "proxy/session", imports: []string{"proxy/capture"}, deps: []string{"proxy/capture", "suites/policy"}},
		{path: "suites/judge", imports: []string{"suites/policy"}, deps: []string{"suites/policy", "github.com/onsi/gomega/types"}},
		{path: "suites/policy", imports: []string{"suites/canary"}, deps: []string{"suites/canary", "suites/observe"}},
		{path: "reports", imports: []string{"suites/judge", "suites/policy", "suites/scenario"}, deps: []string{"suites/judge", "suites/policy", "suites/scenario", "suites/canary"}},
		{path: "suites/compliance", imports: []string{"cmd/telemetry-harness"}, deps: []string{"cmd/telemetry-harness"}},
		{path: "cmd/telemetry-harness", imports: []string{"reports"}, deps: []string{"reports", "suites/judge"}},
	}
	var got []string
	for _, v := range archViolations(pkgs, archRules) {
		got = append(got, v.edge)
	}
	want := []string{
		"proxy/session -> suites/policy",
		"suites/judge -> github.com/onsi/gomega/types",
		"suites/policy -> suites/canary",
		"suites/policy -> suites/observe",
		"reports -> suites/scenario",
		"suites/compliance -> cmd/telemetry-harness",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations found:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

type archViolation struct{ edge, rule string }

// archViolations lists every import of pkgs that a rule forbids, in
// package order, then rule order, then import order.
func archViolations(pkgs []archPackage, rules []archRule) []archViolation {
	var out []archViolation
	for _, p := range pkgs {
		for _, r := range rules {
			if !matchAny(r.from, p.path) {
				continue
			}
			targets := p.deps
			if r.direct {
				targets = p.imports
			}
			for _, d := range targets {
				if d == p.path || !matchAny(r.forbid, d) || matchAny(r.allow, d) {
					continue
				}
				out = append(out, archViolation{edge: p.path + " -> " + d, rule: r.name})
			}
		}
	}
	return out
}

func matchAny(patterns []string, path string) bool {
	for _, pat := range patterns {
		if pat == "..." {
			return true
		}
		if base, ok := strings.CutSuffix(pat, "/..."); ok {
			if path == base || strings.HasPrefix(path, base+"/") {
				return true
			}
		} else if path == pat {
			return true
		}
	}
	return false
}

// listPackages asks the go command for every package of the module with
// its imports and its dependencies (what `go list -deps` prints for it),
// module paths made relative.
func listPackages(t *testing.T) []archPackage {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the architecture test needs the go command on PATH: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []archPackage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "|")
		if len(parts) != 3 {
			t.Fatalf("go list printed %q: want three |-separated fields", sc.Text())
		}
		pkgs = append(pkgs, archPackage{path: rel(parts[0]), imports: rels(parts[1]), deps: rels(parts[2])})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading go list's output: %v", err)
	}
	return pkgs
}

func rels(list string) []string {
	var out []string
	for _, p := range strings.Fields(list) {
		out = append(out, rel(p))
	}
	return out
}

// rel makes a module path relative; other paths stay as they are.
func rel(p string) string {
	if p == module {
		return ""
	}
	if r, ok := strings.CutPrefix(p, module+"/"); ok {
		return r
	}
	return p
}
