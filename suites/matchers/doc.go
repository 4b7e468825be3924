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
// A failure reads like Gomega's own: a stable summary of the actual (counts,
// never timestamps, URLs or bodies), the verb phrase, then one line per
// violation ("run NAME exchange #N PATH: message (evidence)"):
//
//	Expected
//	    <judged scenario "opt-in-custom-goals": 1 of 25 clauses violated, 1 finding>
//	to comply with clause "anonymity.no-personal-values" (scenario "opt-in-custom-goals")
//	    exchange #1 header:User-Agent: the user canary is sent (raw) (role user, form raw, value of 16 chars)
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
// ComplyWith names the scenario, not the policy file: a judge.Result does
// not carry it. HaveOnlyDocumentedFields, which is given the policy, names
// its file.
//
// HaveOnlyDocumentedFields is composed over the judge: it judges the runs
// against the scenario and reads the verdict of clause
// "fields.documented-only" (allowed fields, allowed headers, field formats),
// exactly as ComplyWith would. Policy and check logic stay in one place.
//
// Every matcher clears what it found at the start of Match, so Eventually
// may call it repeatedly.
package matchers
