// Package matchers holds the Gomega matcher the compliance specs assert
// with. It reads as English in an assertion and fails with a message that
// lists every violation on its own line, never a raw canary value, secret or
// body:
//
//	res, err := judge.Judge(judge.Input{Policy: p, Scenario: "opt-in", Runs: runs})
//	Expect(err).NotTo(HaveOccurred(), "judging scenario opt-in")
//	Expect(res).To(matchers.ComplyWith("anonymity.no-personal-values"))
//
// The policy's checks live in the judge alone: a matcher reads the judge's
// verdict and never re-checks a capture itself, so a spec and a report can
// never disagree. (Five capture-level matchers that no spec used were
// removed in #16: BeSentOnlyTo, HaveSentNothing, ContainNoCanary,
// BeSaltedHashOf, HaveOnlyDocumentedFields.)
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
//     That covers a wrong actual type, nil, an unknown clause, a clause
//     the harness could not see into ("unobservable: ..."), a clause the
//     scenario does not exercise or a server-side clause (the caller Skips
//     those before asserting).
//
// ComplyWith names the scenario, not the policy file: a judge.Result does
// not carry it.
//
// The matcher clears what it found at the start of Match, so Eventually
// may call it repeatedly.
package matchers
