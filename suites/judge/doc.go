// Package judge evaluates a capture against one scenario of a policy: every
// clause the scenario exercises, through the data-driven checks the policy
// lists, and returns findings with redacted evidence plus a verdict per
// clause. It is a plain library (no Ginkgo, no Gomega): the check command,
// replay and the compliance specs call the same function.
//
//	p, _ := policy.Load("policy.yaml")
//	run, _ := judge.OpenRun("out/opt-in")          // capture path, run.json, stdout,
//	res, err := judge.Judge(judge.Input{           // stderr, canaries.json
//		Policy: p, Scenario: "opt-in", Runs: []judge.RunData{run},
//	})
//	if err != nil { ... }                           // harness error: could not judge
//	for _, f := range res.Findings { ... }          // violations, one per fact
//	for _, c := range res.Clauses { ... }           // passed, violated, ...
//
// Findings are violations of the promise; an error means the harness could
// not evaluate at all (unreadable capture, unknown scenario). Between them
// sit verdicts that are neither: "unobservable" (the client rejected our CA,
// or a tunnel carried bytes we could not read, or a fact such as run.json is
// missing), "not-exercised" (the scenario gave the check nothing to judge),
// and "not-testable" (a server-side promise). "Nothing sent" passes only
// when the harness could see everything the tool tried to send.
//
// Evidence never holds a raw canary value or secret header: it says where
// (path), what (role, form) and how long, never the bytes themselves.
//
// A scenario with several runs (two repos, repeated runs) is judged from all
// of its runs at once, in the scenario's run order: ids are compared across
// canary sets and run ids across runs.
package judge
