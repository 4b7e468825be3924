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
//	go test ./suites/mutation/ -v                                    # all, with the score
//	go test ./suites/mutation/ -ginkgo.label-filter='mutant:mac-sent' # one mutant
//	go test -short ./...                                             # skips it
package mutation
