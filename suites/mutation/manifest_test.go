package mutation_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.yaml.in/yaml/v3"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// mutant is one entry of fixtures/mutants/manifest.yaml.
type mutant struct {
	Name    string   `yaml:"name"`
	Tool    string   `yaml:"tool"`
	Clauses []string `yaml:"clauses"`
	// Sealed marks a mutant that misbehaves only in a sealed run;
	// elsewhere it is the reference.
	Sealed bool `yaml:"sealed"`
	// Scenarios, when set, limits the bench to these scenarios (a leak
	// that takes the same path in every scenario that sends).
	Scenarios []string `yaml:"scenarios"`
	// Finding, when set, is a substring some finding's message of the
	// mutant's clauses must hold: the canary search's chain.
	Finding string `yaml:"finding"`
	// HarnessError marks a mutant that attacks the evidence: where it
	// reaches it, the run must end in a harness error holding this text
	// (exit 1); where it cannot (a sealed run hides the output), its leak
	// must violate its clauses.
	HarnessError string `yaml:"harness_error"`
	// Differential runs the scenarios with --differential: the mutant's
	// leak is keyed (or randomised), so only a differential run sees it.
	Differential bool   `yaml:"differential"`
	Description  string `yaml:"description"`
}

// loadManifest reads the manifest strictly (unknown keys are errors) and
// checks every entry against the policy, so a typo in a clause id fails
// here, with its line, and not as a "surviving" mutant.
func loadManifest(path string, p *policy.Policy) ([]mutant, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load mutant manifest: %w", err)
	}
	return parseManifest(data, path, p)
}

func parseManifest(data []byte, name string, p *policy.Policy) ([]mutant, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var ms []mutant
	if err := dec.Decode(&ms); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("mutant manifest %s: empty; regenerate it with python3 fixtures/reference/pants.py --ref-print-manifest", name)
		}
		return nil, fmt.Errorf("mutant manifest %s: %w", name, err)
	}
	// Line numbers for the checks below; the strict decode above has
	// already vouched for the shape.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("mutant manifest %s: %w", name, err)
	}
	line := func(i int) int {
		if len(doc.Content) == 1 && i < len(doc.Content[0].Content) {
			return doc.Content[0].Content[i].Line
		}
		return 0
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("mutant manifest %s: no mutants", name)
	}
	seen := map[string]int{}
	for i, m := range ms {
		where := fmt.Sprintf("mutant manifest %s:%d: mutant %d", name, line(i), i+1)
		switch {
		case m.Name == "":
			return nil, fmt.Errorf("%s: no name", where)
		case m.Tool == "":
			return nil, fmt.Errorf("%s (%s): no tool words", where, m.Name)
		case len(m.Clauses) == 0:
			return nil, fmt.Errorf("%s (%s): no clauses; a mutant must break at least one clause", where, m.Name)
		}
		if first, ok := seen[m.Name]; ok {
			return nil, fmt.Errorf("%s: name %s already used at line %d", where, m.Name, first)
		}
		seen[m.Name] = line(i)
		for _, id := range m.Clauses {
			cl, err := p.Clause(id)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): clause %q is not in %s; use a clause id of the policy", where, m.Name, id, p.File)
			}
			if cl.Testable == policy.TestableServerSide {
				return nil, fmt.Errorf("%s (%s): clause %s is server-side, which no client run can violate", where, m.Name, id)
			}
		}
		for _, sc := range m.Scenarios {
			if _, err := p.Scenario(sc); err != nil {
				return nil, fmt.Errorf("%s (%s): scenario %q is not in %s; use a scenario name of the policy", where, m.Name, sc, p.File)
			}
		}
		ms[i].Clauses = sortedUnique(m.Clauses)
	}
	return ms, nil
}

func sortedUnique(ids []string) []string {
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

var _ = Describe("the mutant manifest", Label("manifest"), func() {
	var p *policy.Policy
	BeforeEach(func() {
		var err error
		p, err = policy.Load(filepath.Join("..", "..", "policy.yaml"))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
	})

	It("reads the shipped manifest: names unique, clauses sorted and in the policy", func() {
		ms, err := loadManifest(filepath.Join("..", "..", "fixtures", "mutants", "manifest.yaml"), p)
		Expect(err).NotTo(HaveOccurred(), "loadManifest")
		Expect(len(ms)).To(BeNumerically(">=", 25))
		for _, m := range ms {
			Expect(m.Clauses).To(Equal(sortedUnique(m.Clauses)), m.Name)
		}
	})

	DescribeTable("rejects a bad entry with its line",
		func(doc, want string) {
			_, err := parseManifest([]byte(doc), "m.yaml", p)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("an unknown key", "- name: a\n  tool: t\n  clauses: [cmdline.not-sent]\n  colour: red\n", "line 4: field colour not found"),
		Entry("an unknown clause", "- name: a\n  tool: t\n  clauses: [cmdline.not-sent]\n- name: b\n  tool: t\n  clauses: [cmdline.nope]\n",
			`m.yaml:4: mutant 2 (b): clause "cmdline.nope" is not in`),
		Entry("a server-side clause", "- name: a\n  tool: t\n  clauses: [server.access]\n", "server-side"),
		Entry("a repeated name", "- name: a\n  tool: t\n  clauses: [cmdline.not-sent]\n- name: a\n  tool: t\n  clauses: [cmdline.not-sent]\n",
			"m.yaml:4: mutant 2: name a already used at line 1"),
		Entry("no clauses", "- name: a\n  tool: t\n  clauses: []\n", "m.yaml:1: mutant 1 (a): no clauses"),
		Entry("no tool", "- name: a\n  clauses: [cmdline.not-sent]\n", "no tool words"),
		Entry("an empty file", "", "empty"),
	)
})
