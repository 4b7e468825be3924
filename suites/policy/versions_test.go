package policy_test

import (
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/Masterminds/semver/v3"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

var _ = Describe("tool.versions", func() {
	It("records, in every bundled policy, the releases its promise text was checked against", func() {
		for file, inside := range map[string]string{"../../policy.yaml": "2.16.1", "../../policies/nextjs.yaml": "16.4.6",
			"../../policies/turborepo.yaml": "2.11.11", "../../policies/astro.yaml": "5.18.2",
			"../../policies/storybook.yaml": "10.6.0"} {
			p, err := policy.Load(file)
			Expect(err).NotTo(HaveOccurred(), "policy.Load")
			c, err := p.Tool.VersionRange()
			Expect(err).NotTo(HaveOccurred(), "p.Tool.VersionRange")
			Expect(c).NotTo(BeNil(), file)
			Expect(c.Check(semver.MustParse(inside))).To(BeTrue(), "%s covers its pinned release %s", file, inside)
		}
	})

	It("rejects a range that does not parse, naming the field and its line", func() {
		b, err := os.ReadFile("../../policy.yaml")
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		bad := strings.Replace(string(b), "versions: '>=2.13 <2.17'", "versions: 'two point sixteen'", 1)
		Expect(bad).NotTo(Equal(string(b)))
		_, err = policy.Parse([]byte(bad), "policy.yaml")
		Expect(err).To(MatchError(MatchRegexp(`policy.yaml:\d+:\d+: tool.versions: tool.versions "two point sixteen": .*allowed: a semver range`)))
	})
})
