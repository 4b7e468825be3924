// Package textmatch runs policy regexps faster over long texts that cannot
// match, with exactly the results of package regexp.
//
// Policy authors write patterns such as `(?i)telemetry` or
// `\b[A-Z][A-Za-z]*(Error|Exception)\b`. They have no literal prefix, so
// Go's regexp walks its NFA or backtracker over every byte of every body,
// although most bodies hold none of the words the pattern needs.
//
// Compile parses the expression (regexp/syntax, simplified) and derives a
// necessary condition: a set of literal strings, one of which occurs in
// every text the expression matches. `(?i)telemetry` needs "telemetry" in
// any ASCII case; `\b[A-Z][A-Za-z]*(Error|Exception)\b` needs "Error" or
// "Exception"; `File "[^"]*", line [0-9]+` needs `", line `. Before running
// the regexp the text is searched for those literals (strings.Index, or for
// a case-insensitive literal strings.IndexByte on its rarest byte in
// both cases, then a comparison); when none occurs the regexp is skipped and the
// answer is "no match". When one occurs, the full regexp runs on the whole
// text, so leftmost-first positions, anchors and \b behave as in regexp.
//
// The condition is derived conservatively: anything it cannot reason about
// (., large classes, x*, x?, an empty alternative) imposes no requirement,
// and an expression with no requirement always runs the regexp. Case
// folding follows regexp's Unicode rules: `(?i)k` also matches the Kelvin
// sign U+212A and `(?i)s` the long s U+017F, so such letters become
// alternatives (k in any ASCII case, or "\u212a"). A literal U+FFFD imposes
// no requirement, because regexp reads each invalid UTF-8 byte as U+FFFD.
//
// A Set holds several expressions and searches each distinct literal once
// per text for all of them.
package textmatch
