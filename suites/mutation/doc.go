// Package mutation is the self-test of the compliance suites: a mutation
// test that runs every scenario of policy.yaml against every mutant of the
// reference implementation (fixtures/mutants/manifest.yaml) and checks that
// the clauses the suites find violated are exactly the clauses the manifest
// names. A mutant whose clause still passes has survived, and the suites
// have a blind spot; a mutant that breaks an unlisted clause shows a check
// that fires on the wrong evidence (or a manifest that is wrong).
//
// Two more tools calibrate the test: the reference's `documented` profile
// (no clause violated) and its `pants-2.16` profile, which reproduces what
// Pants 2.16 really did and must yield exactly the real findings
// (fields.documented-only for active_standard_backends, and
// transport.background for the foreground send).
//
// It holds only tests. The specs call the same library functions the
// compliance specs call (scenario.RunAll, compliance.JudgeDirs,
// reports.Build) rather than RunSpecs, which may run once per process.
//
//	go test ./suites/mutation/ -v -timeout 20m                        # all, with the score
//	go test ./suites/mutation/ -ginkgo.label-filter='mutant:mac-sent' # one mutant
//	go test -short ./...                                             # skips it
//
// Cost: 30 tools × 16 runs. Measured on a 2-core machine shared with other
// builds (load 12-20): 7m22s wall, 394 s of CPU, about 13 s of CPU per tool,
// most of it in the Python processes (about 0.5 s of CPU per run: start-up,
// imports, TLS to the proxy) and about 20% for sealing; the slow-endpoint
// waits overlap. The tool phase runs until go test's deadline less a margin,
// so a slow machine fails with a message rather than a panic dump.
package mutation
