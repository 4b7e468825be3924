// Package compliance holds the Ginkgo specs that check a tool against a
// policy: one Describe per scenario, one It per clause the scenario
// exercises, with the clause id in the text and as a label
// ("clause:<id>", "scenario:<name>"), so --label-filter selects clauses and
// scenarios.
//
// It is a non-test package so that the CLI runs the same specs in-process
// with RunSpecs (no Go toolchain needed), while `go test` runs them through
// a bootstrap _test.go. The spec tree is generated from the policy before
// RunSpecs; the scenarios themselves run in BeforeSuite, concurrently, and
// the specs judge what they left behind through suites/judge and
// suites/matchers.
//
//	s, _ := compliance.New(compliance.Config{Policy: p, Runner: opts})
//	s.Define()                      // before RunSpecs
//	RunSpecs(t, "Compliance")
//	for _, o := range s.Outcomes() { ... }
//
// With Config.Replay set, no tool runs: the specs judge the run folders of a
// previous output folder, so a CI failure is re-checked locally byte for
// byte.
package compliance
