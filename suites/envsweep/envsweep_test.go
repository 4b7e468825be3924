package envsweep_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/envsweep"
)

var _ = Describe("Discover", func() {
	write := func(dir, name, content string) string {
		GinkgoHelper()
		p := filepath.Join(dir, name)
		Expect(os.MkdirAll(filepath.Dir(p), 0o755)).To(Succeed())
		Expect(os.WriteFile(p, []byte(content), 0o755)).To(Succeed())
		return p
	}

	It("reads process.env in an npm package's JavaScript, from the .bin link to the whole project", func() {
		proj := GinkgoT().TempDir()
		write(proj, "node_modules/acme/lib/a.js", `const t = process.env.ACME_TEAM; const k = process.env["ACME_SIGNING_KEY"]; x = process.env[name]`)
		write(proj, "node_modules/acme/lib/b.mjs", `if (process.env.ACME_REGION) {}`)
		bin := write(proj, "node_modules/acme/bin/acme.js", "#!/usr/bin/env node\nrequire('../lib/a.js')\n")
		Expect(os.MkdirAll(filepath.Join(proj, "node_modules/.bin"), 0o755)).To(Succeed())
		Expect(os.Symlink(bin, filepath.Join(proj, "node_modules/.bin/acme"))).To(Succeed())

		n, err := envsweep.Discover([]string{filepath.Join(proj, "node_modules/.bin/acme")}, nil)
		Expect(err).NotTo(HaveOccurred(), "envsweep.Discover")
		Expect(n.Roots).To(ConsistOf(proj))
		Expect(n.Names).To(ContainElements("ACME_TEAM", "ACME_SIGNING_KEY", "ACME_REGION"))
		Expect(n.From["ACME_TEAM"]).To(Equal(envsweep.SourceJS))
		Expect(n.Summary()).To(MatchRegexp(`^\d+ variable names found \(3 from javascript, \d+ from family; 3 files of the tool's code read\)$`))
	})

	It("reads os.environ and getenv in Python, and not the interpreter's own folder", func() {
		dir := GinkgoT().TempDir()
		script := write(dir, "tool.py", `import os
a = os.environ["ACME_USER_NAME"]
b = os.environ.get('ACME_PROFILE')
c = os.getenv("ACME_SITE")
d = os.environ["HOME"]
`)
		n, err := envsweep.Discover([]string{"python3", script}, nil)
		Expect(err).NotTo(HaveOccurred(), "envsweep.Discover")
		Expect(n.Roots).To(ConsistOf(script))
		Expect(n.Names).To(ContainElements("ACME_USER_NAME", "ACME_PROFILE", "ACME_SITE"))
		Expect(n.Names).NotTo(ContainElement("HOME"), "the harness sets HOME")
		Expect(n.Excluded).To(ContainElement("HOME"))
	})

	It("splits a native binary's packed literals at the tool's own prefix", func() {
		dir := GinkgoT().TempDir()
		bin := write(dir, "acme", "\x7fELF\x02\x01\x01\x00junk\x00ACME_TEAMACME_SIGNATURE_KEY\x00ACME_REGION\x01ARROW_DOWN\x00GITHUB_SHA\x00notaname\x00ACME_A")
		n, err := envsweep.Discover([]string{bin}, nil)
		Expect(err).NotTo(HaveOccurred(), "envsweep.Discover")
		Expect(n.Names).To(ContainElements("ACME_TEAM", "ACME_SIGNATURE_KEY", "ACME_REGION", "GITHUB_SHA"))
		Expect(n.Names).NotTo(ContainElement("ARROW_DOWN"), "a binary's upper-case run without the tool's or a family's prefix is not taken for a variable")
		Expect(n.From["ACME_TEAM"]).To(Equal(envsweep.SourceBinary))
	})

	It("adds the families and the run's own environment", func() {
		n, err := envsweep.Discover([]string{"true"}, []string{"ACME_FROM_RUN=1"})
		Expect(err).NotTo(HaveOccurred(), "envsweep.Discover")
		Expect(n.Names).To(ContainElements("CI", "GITHUB_REPOSITORY", "CLAUDECODE", "ACME_FROM_RUN"))
		Expect(n.From["ACME_FROM_RUN"]).To(Equal(envsweep.SourceRunEnv))
	})
})

var _ = DescribeTable("Unsafe never plants what would break any process or the harness's contract",
	func(name string, unsafe bool) {
		Expect(envsweep.Unsafe(name)).To(Equal(unsafe))
	},
	Entry(nil, "PATH", true),
	Entry(nil, "HTTPS_PROXY", true),
	Entry(nil, "LD_PRELOAD", true),
	Entry(nil, "NODE_OPTIONS", true),
	Entry(nil, "LC_ALL", true),
	Entry(nil, "TURBO_TELEMETRY_DISABLED", true),
	Entry(nil, "TURBO_TOKEN", true),
	Entry(nil, "TURBO_CACHE_DIR", true),
	Entry(nil, "GITHUB_TOKEN", false),
	Entry(nil, "REPOSITORY_URL", false),
	Entry(nil, "TURBO_TEAM", false),
	Entry(nil, "AI_AGENT", false),
)
