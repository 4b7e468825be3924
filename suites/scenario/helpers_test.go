package scenario_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

// repoRoot is the folder holding go.mod, found upwards from the test's
// working directory.
func repoRoot() string {
	GinkgoHelper()
	dir, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred(), "os.Getwd")
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		Expect(parent).NotTo(Equal(dir), "no go.mod above the test folder")
		dir = parent
	}
}

func loadPolicy(root string) *policy.Policy {
	GinkgoHelper()
	p, err := policy.Load(filepath.Join(root, "policy.yaml"))
	Expect(err).NotTo(HaveOccurred(), "loading the shipped policy.yaml")
	return p
}

// valueOf is the value planted for role in a run (the first, for node).
func valueOf(rr scenario.RunResult, role string) string {
	GinkgoHelper()
	for _, c := range rr.Canaries {
		if c.Role == role {
			return c.Value
		}
	}
	Fail("run " + rr.Name + " planted no " + role + " canary")
	return ""
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// reportContent is the parsed "content" of a humbug report body.
func reportContent(ex *capture.Exchange) map[string]any {
	GinkgoHelper()
	var body struct {
		Content string `json:"content"`
	}
	Expect(json.Unmarshal(ex.Body.Bytes(), &body)).To(Succeed(), "report body of %s", ex)
	var content map[string]any
	Expect(json.Unmarshal([]byte(body.Content), &content)).To(Succeed(), "report content of %s", ex)
	return content
}

func readCanaries(dir string) []canary.Canary {
	GinkgoHelper()
	cs, err := canary.ReadFile(filepath.Join(dir, scenario.CanariesName))
	Expect(err).NotTo(HaveOccurred(), "canary.ReadFile")
	return cs
}

// writeScript writes an executable shell script into dir.
func writeScript(dir, name, body string) string {
	GinkgoHelper()
	p := filepath.Join(dir, name)
	Expect(os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755)).To(Succeed())
	return p
}
