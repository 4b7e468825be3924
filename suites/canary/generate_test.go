package canary_test

import (
	"os"
	"path/filepath"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
)

var _ = Describe("Generate", func() {
	// Unix user names (useradd's default NAME_REGEX), host name labels and
	// Pants goal names all accept this.
	valid := regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`)

	It("makes unique values that are valid user, host, folder and goal names", func() {
		seen := map[string]bool{}
		for range 1000 {
			c := canary.Generate("custom-goal")
			Expect(c.Role).To(Equal("custom-goal"))
			Expect(c.Value).To(MatchRegexp(`^cnrycust[a-z0-9]{10}$`))
			Expect(valid.MatchString(c.Value)).To(BeTrue(), c.Value)
			Expect(seen).NotTo(HaveKey(c.Value))
			seen[c.Value] = true
		}
	})

	It("keeps only letters and digits of the role", func() {
		Expect(canary.Generate("repo-id").Value).To(MatchRegexp(`^cnryrepo[a-z0-9]{10}$`))
		Expect(canary.Generate("X").Value).To(MatchRegexp(`^cnryx[a-z0-9]{10}$`))
		Expect(canary.Generate("").Value).To(MatchRegexp(`^cnry[a-z0-9]{10}$`))
	})
})

var _ = Describe("canaries.json", func() {
	var dir string
	BeforeEach(func() { dir = GinkgoT().TempDir() })

	It("round-trips, readable by the owner only", func() {
		in := []canary.Canary{canary.Generate("user"), canary.Generate("host")}
		path := filepath.Join(dir, "canaries.json")
		Expect(canary.WriteFile(path, in)).To(Succeed())
		fi, err := os.Stat(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o600)))
		Expect(canary.ReadFile(path)).To(Equal(in))
		data, _ := os.ReadFile(path)
		Expect(string(data)).To(ContainSubstring(`"role": "user"`))
	})

	DescribeTable("rejects malformed files with the file name",
		func(content, want string) {
			path := filepath.Join(dir, "canaries.json")
			Expect(os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
			_, err := canary.ReadFile(path)
			Expect(err).To(MatchError(And(ContainSubstring(path), ContainSubstring(want))))
		},
		Entry("unknown field", `[{"role":"user","value":"cnryuser0123456789","x":1}]`, "unknown field"),
		Entry("missing value", `[{"role":"user"}]`, "role and value must both be set"),
		Entry("not a list", `{"role":"user"}`, "want [{"),
	)
})
