package policy

import (
	"slices"
	"strings"
)

// The canary forms: the spellings of a planted value the canary search
// reports a hit in, and that a canary-absent check's ignore_forms may name.
// They belong to the policy's vocabulary, so the policy validates
// ignore_forms without importing the search; suites/canary uses these names.
const (
	FormRaw        = "raw"
	FormCaseFolded = "case-folded"
	FormURL        = "url-encoded"
	FormJSON       = "json-escaped"
	FormBase64     = "base64"
	FormBase64URL  = "base64url"
	FormHex        = "hex"
	FormMD5        = "md5"
	FormSHA1       = "sha1"
	FormSHA256     = "sha256"
	FormSHA512     = "sha512"
)

// Forms of the layered search (docs/encodings.md).
const (
	// Case, order and letter forms of the value.
	FormUpper   = "upper"
	FormTitle   = "title"
	FormReverse = "reverse"
	FormROT13   = "rot13"
	// Encodings spelled from the value and, except the entities and
	// UTF-16, also decoded from runs in the traffic.
	FormBase32  = "base32"
	FormHTML    = "html-entities"
	FormUTF16LE = "utf16le"
	FormUTF16BE = "utf16be"
	// Compressions, found by decoding a base64/base32/hex/percent run and
	// decompressing what it holds.
	FormGzip    = "gzip"
	FormZlib    = "zlib"
	FormDeflate = "deflate"
	FormBrotli  = "brotli"
	FormZstd    = "zstd"
	// FormFragments is a value split in pieces that are all present in
	// one exchange.
	FormFragments = "fragments"
	// SaltedPrefix starts the form of a salted hash ("salted-sha256").
	SaltedPrefix = "salted-"
)

// The search's minimum prefix of a truncated value: the default, and the
// least a policy may set (canaries[].min_prefix): the scan looks values up
// by their first 8 bytes.
const (
	DefaultMinPrefix = 12
	MinPrefixFloor   = 8
)

// CanaryForms are every canary form, in the order error messages list them;
// a form may also be a chain of them, outermost first ("base64(gzip)").
func CanaryForms() []string {
	return []string{FormRaw, FormCaseFolded, FormUpper, FormTitle, FormReverse, FormROT13, FormURL, FormJSON,
		FormHTML, FormBase64, FormBase64URL, FormBase32, FormHex, FormUTF16LE, FormUTF16BE,
		FormGzip, FormZlib, FormDeflate, FormBrotli, FormZstd, FormMD5, FormSHA1, FormSHA256, FormSHA512,
		SaltedPrefix + FormMD5, SaltedPrefix + FormSHA1, SaltedPrefix + FormSHA256, SaltedPrefix + FormSHA512, FormFragments}
}

// ValidCanaryForm reports whether form is one canary form or a chain of
// them ("base64(gzip)").
func ValidCanaryForm(form string) bool {
	forms := CanaryForms()
	for {
		name, rest, nested := strings.Cut(form, "(")
		if !slices.Contains(forms, name) {
			return false
		}
		if !nested {
			return true
		}
		if !strings.HasSuffix(rest, ")") {
			return false
		}
		form = rest[:len(rest)-1]
	}
}
