// Package policy is the promise as data: the model of policy.yaml and its
// strict loader.
//
// A policy names the tool and the page that makes the promise, the endpoint
// the tool may talk to, the documented fields and where each sits on the
// wire, the canaries the harness plants, one clause per promise with the
// checks that implement it, and the scenarios that exercise the clauses.
// Nothing about a particular tool lives in Go code: a second tool is a
// second policy file.
//
//	p, err := policy.Load("policy.yaml")   // strict: unknown keys, wrong
//	if err != nil { ... }                  // types and dangling references
//	                                       // fail with file:line:col
//	sc, _ := p.Scenario("opt-in")
//	for _, id := range sc.Clauses { c, _ := p.Clause(id); ... }
//
// Errors from Load are *LoadError values (errors.As) carrying one Problem
// per defect, each with file, line, column, field path, what is allowed and
// an example of a correct value.
//
// Strings in scenarios may hold templates: {{canary.<role>}} is the value
// planted for that role in the run and {{repo_id}} the run's repo id; Expand
// fills them in.
package policy
