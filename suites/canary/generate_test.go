package canary_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

var _ = Describe("Generate", func() {
	// Each kind's shape: valid where it is planted (Unix user names and
	// DNS labels, npm package names, Python identifiers, variable names)
	// and with at least 12 characters of random content.
	shapes := map[canary.Kind]*regexp.Regexp{
		canary.KindWord:    regexp.MustCompile(`^([bdfgklmnprstvz][aeiou]){6}[0-9]{2}$`),
		canary.KindUser:    regexp.MustCompile(`^([bdfgklmnprstvz][aeiou]){6}[0-9]{2}$`),
		canary.KindHost:    regexp.MustCompile(`^([bdfgklmnprstvz][aeiou]){3}-([bdfgklmnprstvz][aeiou]){3}-[0-9]{2}$`),
		canary.KindName:    regexp.MustCompile(`^([bdfgklmnprstvz][aeiou]){3}-([bdfgklmnprstvz][aeiou]){3}$`),
		canary.KindSnake:   regexp.MustCompile(`^([bdfgklmnprstvz][aeiou]){3}_([bdfgklmnprstvz][aeiou]){3}$`),
		canary.KindEnvName: regexp.MustCompile(`^([BDFGKLMNPRSTVZ][AEIOU]){3}_([BDFGKLMNPRSTVZ][AEIOU]){3}$`),
		canary.KindToken:   regexp.MustCompile(`^[A-Za-z0-9]{32}$`),
		canary.KindProper:  regexp.MustCompile(`^[BDFGKLMNPRSTVZ][aeiou]([bdfgklmnprstvz][aeiou]){5}$`),
	}

	It("makes unique values of each kind's shape, none with a marker a tool could look for", func() {
		for kind, shape := range shapes {
			seen := map[string]bool{}
			for range 2000 {
				c := canary.GenerateKind("r", kind)
				Expect(c.Role).To(Equal("r"))
				Expect(c.Value).To(MatchRegexp(shape.String()), string(kind))
				Expect(len(c.Value)).To(BeNumerically(">=", 12))
				Expect(seen).NotTo(HaveKey(c.Value))
				seen[c.Value] = true
			}
			// No fixed prefix: the first four characters vary.
			prefixes := map[string]bool{}
			for v := range seen {
				prefixes[strings.ToLower(v[:4])] = true
			}
			Expect(len(prefixes)).To(BeNumerically(">", 100), string(kind))
		}
	})

	DescribeTable("picks the kind from the role's name",
		func(role string, want canary.Kind) {
			Expect(canary.KindOf(role)).To(Equal(want))
			Expect(canary.Generate(role).Value).To(MatchRegexp(shapes[want].String()))
		},
		Entry(nil, "user", canary.KindUser),
		Entry(nil, "git-author", canary.KindUser),
		Entry(nil, "home", canary.KindUser),
		Entry(nil, "host", canary.KindHost),
		Entry(nil, "env-value", canary.KindToken),
		Entry(nil, "git-token", canary.KindToken),
		Entry(nil, "turbo-env", canary.KindToken),
		Entry(nil, "error-message", canary.KindProper),
		Entry(nil, "commit-message", canary.KindProper),
		Entry(nil, "failing-target", canary.KindSnake),
		Entry(nil, "config-key", canary.KindEnvName),
		Entry(nil, "custom-goal", canary.KindName),
		Entry(nil, "custom-task", canary.KindName),
		Entry(nil, "package-name", canary.KindName),
		Entry(nil, "dep-name", canary.KindName),
		Entry(nil, "git-org", canary.KindName),
		Entry(nil, "repo-path", canary.KindName),
		Entry(nil, "config-value", canary.KindName),
		Entry(nil, "cmdline-arg", canary.KindWord),
		Entry(nil, "", canary.KindWord),
	)

	// The false-hit rate of the new shapes: thousands of fresh values of
	// every kind, searched in every capture the repository holds (hand-made
	// captures, the proxy's and the reports' test data), must find nothing.
	It("finds no generated value in any capture of the repository", func() {
		var files []string
		root := filepath.Join("..", "..")
		for _, dir := range []string{"fixtures", "proxy", "reports", "suites", "cmd"} {
			Expect(filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && (strings.HasSuffix(p, ".jsonl") || strings.HasSuffix(p, ".har")) {
					files = append(files, p)
				}
				return nil
			})).To(Succeed())
		}
		Expect(len(files)).To(BeNumerically(">", 20))
		var cs []canary.Canary
		for range 300 {
			for kind := range shapes {
				cs = append(cs, canary.GenerateKind(string(kind), kind))
			}
		}
		// Searchers of 50 values, as many as a run plants: the salted-hash
		// index pairs every value with every other.
		var searchers []*canary.Searcher
		for i := 0; i < len(cs); i += 50 {
			s, err := canary.NewSearcher(cs[i:min(i+50, len(cs))])
			Expect(err).NotTo(HaveOccurred(), "canary.NewSearcher")
			searchers = append(searchers, s)
		}
		exchanges := 0
		for _, f := range files {
			raw, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
			// Some test data is broken on purpose: what reads is searched.
			_ = capture.ScanFile(f, func(ex *capture.Exchange) error {
				exchanges++
				o, err := observe.Observe(ex, pantsOpts)
				if err != nil {
					return nil
				}
				for _, s := range searchers {
					Expect(s.Search(o)).To(BeEmpty(), f)
				}
				return nil
			})
			for _, s := range searchers {
				Expect(s.SearchBytes(raw, 0, f)).To(BeEmpty(), f)
			}
		}
		Expect(exchanges).To(BeNumerically(">", 20))
		GinkgoWriter.Printf("%d values, %d files, %d exchanges: 0 hits\n", len(cs), len(files), exchanges)
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
		Expect(err).NotTo(HaveOccurred(), "os.Stat")
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
		Entry("unknown field", `[{"role":"user","value":"kaveromilasu42","x":1}]`, "unknown field"),
		Entry("missing value", `[{"role":"user"}]`, "role and value must both be set"),
		Entry("not a list", `{"role":"user"}`, "want [{"),
	)
})
