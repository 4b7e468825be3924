package draft

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// stat builds what a path's values look like after the walk.
func stat(path string, kind string, vals ...string) *pathStat {
	s := &pathStat{path: path, kinds: map[string]int{}, listOf: map[string]int{}, leaky: map[string]bool{}, requests: len(vals)}
	for _, v := range vals {
		s.kinds[kind]++
		if kind == "number" {
			s.nums = append(s.nums, v)
		} else {
			s.strs = append(s.strs, v)
		}
	}
	return s
}

var _ = Describe("type and format from the values seen", func() {
	sha := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	DescribeTable("a string path",
		func(s *pathStat, want policy.Field, checked bool) {
			got, _, ok := scalarField(s)
			Expect(got).To(Equal(want))
			Expect(ok).To(Equal(checked), "listed in the field-format check")
		},
		Entry("sha256 hex", stat("$.a", "string", sha, sha), policy.Field{Doc: "TODO", Type: "string", Format: policy.FormatSHA256Hex}, true),
		Entry("sha256 hex or empty", stat("$.a", "string", sha, ""), policy.Field{Doc: "TODO", Type: "string", Format: policy.FormatSHA256Hex, AllowEmpty: true}, true),
		Entry("uuid", stat("$.a", "string", "123e4567-e89b-42d3-a456-426614174000", "0f8fad5b-d9cb-469f-a165-70867728950e"), policy.Field{Doc: "TODO", Type: "string", Pattern: UUIDPattern}, true),
		Entry("upper-case uuid", stat("$.a", "string", "123E4567-E89B-42D3-A456-426614174000"), policy.Field{Doc: "TODO", Type: "string", Pattern: UUIDAnyCase}, true),
		Entry("a version", stat("$.a", "string", "2.16.1", "2.16.1rc0"), policy.Field{Doc: "TODO", Type: "string", Pattern: VersionPattern}, true),
		Entry("unix seconds as a number", stat("$.a", "number", "1764748161", "1764748162.5"), policy.Field{Doc: "TODO", Type: "number", Format: policy.FormatUnixTime}, true),
		Entry("unix seconds as a decimal string", stat("$.a", "string", "1764748161.58"), policy.Field{Doc: "TODO", Type: "number", Format: policy.FormatUnixTime}, true),
		Entry("an integer string", stat("$.a", "string", "2", "3"), policy.Field{Doc: "TODO", Type: "integer"}, true),
		Entry("an enum of repeated short values", stat("$.a", "string", "SUCCESS", "SUCCESS", "FAILURE"), policy.Field{Doc: "TODO", Type: "string", Enum: []string{"FAILURE", "SUCCESS"}}, true),
		Entry("values that never repeat stay free text", stat("$.a", "string", "alpha", "beta"), policy.Field{Doc: "TODO", Type: "string"}, false),
		Entry("long values stay free text", stat("$.a", "string", "Linux-6.1.0-x86_64-with-glibc2.36", "Linux-6.1.0-x86_64-with-glibc2.36"), policy.Field{Doc: "TODO", Type: "string"}, false),
		Entry("a boolean", stat("$.a", "bool", "true", "false"), policy.Field{Doc: "TODO", Type: "boolean"}, true),
	)

	It("never makes a planted value an allowed enum value", func() {
		s := stat("$.user", "string", "cnryuserabc", "cnryuserabc")
		s.leaky["cnryuserabc"] = true
		f, _, _ := scalarField(s)
		Expect(f.Enum).To(BeEmpty())
	})

	It("drafts a value that is sometimes null as its other kind, unchecked", func() {
		s := stat("$.parent", "string", "123e4567-e89b-42d3-a456-426614174000")
		s.kinds["null"] = 3
		f, ev, checked := scalarField(s)
		Expect(f.Type).To(Equal("string"))
		Expect(ev).To(ContainSubstring("sometimes null"))
		Expect(checked).To(BeFalse(), "a null would fail the type check")
	})
})

var _ = Describe("tag lists", func() {
	It("derives each key from the field it repeats, a constant otherwise, and refuses a key it cannot explain", func() {
		inf := &inferrer{stats: map[string]*pathStat{}}
		inf.stat("$.content.run_id").kinds["string"] = 2
		inf.stat("$.content.python_version").kinds["string"] = 2
		inf.stat("$.content.goals").kinds["list"] = 2
		tags := inf.stat("$.tags")
		for _, run := range []string{"a", "b"} {
			st := exState{scalars: map[string][]string{"$.content.run_id": {"run_" + run}, "$.content.python_version": {"3.11.7"}},
				lists: map[string][]string{"$.content.goals": {"test", "lint"},
					"$.tags": {"source:pants", "session:run_" + run, "python:3", "python:3.11", "goal:test", "goal:lint"}}}
			inf.exs = append(inf.exs, st)
			tags.strs = append(tags.strs, st.lists["$.tags"]...)
		}
		got, ok := inf.tagList(tags)
		Expect(ok).To(BeTrue())
		rules := map[string]string{}
		for _, t := range got {
			if t.Derive != nil {
				rules[t.Key] = t.Derive.Rule + " " + t.Derive.From
			} else {
				rules[t.Key] = "const " + t.Const
			}
		}
		Expect(rules).To(Equal(map[string]string{
			"source":  "const pants",
			"session": "equals \x00$.content.run_id",
			"python":  "version-prefix \x00$.content.python_version",
			"goal":    "element \x00$.content.goals",
		}))

		inf.exs[0].lists["$.tags"] = append(inf.exs[0].lists["$.tags"], "secret:x1")
		inf.exs[1].lists["$.tags"] = append(inf.exs[1].lists["$.tags"], "secret:x2")
		tags.strs = append(tags.strs, "secret:x1", "secret:x2")
		_, ok = inf.tagList(tags)
		Expect(ok).To(BeFalse(), "a key whose values change and repeat nothing is no tag list the draft can declare")
	})
})

var _ = Describe("names and places", func() {
	It("names fields by their last key, made unique with the parent's", func() {
		taken := map[string]bool{}
		Expect(fieldName("$[*].generic.id", taken)).To(Equal("id"))
		Expect(fieldName("$[*].command.id", taken)).To(Equal("command_id"))
		Expect(fieldName("$[*].x.command.id", taken)).To(Equal("x_command_id"))
	})

	It("puts a leak on its field, or the nearest enclosing one, and never on a non-body location", func() {
		fs := []fieldInfo{{field: policy.Field{Path: "$.content"}}, {field: policy.Field{Path: "$.tags"}}}
		Expect(fieldFor(leakPath("$.tags[3]"), fs)).To(Equal("$.tags"))
		Expect(fieldFor(leakPath("$.content.x.y"), fs)).To(Equal("$.content"))
		Expect(fieldFor(leakPath("header:User-Agent"), fs)).To(BeEmpty())
		Expect(leakPath("body@12")).To(Equal("body"))
	})
})

var _ = Describe("maps keyed by names", func() {
	// Storybook's metadata.storybookPackages is keyed by package names,
	// which no field path can name: the draft once closed the map and
	// listed a member path the loader refused.
	observeJSON := func(body string) *observe.Observation {
		GinkgoHelper()
		o, err := observe.Observe(&capture.Exchange{Kind: capture.KindHTTP, Method: "POST", URL: "https://t.example/e",
			Headers: []capture.Header{{Name: "Content-Type", Value: "application/json"}},
			Body:    capture.Body{Raw: []byte(body), Size: int64(len(body))}}, observe.Options{})
		Expect(err).NotTo(HaveOccurred(), "observe.Observe")
		return o
	}

	It("drafts the map open, as one object field, and none of its members", func() {
		inf := &inferrer{stats: map[string]*pathStat{}, headers: map[string]*pathStat{}}
		// The first report's map has a nameable key only, the second a
		// scoped package name: the map stays open either way.
		inf.observation(observeJSON(`{"meta":{"pkgs":{"storybook":{"version":"10.6.0"}},"lang":"js"}}`), nil)
		inf.observation(observeJSON(`{"meta":{"pkgs":{"@storybook/html-vite":{"version":"10.6.0"},"storybook":{"version":"10.6.0"}},"lang":"js"}}`), nil)
		var paths []string
		var evidence string
		for _, f := range inf.fields() {
			paths = append(paths, f.field.Path)
			if f.field.Path == "$.meta.pkgs" {
				evidence = f.evidence
			}
		}
		Expect(paths).To(ConsistOf("$.meta", "$.meta.pkgs", "$.meta.lang"))
		Expect(evidence).To(ContainSubstring(`keyed by names (e.g. "@storybook/html-vite")`))

		Expect(inf.closedPaths()).To(ConsistOf("$", "$.meta"), "the map and its members are not closed")
	})
})

var _ = Describe("values per run", func() {
	It("drafts a value repeated within each run but new in every run as a per-run id, not an enum", func() {
		s := stat("$.sessionId", "string", "aaa111", "aaa111", "bbb222", "bbb222")
		s.seenIn("aaa111", 0)
		s.seenIn("bbb222", 1)
		f, ev, checked := scalarField(s)
		Expect(f.Enum).To(BeEmpty(), "a session id is no set of values")
		Expect(ev).To(ContainSubstring("one value per run"))
		Expect(checked).To(BeFalse())

		s.seenIn("aaa111", 1)
		f, _, _ = scalarField(s)
		Expect(f.Enum).To(ConsistOf("aaa111", "bbb222"), "a value seen in two runs is a value the tool sends again")
	})
})

var _ = Describe("a tool that ignores HTTPS_PROXY", func() {
	draft := func(bypassed int) (*policy.Policy, []string) {
		inf := &inferrer{in: Input{ToolName: "t", Repo: ".", Goals: []string{"build"}, OptOut: &Setup{Env: map[string]string{"T_OFF": "1"}}},
			stats: map[string]*pathStat{}, headers: map[string]*pathStat{}}
		p := inf.policy(Destination{Scheme: "https", Host: "t.example", Path: "/e", Method: "POST"}, nil,
			&Result{Sealed: true, Bypassed: bypassed}, map[int]bool{1: true}, map[string]bool{"success": true})
		return p, inf.notes
	}
	scenarioClauses := func(p *policy.Policy, name string) []string {
		for _, sc := range p.Scenarios {
			if sc.Name == name {
				return sc.Clauses
			}
		}
		return nil
	}

	It("keeps egress on the sending scenario when every request used the proxy", func() {
		p, _ := draft(0)
		Expect(scenarioClauses(p, "default")).To(ContainElement(ClauseEgress))
		Expect(scenarioClauses(p, "opt-out")).To(ContainElement(ClauseEgress))
	})

	It("drafts an egress clause that allows direct requests, saying why, when requests bypassed the proxy", func() {
		p, notes := draft(2)
		var egress *policy.Clause
		for i, c := range p.Clauses {
			Expect(c.ID).NotTo(Equal(ClauseEgress), "a proxy-only clause would fail every run")
			if c.ID == ClauseEgressDirect {
				egress = &p.Clauses[i]
			}
		}
		Expect(egress).NotTo(BeNil())
		Expect(egress.Checks).To(ConsistOf(policy.Check{Kind: policy.KindEgress, AllowDirect: true}))
		Expect(scenarioClauses(p, "default")).To(ContainElement(ClauseEgressDirect))
		Expect(notes).To(ContainElement(ContainSubstring("2 request(s) ignored HTTPS_PROXY")))
	})
})
