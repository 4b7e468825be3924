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
// each text that finds all overlapping occurrences, for each canary spelled
// in these forms (forms.go):
//
//	raw, upper, title, case-folded   the value, in any ASCII case
//	reverse, rot13                   reversed, ROT13
//	url-encoded                      query and path escaping, every byte as
//	                                 %XX, and that escaped again
//	json-escaped, html-entities      JSON escaping, every character as \uXXXX,
//	                                 &#NN; or &#xNN;
//	base64, base64url, base32        inside a longer text at every byte
//	                                 alignment, padded or not (the characters
//	                                 that depend on the value alone)
//	utf16le, utf16be, hex            the value's bytes
//	md5, sha1, sha256, sha512        the unsalted digest's hex, either case
//
// Then the other way (layers.go): every base64, base32, hex and percent run
// is decoded, decompressed when it is gzip, zlib, zstd, or a clean deflate
// or brotli stream, and searched again, up to three steps deep; a hit names
// the chain ("base64(gzip)"; Hit.Chain spells "base64(gzip(user))"). A
// digest-sized run or blob is looked up among the hashes of every value,
// unsalted and salted with every other value or a policy constant
// (digests.go). A prefix of a value of at least Options.MinPrefix bytes is a
// truncated hit (Hit.Matched), and a value whose pieces of MinFragment or
// more bytes are all in one exchange is a fragments hit (fragments.go).
// docs/encodings.md lists what is searched and what is not.
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
