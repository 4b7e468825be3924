package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// validateSchema checks a policy file against policy.schema.json, as an
// editor's YAML language server would.
func validateSchema(path string) error {
	GinkgoHelper()
	doc, err := jsonschema.UnmarshalJSON(mustOpenFile(filepath.Join(repoRoot, "policy.schema.json")))
	Expect(err).NotTo(HaveOccurred(), "jsonschema.UnmarshalJSON")
	c := jsonschema.NewCompiler()
	Expect(c.AddResource(policy.SchemaID, doc)).To(Succeed())
	schema, err := c.Compile(policy.SchemaID)
	Expect(err).NotTo(HaveOccurred(), "c.Compile")
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
	var v any
	Expect(yaml.Unmarshal(b, &v)).To(Succeed())
	j, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred(), "json.Marshal")
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	Expect(err).NotTo(HaveOccurred(), "jsonschema.UnmarshalJSON")
	return schema.Validate(inst)
}

func mustOpenFile(path string) *os.File {
	GinkgoHelper()
	f, err := os.Open(path)
	Expect(err).NotTo(HaveOccurred(), "os.Open")
	DeferCleanup(f.Close)
	return f
}

// fieldsByPath indexes a policy's fields.
func fieldsByPath(p *policy.Policy) map[string]policy.Field {
	m := map[string]policy.Field{}
	for _, f := range p.Fields {
		m[f.Path] = f
	}
	return m
}

// commentAbove is the comment block right above the line that holds
// `- name: NAME` in a draft.
func commentAbove(text, name string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "- name: "+name {
			var c []string
			for j := i - 1; j >= 0 && strings.HasPrefix(strings.TrimSpace(lines[j]), "#"); j-- {
				c = append([]string{strings.TrimSpace(lines[j])}, c...)
			}
			return strings.Join(c, "\n")
		}
	}
	return ""
}

var _ = Describe("init", Label("integration"), func() {
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.Join(repoRoot, p))
		Expect(err).NotTo(HaveOccurred(), "filepath.Abs")
		return a
	}

	It("drafts the bundled reference's policy from its opt-in, and run with the draft goes end to end", func() {
		tmp := GinkgoT().TempDir()
		out := filepath.Join(tmp, "pants.yaml")
		s := harness("init", "--tool", "python3 "+abs("fixtures/reference/pants.py"), "--repo", abs("fixtures/repos/pants-basic"),
			"--opt-in-file", `pants.toml:[anonymous-telemetry]\nenabled = true\nrepo_id = "{{repo_id}}"`, "--out", out, "--", "test", "lint", "::")
		Expect(s.ExitCode()).To(Equal(exitOK), string(s.Err.Contents()))

		p, err := policy.Load(out)
		Expect(err).NotTo(HaveOccurred(), "the draft loads")
		Expect(validateSchema(out)).To(Succeed(), "the draft validates against policy.schema.json")
		Expect(p.Endpoint).To(And(HaveField("Scheme", "https"), HaveField("Host", "spire.bugout.dev"), HaveField("Path", "/humbug/reports"), HaveField("Method", "POST")))
		Expect(p.Endpoint.Headers.Allowed).To(ContainElements("User-Agent", "Content-Type", "Authorization"))
		Expect(p.Endpoint.Headers.Secret).To(ConsistOf("Authorization"))
		Expect(p.Payload.Closed).To(ConsistOf("$", "$.content"))

		// Every field of the hand-written policy.yaml is found, with its
		// type; formats where the values show them.
		hand, err := policy.Load(filepath.Join(repoRoot, "policy.yaml"))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		got := fieldsByPath(p)
		for _, f := range hand.Fields {
			Expect(got).To(HaveKey(f.Path), "field %s of policy.yaml", f.Name)
			Expect(got[f.Path].Type).To(Equal(f.Type), "type of %s", f.Path)
			Expect(got[f.Path].Doc).To(Equal("TODO"))
		}
		Expect(got).To(HaveLen(len(hand.Fields)), "no field the reference does not send")
		for _, path := range []string{"$.content.repo_id", "$.content.machine_id", "$.content.user_id"} {
			Expect(got[path].Format).To(Equal(policy.FormatSHA256Hex), path)
		}
		Expect(got["$.content.timestamp"].Format).To(Equal(policy.FormatUnixTime))
		Expect(got["$.content.outcome"].Enum).To(Equal([]string{"SUCCESS"}))
		Expect(got["$.content.pants_version"].Pattern).NotTo(BeEmpty())
		tags := map[string]policy.Tag{}
		for _, t := range got["$.tags"].Tags {
			tags[t.Key] = t
		}
		Expect(tags).To(HaveKeyWithValue("source", HaveField("Const", "pantsbuild/pants")))
		Expect(tags).To(HaveKeyWithValue("session", HaveField("Derive", Equal(&policy.Derive{From: "run_id", Rule: policy.DeriveEquals, How: "TODO (drafted from the values seen)"}))))
		Expect(tags).To(HaveKeyWithValue("goal", HaveField("Derive.Rule", policy.DeriveElement)))

		// The documented sha256 of the raw repo id is a planted value in
		// a known form: flagged for the user to judge, in the file and on
		// stderr.
		b, err := os.ReadFile(out)
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(commentAbove(string(b), "repo_id")).To(ContainSubstring("# PROBABLE LEAK: repo-id (sha256) at $.content.repo_id"))
		Expect(string(s.Err.Contents())).To(ContainSubstring("PROBABLE LEAK: repo-id (sha256) at $.content.repo_id"))
		Expect(string(b)).To(ContainSubstring("promise: 'TODO: "))

		ids := map[string]bool{}
		for _, c := range p.Clauses {
			ids[c.ID] = true
		}
		Expect(ids).To(HaveKey("consent.nothing-until-opt-in"))
		Expect(ids).To(HaveKey("fields.documented-only"))
		Expect(ids).To(HaveKey("anonymity.no-planted-values"))
		Expect(ids).To(HaveKey("destination.endpoint-only"))
		Expect(ids).To(HaveKey("reports.one-per-run"))
		sc, err := p.Scenario("unset")
		Expect(err).NotTo(HaveOccurred(), "p.Scenario")
		Expect(sc.Files).To(BeEmpty(), "unset writes no opt-in")

		rep := filepath.Join(tmp, "report")
		r := harness("run", "--policy", out, "--tool", "python3 "+abs("fixtures/reference/pants.py"), "--out", rep)
		Expect(r.ExitCode()).To(BeElementOf(exitOK, exitHarness, exitViolations), "never a usage error: the draft is a policy")
		v := verdictsOf(rep)
		Expect(v).To(HaveKeyWithValue("fields.documented-only", HaveField("Verdict", "passed")), "the draft describes what the tool sends")
		Expect(v).To(HaveKeyWithValue("consent.nothing-until-opt-in", HaveField("Verdict", "passed")))
		Expect(v).To(HaveKeyWithValue("anonymity.no-planted-values", HaveField("Verdict", "violated")), "the flagged sha256 of the repo id")

		// The draft has teeth: the mutant that sends the raw repo id breaks
		// the sha256 format the draft inferred.
		mut := filepath.Join(tmp, "mutant")
		m := harness("run", "--policy", out, "--tool", "python3 "+abs("fixtures/reference/pants.py")+" --ref-mutant=raw-repo-id", "--out", mut)
		Expect(m.ExitCode()).To(Equal(exitViolations))
		Expect(verdictsOf(mut)).To(HaveKeyWithValue("fields.documented-only", HaveField("Verdict", "violated")))
	})

	It("flags the values a leaky sender sends, lists its other destination, and run reports them", func() {
		tmp := GinkgoT().TempDir()
		repo := filepath.Join(tmp, "project")
		Expect(os.Mkdir(repo, 0o755)).To(Succeed())
		out := filepath.Join(tmp, "leaky.yaml")
		tool := "python3 " + abs("fixtures/senders/leaky.py")
		s := harness("init", "--tool", tool, "--repo", repo, "--opt-in", "LEAKY_TELEMETRY=1", "--opt-out", "LEAKY_TELEMETRY=0", "--runs", "2", "--out", out, "--", "build")
		Expect(s.ExitCode()).To(Equal(exitOK), string(s.Err.Contents()))
		p, err := policy.Load(out)
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		Expect(validateSchema(out)).To(Succeed())

		Expect(p.Endpoint.Host).To(Equal("telemetry.leaky.example"), "the most frequent host")
		Expect(p.Payload.Closed).To(ConsistOf("$[*]", "$[*].context"), "a JSON list of events, JSON inside a string, gzip undone")
		got := fieldsByPath(p)
		Expect(got["$[*].id"].Pattern).To(Equal(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`), "uuid")
		Expect(got["$[*].ts"].Format).To(Equal(policy.FormatUnixTime))
		Expect(got["$[*].version"].Pattern).NotTo(BeEmpty(), "semver")
		Expect(got["$[*].kind"].Enum).To(Equal([]string{"command", "env"}))
		Expect(got["$[*].project"].Format).To(Equal(policy.FormatSHA256Hex))
		Expect(got["$[*].context"].Type).To(Equal(policy.TypeJSONString))
		Expect(got["$[*].user"]).To(HaveField("Enum", BeEmpty()), "a planted value never becomes an allowed enum value")
		Expect(got).To(HaveKeyWithValue("header:x-leaky-session", HaveField("Pattern", got["$[*].id"].Pattern)), "a tool's own header is a field too")
		Expect(got).NotTo(HaveKey("header:user-agent"), "HTTP's own headers are only allowed, not fields")

		b, err := os.ReadFile(out)
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		text := string(b)
		Expect(commentAbove(text, "user")).To(ContainSubstring("# PROBABLE LEAK: user (raw) at $[*].user"))
		Expect(commentAbove(text, "project")).To(ContainSubstring("# PROBABLE LEAK: workdir (sha256) at $[*].project"))
		Expect(commentAbove(text, "token")).To(ContainSubstring("# PROBABLE LEAK: env-value (raw) at $[*].context.token"))
		Expect(commentAbove(text, "version")).NotTo(ContainSubstring("LEAK"))
		Expect(text).To(ContainSubstring("host: updates.leaky.example, path: /latest, methods: [GET], reason: TODO"), "the other host, as a candidate")
		Expect(p.OtherTraffic).To(BeEmpty(), "never declared on the user's behalf")
		Expect(string(s.Err.Contents())).To(ContainSubstring("PROBABLE LEAK: user (raw) at $[*].user"))
		_, err = p.Scenario("opt-out")
		Expect(err).NotTo(HaveOccurred(), "the opt-out the user gave")

		rep := filepath.Join(tmp, "report")
		r := harness("run", "--policy", out, "--tool", tool, "--out", rep)
		Expect(r.ExitCode()).To(Equal(exitViolations))
		v := verdictsOf(rep)
		Expect(v).To(HaveKeyWithValue("anonymity.no-planted-values", HaveField("Findings", BeNumerically(">=", 3))))
		Expect(v).To(HaveKeyWithValue("destination.endpoint-only", HaveField("Verdict", "violated")))
		Expect(v).To(HaveKeyWithValue("fields.documented-only", HaveField("Verdict", "passed")))
		Expect(v).To(HaveKeyWithValue("consent.nothing-until-opt-in", HaveField("Verdict", "passed")))
	})

	It("says what to check when the tool sent nothing, and writes no draft", func() {
		tmp := GinkgoT().TempDir()
		out := filepath.Join(tmp, "none.yaml")
		s := harness("init", "--tool", "python3 "+abs("fixtures/senders/leaky.py"), "--repo", tmp, "--runs", "1", "--out", out)
		Expect(s.ExitCode()).To(Equal(exitHarness))
		Expect(string(s.Err.Contents())).To(ContainSubstring("no run sent a request"))
		Expect(string(s.Err.Contents())).To(ContainSubstring("--opt-in"))
		Expect(out).NotTo(BeAnExistingFile())
	})

	It("rejects a missing --tool and a malformed --opt-in as usage errors", func() {
		Expect(harness("init").ExitCode()).To(Equal(exitUsage))
		Expect(harness("init", "--tool", "x", "--opt-in", "NOEQUALS").ExitCode()).To(Equal(exitUsage))
		Expect(harness("init", "--tool", "x", "--opt-in-file", "/etc/passwd:x").ExitCode()).To(Equal(exitUsage))
	})
})
