// Package canary plants recognisable values and finds them again in every
// byte a client sent.
//
// A canary is a value the harness makes up and plants where personal or
// private data would come from (the user name, the host name, a folder name,
// a goal name, a config value). Generate makes a value that looks like an
// ordinary one of its kind (a user name "kaveromilasu42", a host name
// "kavero-milasu-07", a package name "kavero-milasu", a token of 32
// letters and digits), with no marker a tool could look for: it is unique
// through at least 12 random characters, which the search needs no prefix
// to find.
//
// A Searcher is built once for a run's canaries and looks, in one pass over
// each text that finds all overlapping occurrences, for each canary in
// these forms:
//
//	raw, case-folded     the value, in any ASCII case
//	url-encoded          query and path escaping, and every byte as %XX
//	json-escaped         JSON string escaping, and every character as \uXXXX
//	base64, base64url    inside a longer base64 text at any of the three byte
//	                     alignments, padded or not (the characters that
//	                     depend on the value alone are matched)
//	hex                  the value's bytes in hex, either case
//	md5, sha1, sha256, sha512   the unsalted digest's hex, either case
//
// The pass compares ASCII-case-folded bytes (without copying the text), so
// one pattern covers every case; base64 matches are then checked
// case-sensitively against the original bytes. A sampling filter over
// 4-byte windows skips most of a text without canaries (scan.go).
//
// Search looks at the URL, the CONNECT/Host authority and SNI, every header
// (name and value), the body as recorded, the decoded body, and every
// string, number and query value of the observe.Observation (so canaries
// escaped inside JSON, or inside JSON nested in a JSON string, are found with
// the path that holds them). A hit in the body is located by the JSON value
// whose token holds it (`$.title`), else by byte offset (`body@123`); a hit
// that a decoded value explains more precisely (`$.content.user_id` rather
// than the `$.content` string) is reported only there. Hits are unique by
// canary, location and form; one occurrence can still show as several hits
// in different forms (the \u-escaped bytes at `$.user` and the decoded value
// at `$.user`).
//
// Locations and excerpts never hold a canary: every canary occurrence is
// replaced by «role», and other long tokens in the excerpt are shortened.
//
// Some hits are what a promise asks for: the sha256 of the repo-id canary
// is the promised repo_id. The caller decides which (role, form) pairs are
// findings.
package canary
