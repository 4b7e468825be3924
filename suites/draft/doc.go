// Package draft infers a first policy from recorded runs of a tool: the
// endpoint it reported to, the headers it sent, every field path of its
// JSON payload with a type and format guessed from the values, the
// canaries that were planted and the clauses every policy needs. It is
// what `telemetry-harness init` writes.
//
// A draft is a starting point, never a promise: every field says `doc:
// TODO` and every clause `promise: TODO`, for the user to replace with the
// words of the tool's published page. What the recording already shows is
// said where the user will read it: a value that matched a planted canary
// is flagged as `# PROBABLE LEAK: <role> (<form>) at <path>` above its
// field, and requests that went elsewhere are listed as other_traffic
// candidates in a comment (never declared: declaring them would hide them
// from the destination clause before anyone read the reason).
//
// The package reads run folders (capture.jsonl, canaries.json,
// egress.json) and imports no recording code, so a draft can be made again
// from saved run folders.
package draft
