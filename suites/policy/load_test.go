package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

const root = "../.."

func problems(err error) []string {
	GinkgoHelper()
	var le *policy.LoadError
	Expect(errors.As(err, &le)).To(BeTrue(), "want a *policy.LoadError, got %v", err)
	var out []string
	for _, p := range le.Problems {
		out = append(out, p.String())
	}
	return out
}

var _ = Describe("Load", func() {
	It("loads the shipped policy with every clause of the contract", func() {
		p, err := policy.Load(filepath.Join(root, "policy.yaml"))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		var client, server []string
		for _, c := range p.Clauses {
			if c.Testable == policy.TestableClient {
				client = append(client, c.ID)
			} else {
				server = append(server, c.ID)
			}
		}
		Expect(client).To(ConsistOf(
			"consent.nothing-until-opt-in", "consent.opt-out-silences-logging", "fields.documented-only",
			"fields.all-documented-present", "ids.sha256-only", "ids.salted-with-repo-id", "anonymity.no-personal-values",
			"repo-id.empty-removes-ids", "goals.standard-only", "goals.count-includes-custom", "cmdline.not-sent",
			"files.no-names", "errors.numeric-codes-only", "config-env.not-sent", "destination.processor-only", "egress.proxy-only",
			"transport.background", "transport.failure-harmless", "reports.one-per-run", "run-id.unique-timestamped"))
		Expect(server).To(ConsistOf("server.no-ip-recorded", "server.processor-bugout", "server.access",
			"server.retention-1y", "server.requests-14d"))
		var names []string
		for _, s := range p.Scenarios {
			names = append(names, s.Name)
		}
		Expect(names).To(ContainElements("unset", "opt-out", "opt-in", "opt-in-custom-goals", "empty-repo-id",
			"invalid-repo-id", "failing-run", "two-repos", "repeated-runs", "slow-endpoint", "endpoint-error"))
	})

	It("gives a scenario without runs one run that carries the scenario's sink", func() {
		p, err := policy.Load(filepath.Join(root, "policy.yaml"))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		slow, err := p.Scenario("slow-endpoint")
		Expect(err).NotTo(HaveOccurred(), "p.Scenario")
		runs := slow.RunsOf()
		Expect(runs).To(HaveLen(1))
		Expect(runs[0].Sink.Delay.D().Seconds()).To(BeNumerically("==", 10))
		errs, err := p.Scenario("endpoint-error")
		Expect(err).NotTo(HaveOccurred(), "p.Scenario")
		Expect(errs.RunsOf()[0].Sink.Status).To(Equal(500))
		Expect(errs.RunsOf()[1].Sink.Refuse).To(BeTrue())
	})

	It("names an unknown scenario together with the known ones", func() {
		p, err := policy.Load(filepath.Join(root, "fixtures/policies/acme.yaml"))
		Expect(err).NotTo(HaveOccurred(), "policy.Load")
		_, err = p.Scenario("nope")
		Expect(err).To(MatchError(ContainSubstring(`scenario "nope" not found in policy ../../fixtures/policies/acme.yaml (known: disabled, enabled)`)))
	})

	DescribeTable("locates each problem with file:line:col, field, what is allowed and an example",
		func(file string, want ...string) {
			path := filepath.Join(root, "fixtures/policies", file)
			_, err := policy.Load(path)
			Expect(err).To(HaveOccurred())
			Expect(problems(err)).To(Equal(want))
		},
		Entry("a delivery mode that does not exist", "broken/bad-delivery.yaml",
			`../../fixtures/policies/broken/bad-delivery.yaml:58:22: scenarios[0].delivery.mode: "sometimes" is not allowed; allowed: complete, best-effort; example: mode: best-effort`),
		Entry("an unknown top-level key", "broken/unknown-top-key.yaml",
			"../../fixtures/policies/broken/unknown-top-key.yaml:7:1: telemetry: unknown key; allowed: version, tool, endpoint, other_traffic, payload, fields, vocabularies, ids, canaries, state, clauses, interpretations, scenarios; example: version: 1"),
		Entry("a parameter the check kind does not read", "broken/check-param-not-read.yaml",
			"../../fixtures/policies/broken/check-param-not-read.yaml:49:42: clauses[0].checks[0].roles: check kind nothing-sent does not read roles; allowed: no parameters"),
		Entry("a missing check parameter", "broken/check-param-missing.yaml",
			"../../fixtures/policies/broken/check-param-missing.yaml:64:14: clauses[3].checks[0].roles: check kind canary-absent needs roles; allowed: roles, ignore_forms (optional); example: roles: [user, host, node]"),
		Entry("a string where an integer belongs", "broken/version-not-integer.yaml",
			"../../fixtures/policies/broken/version-not-integer.yaml:6:10: version: want an integer, got a string; example: version: 1"),
		Entry("a bad duration", "broken/bad-duration.yaml",
			`../../fixtures/policies/broken/bad-duration.yaml:86:19: scenarios[0].sink.delay: not a duration: "10 seconds"; example: delay: 10s`),
		Entry("other traffic declared on the telemetry endpoint itself", "invalid/other-traffic-endpoint.yaml",
			`../../fixtures/policies/invalid/other-traffic-endpoint.yaml:20:33: other_traffic[0].host: the telemetry endpoint's own host cannot be declared as other traffic; allowed: another host the tool contacts; example: host: registry.npmjs.org`),
		Entry("a duplicate clause id", "invalid/duplicate-clause-id.yaml",
			`../../fixtures/policies/invalid/duplicate-clause-id.yaml:55:9: clauses[2].id: duplicate clause id "fields.listed-only" (first at clauses[1]); allowed: unique ids; example: id: consent.nothing-until-opt-in`,
			`../../fixtures/policies/invalid/duplicate-clause-id.yaml:97:35: scenarios[1].clauses[1]: unknown clause "ids.hashed"; allowed: an id under clauses; example: consent.nothing-until-opt-in`),
		Entry("a host fact given as a YAML boolean", "broken/host-container-false.yaml",
			"../../fixtures/policies/broken/host-container-false.yaml:85:23: scenarios[0].host.container: want a string, got a boolean (quote it); allowed: none, docker, podman; example: container: docker"),
		Entry("unknown host facts, and env variables that contradict them", "invalid/bad-host.yaml",
			`../../fixtures/policies/invalid/bad-host.yaml:84:45: scenarios[0].env.TZ: TZ is a host fact, which the scenario's host block decides (it gives TZ=../etc/passwd); allowed: set the fact under host and drop it from env; example: host: {timezone: Europe/Berlin}`,
			`../../fixtures/policies/invalid/bad-host.yaml:84:64: scenarios[0].env.CI: CI is a host fact, which the scenario's host block decides (it sets no CI); allowed: set the fact under host and drop it from env; example: host: {ci: github-actions}`,
			`../../fixtures/policies/invalid/bad-host.yaml:85:23: scenarios[0].host.container: "lxc" is not allowed; allowed: none, docker, podman; example: container: docker`,
			`../../fixtures/policies/invalid/bad-host.yaml:85:32: scenarios[0].host.ci: "travis" is not allowed; allowed: none, generic, github-actions, gitlab-ci, circleci, jenkins, buildkite; example: ci: github-actions`,
			`../../fixtures/policies/invalid/bad-host.yaml:85:48: scenarios[0].host.locale: "en US" is not a locale name; allowed: C, POSIX or language_TERRITORY.codeset; example: locale: en_US.UTF-8`,
			`../../fixtures/policies/invalid/bad-host.yaml:85:67: scenarios[0].host.timezone: "../etc/passwd" is not a time zone name; allowed: an IANA zone such as UTC or Europe/Berlin; example: timezone: UTC`),
		Entry("random checks with a kind that does not exist, bytes without a count, a bad pattern", "invalid/bad-random.yaml",
			`../../fixtures/policies/invalid/bad-random.yaml:75:94: clauses[5].checks[2].random: "uuid5" is not allowed; allowed: uuid4, bytes; example: random: uuid4`,
			"../../fixtures/policies/invalid/bad-random.yaml:75:115: clauses[5].checks[2].random_bytes: random_bytes is read only with random: bytes; allowed: random: bytes; example: random: bytes",
			"../../fixtures/policies/invalid/bad-random.yaml:75:119: clauses[5].checks[3].random_bytes: random: bytes needs random_bytes of at least 8 (fewer repeat by chance across runs); allowed: an integer >= 8; example: random_bytes: 16",
			"../../fixtures/policies/invalid/bad-random.yaml:75:181: clauses[5].checks[3].random_pattern: not a valid regular expression: error parsing regexp: missing closing ): `^(x`; allowed: Go RE2 syntax; example: '^[0-9]+$'"),
		Entry("a field that varies per run without a check of its own, and a varies value that does not exist", "invalid/varies-unchecked.yaml",
			`../../fixtures/policies/invalid/varies-unchecked.yaml:31:115: fields[6].varies: field duration_ms varies per run but has no check of its own; allowed: a format, pattern or enum on the field, a derive from another field, or a random or run-id check naming it; example: pattern: '^[0-9]+(\.[0-9]+)?$'`,
			`../../fixtures/policies/invalid/varies-unchecked.yaml:32:78: fields[7].varies: "always" is not allowed; allowed: per-run; example: varies: per-run`),
		Entry("a regex that does not compile", "invalid/bad-regex.yaml",
			"../../fixtures/policies/invalid/bad-regex.yaml:25:68: fields[1].pattern: not a valid regular expression: error parsing regexp: missing closing ): `^(\\d+$`; allowed: Go RE2 syntax; example: '^[0-9]+$'"),
		Entry("a template naming a role the scenario does not plant", "invalid/template-role-not-planted.yaml",
			`../../fixtures/policies/invalid/template-role-not-planted.yaml:93:49: scenarios[1].files[0].content: template {{canary.script}} names a role this scenario does not plant; allowed: a role listed under the scenario's canaries; example: canaries: [script]`,
			`../../fixtures/policies/invalid/template-role-not-planted.yaml:95:20: scenarios[1].goals[1]: template {{canary.script}} names a role this scenario does not plant; allowed: a role listed under the scenario's canaries; example: canaries: [script]`),
	)

	It("rejects every broken and invalid policy in fixtures/policies", func() {
		for _, dir := range []string{"broken", "invalid"} {
			files, err := filepath.Glob(filepath.Join(root, "fixtures/policies", dir, "*.yaml"))
			Expect(err).NotTo(HaveOccurred(), "filepath.Glob")
			Expect(files).NotTo(BeEmpty())
			for _, f := range files {
				_, err := policy.Load(f)
				Expect(err).To(HaveOccurred(), "loading %s", f)
				for _, line := range problems(err) {
					Expect(line).To(HavePrefix(f+":"), "every problem names the file, line and column")
				}
			}
		}
	})

	It("reports a YAML syntax error with its line", func() {
		_, err := policy.Parse([]byte("version: 1\ntool: [\n"), "x.yaml")
		Expect(problems(err)).To(HaveExactElements(Equal("x.yaml:2:1: not valid YAML: line 2: did not find expected node content; allowed: a YAML mapping; example: version: 1")))
	})

	It("rejects a second YAML document", func() {
		b, err := os.ReadFile(filepath.Join(root, "fixtures/policies/acme.yaml"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		_, err = policy.Parse(append(b, []byte("---\nversion: 2\n")...), "two.yaml")
		Expect(err).To(MatchError(ContainSubstring("a second YAML document follows the policy")))
	})
})

var _ = Describe("Expand", func() {
	It("fills canary and repo_id templates", func() {
		v := policy.Values{Canaries: map[string]string{"custom-goal": "goal-abc", "repo-id": "R"}}
		Expect(policy.Expand(`name = "{{canary.custom-goal}}"; id={{ repo_id }}`, v)).To(Equal(`name = "goal-abc"; id=R`))
		v.RepoID = "other"
		Expect(policy.Expand(`{{repo_id}}`, v)).To(Equal("other"))
	})

	It("refuses to leave a template unfilled", func() {
		_, err := policy.Expand("x {{canary.user}}", policy.Values{})
		Expect(err).To(MatchError(`expand "x {{canary.user}}": no value for {{canary.user}}`))
		Expect(strings.Contains(err.Error(), "user")).To(BeTrue())
	})
})

var _ = Describe("a scenario's host block", func() {
	It("lists the values the harness applies, so the model, the schema and the runner agree", func() {
		f, ok := reflect.TypeFor[policy.Host]().FieldByName("Container")
		Expect(ok).To(BeTrue())
		Expect(strings.Split(f.Tag.Get("allowed"), ", ")).To(Equal(capture.Containers()))
		f, ok = reflect.TypeFor[policy.Host]().FieldByName("CI")
		Expect(ok).To(BeTrue())
		Expect(strings.Split(f.Tag.Get("allowed"), ", ")).To(Equal(capture.CIVendors()))
	})

	It("accepts env entries that repeat what the host facts give", func() {
		b, err := os.ReadFile(filepath.Join(root, "fixtures/policies/invalid/bad-host.yaml"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		_, err = policy.Parse(b, "bad-host.yaml")
		for _, line := range problems(err) {
			Expect(line).NotTo(ContainSubstring("scenarios[1]"), "TZ: UTC and LANG: C.UTF-8 under a host with the defaults")
		}
	})
})
