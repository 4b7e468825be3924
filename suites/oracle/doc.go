// Package oracle recomputes the identifiers a telemetry promise describes
// from the inputs the harness controlled, and says which formula an observed
// identifier matches.
//
// A promise such as "the machine id is the sha256 of the repo id and the MAC
// address" leaves the exact construction open ("concatenation": with or
// without a separator). With R the repo id the harness configured and v a
// value it planted (user name, node number, host name), Classify tries, in
// this order:
//
//	sha256(R)      the repo id's own hash
//	sha256(R.v)    R, a dot, v (what Pants did)
//	sha256(Rv)     plain concatenation (what the page literally says)
//	md5(x), sha1(x), sha256(x), sha512(x)  for x = R or any v: an unsalted
//	               hash of a known input, which the caller reports
//
// Hex is compared case-insensitively so that an upper-case id is still
// recognised; whether the format is right is IsSHA256Hex's question.
//
// The "node" of Python's uuid.getnode() is the 48-bit MAC as a decimal
// integer; NodeCandidates lists what this machine's interfaces would give.
// Inside the harness's sealed network namespace the harness sets the MAC of
// the namespace's interface itself, so the node value is known exactly
// rather than guessed from the host's interfaces.
package oracle
