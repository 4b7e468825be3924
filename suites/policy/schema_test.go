package policy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// yamlAsJSON converts a policy file the way an editor's YAML language server
// does before it applies the schema.
func yamlAsJSON(path string) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(j))
}

var _ = Describe("policy.schema.json", func() {
	var schema *jsonschema.Schema

	BeforeEach(func() {
		doc, err := jsonschema.UnmarshalJSON(mustOpen(filepath.Join(root, "policy.schema.json")))
		Expect(err).NotTo(HaveOccurred(), "jsonschema.UnmarshalJSON")
		c := jsonschema.NewCompiler()
		Expect(c.AddResource(policy.SchemaID, doc)).To(Succeed())
		schema, err = c.Compile(policy.SchemaID)
		Expect(err).NotTo(HaveOccurred(), "compiling policy.schema.json")
	})

	It("is the schema generated from the policy model (regenerate with POLICY_SCHEMA_UPDATE=1)", func() {
		want, err := policy.JSONSchema()
		Expect(err).NotTo(HaveOccurred(), "policy.JSONSchema")
		path := filepath.Join(root, "policy.schema.json")
		if os.Getenv("POLICY_SCHEMA_UPDATE") != "" {
			Expect(os.WriteFile(path, want, 0o644)).To(Succeed())
		}
		got, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(got)).To(Equal(string(want)), "policy.schema.json is stale")
	})

	It("accepts the policies the loader accepts", func() {
		for _, f := range []string{"policy.yaml", "fixtures/policies/acme.yaml"} {
			path := filepath.Join(root, f)
			_, err := policy.Load(path)
			Expect(err).NotTo(HaveOccurred(), "loader on %s", f)
			v, err := yamlAsJSON(path)
			Expect(err).NotTo(HaveOccurred(), "yamlAsJSON")
			Expect(schema.Validate(v)).To(Succeed(), "schema on %s", f)
		}
	})

	It("rejects every broken policy, as the loader does", func() {
		files, err := filepath.Glob(filepath.Join(root, "fixtures/policies/broken/*.yaml"))
		Expect(err).NotTo(HaveOccurred(), "filepath.Glob")
		Expect(len(files)).To(BeNumerically(">=", 10))
		for _, f := range files {
			_, err := policy.Load(f)
			Expect(err).To(HaveOccurred(), "loader on %s", f)
			v, err := yamlAsJSON(f)
			Expect(err).NotTo(HaveOccurred(), "yamlAsJSON")
			Expect(schema.Validate(v)).NotTo(Succeed(), "schema on %s", f)
		}
	})
})

func mustOpen(path string) *os.File {
	GinkgoHelper()
	f, err := os.Open(path)
	Expect(err).NotTo(HaveOccurred(), "os.Open")
	DeferCleanup(f.Close)
	return f
}
