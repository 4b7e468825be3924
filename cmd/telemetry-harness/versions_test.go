package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/versions"
)

// The fixture releases of the reference (fixtures/versions/install.sh):
// 1.0.0, 1.1.0, 1.3.0 compliant; 1.2.0 cannot install; 1.2.1 cannot run;
// 1.4.0 adds an undocumented field; 1.5.0 and 1.6.0 also send the command
// line. Nothing reaches the network.
const fixtureInstall = "fixtures/versions/install.sh {dir} {version}"

func fixtureFlags(cache, out string) []string {
	return []string{"--policy", "policy.yaml", "--install", fixtureInstall, "--tool", "{dir}/pants", "--cache", cache, "--out", out}
}

func readJSON(path string, v any) {
	GinkgoHelper()
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
	Expect(json.Unmarshal(b, v)).To(Succeed())
}

// installs counts how often install.sh ran for version v.
func installs(cache, v string) int {
	b, err := os.ReadFile(filepath.Join(cache, v, "installs"))
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

var _ = Describe("matrix", Ordered, Label("integration"), func() {
	var tmp, cache, out string
	var m versions.Matrix

	BeforeAll(func() {
		tmp = GinkgoT().TempDir()
		cache, out = filepath.Join(tmp, "cache"), filepath.Join(tmp, "matrix")
		s := harness(append([]string{"matrix", "--versions", "1.0.0,1.2.0,1.2.1,1.3.0,1.4.0,1.5.0", "--scenario", "opt-in"}, fixtureFlags(cache, out)...)...)
		Expect(s.ExitCode()).To(Equal(exitViolations), "1.4.0 and 1.5.0 break promises")
		readJSON(filepath.Join(out, "matrix.json"), &m)
	})

	It("gives each version that ran its verdicts, and each one that could not a reason instead", func() {
		Expect(m.Versions).To(HaveLen(6))
		cells := map[string]map[string]string{}
		for _, r := range m.Versions {
			cells[r.Version] = map[string]string{}
			for _, c := range []string{"fields.documented-only", "cmdline.not-sent"} {
				cells[r.Version][c] = versions.Cell(r, c)
			}
		}
		Expect(cells).To(Equal(map[string]map[string]string{
			"1.0.0": {"fields.documented-only": "passed", "cmdline.not-sent": "passed"},
			"1.2.0": {"fields.documented-only": "skipped", "cmdline.not-sent": "skipped"},
			"1.2.1": {"fields.documented-only": "skipped", "cmdline.not-sent": "skipped"},
			"1.3.0": {"fields.documented-only": "passed", "cmdline.not-sent": "passed"},
			"1.4.0": {"fields.documented-only": "violated", "cmdline.not-sent": "passed"},
			"1.5.0": {"fields.documented-only": "violated", "cmdline.not-sent": "violated"},
		}))
		Expect(m.Versions[1].Skipped).To(ContainSubstring("install failed (exit status 1): pants 1.2.0: needs the Rust toolchain"))
		Expect(m.Versions[1].Verdict).To(BeEmpty(), "never a verdict")
		Expect(m.Versions[0].Note).To(ContainSubstring(`outside the policy's tool.versions ">=2.13 <2.17"`), "the fixture releases are not Pants 2.13-2.16")
		Expect(m.Versions[2].Skipped).To(ContainSubstring("the tool exited 127 in scenario opt-in (expected success): pants: error while loading shared libraries"))
		Expect(m.Versions[2].Verdict).To(BeEmpty(), "a tool that cannot start is not a violation")
		for _, v := range []string{"1.0.0", "1.3.0", "1.4.0", "1.5.0"} {
			Expect(filepath.Join(out, v, "report.json")).To(BeARegularFile(), "one report folder per version")
		}
		for _, f := range []string{"matrix.txt", "matrix.md", "matrix.html"} {
			b, err := os.ReadFile(filepath.Join(out, f))
			Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
			Expect(string(b)).To(ContainSubstring("cmdline.not-sent"), f)
			Expect(string(b)).To(ContainSubstring("1.2.1"), f)
		}
	})

	It("diffs each pair of neighbouring versions that ran, without a planted value", func() {
		pairs := map[string][]string{}
		for _, d := range m.Diffs {
			var added []string
			for _, s := range d.Diff.Scenarios {
				added = append(added, s.FieldsAdded...)
			}
			pairs[d.A+".."+d.B] = added
		}
		Expect(pairs).To(Equal(map[string][]string{
			"1.0.0..1.3.0": nil,
			"1.3.0..1.4.0": {"$.content.active_standard_backends", "$.content.active_standard_backends[*]"},
			"1.4.0..1.5.0": {"$.content.cmdline"},
		}))
		md, err := os.ReadFile(filepath.Join(out, "matrix.md"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		cs, err := canary.ReadFile(filepath.Join(out, "1.5.0", "opt-in", "canaries.json"))
		Expect(err).NotTo(HaveOccurred(), "canary.ReadFile")
		for _, c := range cs {
			Expect(string(md)).NotTo(ContainSubstring(c.Value), "planted %s", c.Role)
		}
	})

	It("installs nothing on a rerun, and resolves --range through the registry's list", func() {
		npm := filepath.Join(tmp, "npm")
		Expect(os.WriteFile(npm, []byte("#!/bin/sh\n[ \"$*\" = 'view pants versions --json' ] || exit 9\necho '[\"1.0.0\",\"1.3.0\",\"1.4.0\",\"1.5.0\",\"1.5.1-rc.1\"]'\n"), 0o755)).To(Succeed())
		again := filepath.Join(tmp, "again")
		s := harness(append([]string{"matrix", "--npm", npm, "--package", "pants", "--range", ">=1.3 <1.6", "--scenario", "opt-in"}, fixtureFlags(cache, again)...)...)
		Expect(s.ExitCode()).To(Equal(exitViolations))
		var m2 versions.Matrix
		readJSON(filepath.Join(again, "matrix.json"), &m2)
		var got []string
		for _, r := range m2.Versions {
			got = append(got, r.Version)
			Expect(r.Installed).To(BeFalse(), r.Version)
		}
		Expect(got).To(Equal([]string{"1.3.0", "1.4.0", "1.5.0"}), "the prerelease is out of range")
		for _, v := range got {
			Expect(installs(cache, v)).To(Equal(1), "%s installed once over two matrices", v)
		}
		Expect(string(s.Err.Contents())).To(ContainSubstring("1.3.0: installed already"))
	})

	It("diff: compares two versions' report folders from the command line", func() {
		s := harness("diff", "--format", "md", filepath.Join(out, "1.4.0"), filepath.Join(out, "1.5.0"))
		Expect(s.ExitCode()).To(Equal(exitOK))
		Expect(string(s.Out.Contents())).To(ContainSubstring("## Scenario `opt-in`"))
		Expect(string(s.Out.Contents())).To(ContainSubstring("- + field `$.content.cmdline`"))
		s = harness("diff", filepath.Join(out, "1.4.0"))
		Expect(s.ExitCode()).To(Equal(exitUsage))
	})
})

var _ = Describe("bisect", Label("integration"), func() {
	It("finds exactly the release that starts sending the command line, running only the clause's scenarios", func() {
		tmp := GinkgoT().TempDir()
		out := filepath.Join(tmp, "bisect")
		s := harness(append([]string{"bisect", "--good", "1.0.0", "--bad", "1.6.0", "--clause", "cmdline.not-sent",
			"--versions", "1.0.0,1.1.0,1.2.0,1.2.1,1.3.0,1.4.0,1.5.0,1.6.0"}, fixtureFlags(filepath.Join(tmp, "cache"), out)...)...)
		Expect(s.ExitCode()).To(Equal(exitOK))
		stdout := string(s.Out.Contents())
		Expect(stdout).To(ContainSubstring("first bad version: 1.5.0 (last good: 1.4.0)"))
		Expect(stdout).To(MatchRegexp(`\[opt-in\] cmdline.not-sent \[exchange #1\] \$.content.cmdline: the cmdline-arg canary is sent`))
		Expect(stdout).To(ContainSubstring("+ field $.content.cmdline"))

		var b versions.Bisection
		readJSON(filepath.Join(out, "bisect.json"), &b)
		Expect(b.FirstBad.Version).To(Equal("1.5.0"))
		Expect(b.Untested).To(BeEmpty())
		Expect(len(b.Steps)).To(BeNumerically("<", 8), "not every version")
		entries, err := os.ReadDir(filepath.Join(out, "1.5.0"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadDir")
		var dirs []string
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, e.Name())
			}
		}
		Expect(dirs).To(ConsistOf("opt-in", "opt-in-custom-goals", "empty-repo-id", "failing-run"), "the scenarios that list cmdline.not-sent")
	})

	It("with no clause finds the first release that breaks any promise", func() {
		tmp := GinkgoT().TempDir()
		s := harness(append([]string{"bisect", "--good", "1.0.0", "--bad", "1.6.0", "--scenario", "opt-in",
			"--versions", "1.0.0,1.1.0,1.2.0,1.2.1,1.3.0,1.4.0,1.5.0,1.6.0"}, fixtureFlags(filepath.Join(tmp, "cache"), filepath.Join(tmp, "b"))...)...)
		Expect(s.ExitCode()).To(Equal(exitOK))
		Expect(string(s.Out.Contents())).To(ContainSubstring("first bad version: 1.4.0 (last good: 1.3.0)"))
		Expect(string(s.Out.Contents())).To(ContainSubstring("fields.documented-only"))
	})

	It("refuses ends outside the versions, and a clause no scenario exercises", func() {
		tmp := GinkgoT().TempDir()
		flags := fixtureFlags(filepath.Join(tmp, "cache"), filepath.Join(tmp, "b"))
		s := harness(append([]string{"bisect", "--good", "0.9.0", "--bad", "1.6.0", "--versions", "1.0.0,1.6.0"}, flags...)...)
		Expect(s.ExitCode()).To(Equal(exitUsage))
		Expect(string(s.Err.Contents())).To(ContainSubstring("--good 0.9.0 is not among the versions"))
		s = harness(append([]string{"bisect", "--good", "1.0.0", "--bad", "1.6.0", "--clause", "server.access", "--versions", "1.0.0,1.6.0"}, flags...)...)
		Expect(s.ExitCode()).To(Equal(exitUsage))
		Expect(string(s.Err.Contents())).To(ContainSubstring("no scenario of policy.yaml exercises it"))
		s = harness(append([]string{"matrix"}, flags...)...)
		Expect(s.ExitCode()).To(Equal(exitUsage))
		Expect(string(s.Err.Contents())).To(ContainSubstring("give --versions"))
	})
})
