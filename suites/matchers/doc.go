// Package matchers holds the Gomega matchers the compliance specs assert
// with. Each reads as English in an assertion and fails with a message that
// lists every violation on its own line, never a raw canary value, secret or
// body:
//
//	res, err := judge.Judge(judge.Input{Policy: p, Scenario: "opt-in", Runs: runs})
//	Expect(err).NotTo(HaveOccurred(), "judging scenario opt-in")
//	Expect(res).To(matchers.ComplyWith("anonymity.no-personal-values"))
//
//	Expect(run.Exchanges).To(matchers.HaveSentNothing())
//	Expect(run.Exchanges).To(matchers.ContainNoCanary(run.Canaries))
//	Expect(run.Exchanges).To(matchers.BeSentOnlyTo(p.Endpoint))
//	Expect(userID).To(matchers.BeSaltedHashOf(oracle.Inputs{RepoID: r, Values: planted}))
//	Expect(runs).To(matchers.HaveOnlyDocumentedFields(p, "opt-in"))
//
// A failure reads like Gomega's own:
//
//	Expected
//	    <judged scenario "opt-in": 1 of 19 clauses violated, 2 findings>
//	to comply with clause "anonymity.no-personal-values" (scenario "opt-in")
//	    exchange #1 header:User-Agent: user canary found (raw form, value of 18 chars)
//	    exchange #1 $.content.platform: user canary found (base64 form, value of 18 chars)
//
// Three outcomes are kept apart, because `NotTo` must never pass by
// accident:
//
//   - true: the promise holds on what was seen;
//   - false: a violation was seen (the failure lists each one);
//   - an error: the matcher could not judge, so both To and NotTo fail.
//     That covers a wrong actual type, nil, an unknown clause, a capture the
//     harness could not see into (a rejected or opaque tunnel: "unobservable:
//     ..."), and for ComplyWith a clause the scenario does not exercise or a
//     server-side clause (the caller Skips those before asserting).
//
// A seen violation beats blindness: a capture with a readable request to a
// foreign host and a rejected tunnel fails BeSentOnlyTo rather than erroring,
// since the violation is certain either way.
//
// HaveOnlyDocumentedFields is composed over the judge: it judges the runs
// against the scenario and reads the verdict of clause
// "fields.documented-only" (allowed fields, allowed headers, field formats),
// exactly as ComplyWith would. Policy and check logic stay in one place.
//
// Every matcher clears what it found at the start of Match, so Eventually
// may call it repeatedly.
package matchers
