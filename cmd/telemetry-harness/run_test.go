package main

import (
	"bytes"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("run", func() {
	var stdout, stderr *bytes.Buffer

	BeforeEach(func() {
		stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	})

	It("says in one line when the tool is not found, before any scenario runs", func(ctx SpecContext) {
		out := filepath.Join(GinkgoT().TempDir(), "report")
		code := runRun(ctx, runOptions{Tool: "no-such-tool-4711 --flag", Out: out, Parallel: 1}, stdout, stderr)

		Expect(code).To(Equal(exitHarness))
		Expect(strings.TrimSpace(stderr.String())).To(Equal(
			`telemetry-harness: tool "no-such-tool-4711" not found: install it, or give its full path in --tool`))
		Expect(out).NotTo(BeADirectory(), "nothing was started")
	})

	It("rejects a --tool it cannot split into words", func(ctx SpecContext) {
		code := runRun(ctx, runOptions{Tool: `python3 "unterminated`, Out: GinkgoT().TempDir()}, stdout, stderr)

		Expect(code).To(Equal(exitUsage))
		Expect(stderr.String()).To(ContainSubstring("--tool"))
	})
})
