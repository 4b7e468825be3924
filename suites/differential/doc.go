// Package differential finds what a scenario's traffic derives from the
// planted values, whatever transformation produced it, by running the tool
// again (Agrigento's black-box differential analysis, Continella et al.,
// NDSS 2017) instead of guessing encodings.
//
// A scenario that sent anything is run twice more: once with identical
// inputs (the same planted values, working path, host name and MAC) and
// once with every planted value replaced. Every value position of the
// traffic is aligned across the three runs: JSON paths (JSON inside strings
// too, array indexes folded to [*]), headers, query parameters, URL path
// segments, tag values, WebSocket messages and DNS names. Values the canary
// search recognises are replaced by their role first, so a position holding
// a planted value in a known form compares equal across runs and only what
// the search cannot explain is left to this comparison.
//
// A position that changes between the identical runs varies on its own (a
// time stamp, a random id, randomised encryption): the policy must declare
// its field `varies: per-run`, with a check of its own, or it is an
// unexplained variation. A position that repeats between the identical
// runs but changes when the planted values change depends on them: the
// policy must declare it derived (an id of the ids section, which the hash
// oracle checks, or a field derived from one), or it is a leak, found
// whatever the encoding (a keyed XOR, a private hash).
package differential
