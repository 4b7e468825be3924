package versions_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/versions"
)

// fakeHarness stands in for the harness's `run`: it writes a report.json
// whose verdict depends on the version in --tool (2.x violates "c"), and
// writes none for version 9 (a run that failed).
const fakeHarness = `#!/bin/sh
out= tool=
while [ $# -gt 0 ]; do
	case "$1" in --out) out=$2; shift ;; --tool) tool=$2; shift ;; esac
	shift
done
case "$tool" in *9.0.0*) echo "fake run: crashed" >&2; exit 1 ;; esac
runs='[]'
case "$tool" in
*8.0.0*) runs='[{"dir":"opt-in","timed_out":true,"requests":[],"total_requests":0,"total_bytes":0}]' ;;
*7.0.0*)
	runs='[{"dir":"opt-in","exit_code":1,"requests":[],"total_requests":0,"total_bytes":0}]'
	mkdir -p "$out/opt-in"
	echo '[{"role":"user","value":"cnryuserq8v2k5m1x0"}]' >"$out/opt-in/canaries.json"
	printf 'building\nError: cannot read /home/cnryuserq8v2k5m1x0/app\n' >"$out/opt-in/stderr"
	;;
esac
v=passed; o=compliant; code=0
case "$tool" in *2.*) v=violated; o=violations; code=3 ;; esac
mkdir -p "$out"
printf '{"schema_version":1,"verdict":"%s","clauses":[{"id":"c","verdict":"%s"}],"scenarios":[{"name":"opt-in","findings":0,"runs":%s}]}\n' "$o" "$v" "$runs" >"$out/report.json"
exit $code
`

var _ = Describe("Spec.RunMatrix", func() {
	It("installs ahead while earlier versions run, skips what cannot install or run, and keeps the version order", func(ctx SpecContext) {
		tmp := GinkgoT().TempDir()
		self, install := filepath.Join(tmp, "harness"), filepath.Join(tmp, "install")
		Expect(os.WriteFile(self, []byte(fakeHarness), 0o755)).To(Succeed())
		Expect(os.WriteFile(install, []byte("#!/bin/sh\n[ \"$2\" = 1.5.0 ] && { echo 'no such release' >&2; exit 1; }\nmkdir -p \"$1\"\necho x >>\"$1/count\"\n"), 0o755)).To(Succeed())
		var log bytes.Buffer
		spec := &versions.Spec{Self: self, Policy: "../../policy.yaml", Install: install + " {dir} {version}", Tool: "{dir}/tool {version}",
			Cache: filepath.Join(tmp, "cache"), Out: filepath.Join(tmp, "out"), Log: &log}
		Expect(spec.Check()).To(Succeed())

		vs := []string{"1.0.0", "1.5.0", "2.0.0", "9.0.0", "2.1.0", "7.0.0", "8.0.0"}
		m, err := spec.RunMatrix(ctx, vs)
		Expect(err).NotTo(HaveOccurred(), "spec.RunMatrix")
		var got []string
		for _, r := range m.Versions {
			got = append(got, r.Version+"="+versions.Cell(r, "c"))
		}
		Expect(got).To(Equal([]string{"1.0.0=passed", "1.5.0=skipped", "2.0.0=violated", "9.0.0=skipped", "2.1.0=violated", "7.0.0=skipped", "8.0.0=skipped"}))
		Expect(m.Versions[5].Skipped).To(ContainSubstring("the tool exited 1 in scenario opt-in (expected success): Error: cannot read /home/«user»/app"),
			"opt-in expects success; the tool's last stderr line, planted value redacted")
		Expect(m.Versions[5].Skipped).NotTo(ContainSubstring("cnryuserq8v2k5m1x0"))
		Expect(m.Versions[6].Skipped).To(ContainSubstring("the tool timed out in scenario opt-in"))
		Expect(m.Versions[1].Skipped).To(ContainSubstring("install failed (exit status 1): no such release"))
		Expect(m.Versions[3].Skipped).To(ContainSubstring("run failed (exit 1): fake run: crashed"))
		Expect(m.Versions[0].Note).To(ContainSubstring(`outside the policy's tool.versions`))
		Expect(m.Diffs).To(HaveLen(2), "1.0.0..2.0.0 and 2.0.0..2.1.0: skipped versions have no neighbours")
		Expect(m.Diffs[0].Error).To(ContainSubstring("holds no capture.jsonl"), "the fake writes no captures: the pair says so, the matrix stands")
		var text bytes.Buffer
		Expect(m.WriteText(&text)).To(Succeed())
		Expect(text.String()).To(ContainSubstring("1.0.0 -> 2.0.0: no diff:"))
		Expect(m.WriteAll(filepath.Join(tmp, "out"))).To(Succeed())

		again, err := spec.RunMatrix(ctx, []string{"1.0.0"})
		Expect(err).NotTo(HaveOccurred(), "spec.RunMatrix")
		Expect(again.Versions[0].Installed).To(BeFalse())
		b, err := os.ReadFile(filepath.Join(tmp, "cache", "1.0.0", "count"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(strings.Count(string(b), "x")).To(Equal(1), "the stamp keeps a rerun from installing")
		Expect(log.String()).To(ContainSubstring("1.0.0: installed already"))
	})

	It("refuses templates that cannot tell versions apart", func() {
		for _, tc := range []struct{ install, tool, msg string }{
			{"npm install next", "{dir}/next", "never names {version}"},
			{"npm install next@{version}", "next", "never name {dir}"},
			{"npm install 'x@{version}", "{dir}/next", "cannot split it into words"},
		} {
			spec := &versions.Spec{Policy: "../../policy.yaml", Install: tc.install, Tool: tc.tool}
			Expect(spec.Check()).To(MatchError(ContainSubstring(tc.msg)), tc.install)
		}
		spec := &versions.Spec{Policy: "no-such.yaml", Install: "i {dir} {version}", Tool: "t"}
		Expect(spec.Check()).To(MatchError(ContainSubstring("no-such.yaml")))
	})
})
