package canary

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Forms a hit can report: the policy's vocabulary (ignore_forms names
// them), so the names live in suites/policy.
const (
	FormRaw        = policy.FormRaw
	FormCaseFolded = policy.FormCaseFolded
	FormURL        = policy.FormURL
	FormJSON       = policy.FormJSON
	FormBase64     = policy.FormBase64
	FormBase64URL  = policy.FormBase64URL
	FormHex        = policy.FormHex
	FormMD5        = policy.FormMD5
	FormSHA1       = policy.FormSHA1
	FormSHA256     = policy.FormSHA256
	FormSHA512     = policy.FormSHA512

	FormUpper     = policy.FormUpper
	FormTitle     = policy.FormTitle
	FormReverse   = policy.FormReverse
	FormROT13     = policy.FormROT13
	FormBase32    = policy.FormBase32
	FormHTML      = policy.FormHTML
	FormUTF16LE   = policy.FormUTF16LE
	FormUTF16BE   = policy.FormUTF16BE
	FormGzip      = policy.FormGzip
	FormZlib      = policy.FormZlib
	FormDeflate   = policy.FormDeflate
	FormBrotli    = policy.FormBrotli
	FormZstd      = policy.FormZstd
	FormFragments = policy.FormFragments
	SaltedPrefix  = policy.SaltedPrefix
)

// Steps lists the transform names a form is a chain of, outermost first:
// "base64(gzip)" is base64 of gzip of the value.
func Steps() []string { return policy.CanaryForms() }

// ValidForm reports whether form is one transform name or a chain of them
// ("base64(gzip)").
func ValidForm(form string) bool { return policy.ValidCanaryForm(form) }

// wrap nests inner inside the chain outer ("base64(gzip)" + "hex" is
// "base64(gzip(hex))"); the raw value adds nothing.
func wrap(outer, inner string) string {
	if outer == "" {
		return inner
	}
	if inner == FormRaw {
		return outer
	}
	n := len(outer) - len(strings.TrimRight(outer, ")"))
	return outer[:len(outer)-n] + "(" + inner + ")" + outer[len(outer)-n:]
}

// minBase64Core is the shortest base64 fragment searched: shorter ones
// would match unrelated base64 by chance.
const minBase64Core = 8

// pattern is one spelling of one canary.
type pattern struct {
	canary int
	form   string
	text   string // as spelled
	lower  string // text lower-cased: what the scan compares case-folded bytes with
	exact  bool   // the match must equal text byte for byte (base64)
	// value marks the value itself (FormRaw): a case-insensitive match is
	// classified by case, and a prefix of at least the canary's minimum
	// is a truncated hit.
	value bool
	// off is a fragment's offset in the value (fragments.go).
	off int
}

// spellings lists the patterns of canary i, without repeats.
func spellings(i int, v string) []pattern {
	var out []pattern
	seen := map[string]bool{}
	add := func(form, text string, exact bool) {
		key := text
		if !exact {
			key = lowerString(text)
		}
		if text == "" || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, pattern{canary: i, form: form, text: text, exact: exact})
	}
	add(FormRaw, v, false)
	out[0].value = true
	add(FormReverse, reverse(v), false)
	add(FormROT13, rot13(v), false)
	add(FormURL, url.QueryEscape(v), false)
	add(FormURL, url.PathEscape(v), false)
	add(FormURL, percentAll(v), false)
	add(FormJSON, jsonEscape(v), false)
	add(FormJSON, unicodeEscapeAll(v), false)
	for _, enc := range []struct {
		form string
		enc  *base64.Encoding
	}{{FormBase64, base64.StdEncoding}, {FormBase64URL, base64.URLEncoding}} {
		for _, core := range base64Cores([]byte(v), enc.enc) {
			if len(core) >= minBase64Core {
				add(enc.form, core, true)
			}
		}
	}
	add(wrap(FormURL, FormURL), strings.ReplaceAll(percentAll(v), "%", "%25"), false)
	add(FormHTML, entities(v, "&#%d;"), false)
	add(FormHTML, entities(v, "&#x%x;"), false)
	for _, core := range base32Cores([]byte(v)) {
		if len(core) >= minBase64Core {
			add(FormBase32, core, false)
		}
	}
	add(FormUTF16LE, utf16Bytes(v, false), true)
	add(FormUTF16BE, utf16Bytes(v, true), true)
	add(FormHex, hex.EncodeToString([]byte(v)), false)
	m := md5.Sum([]byte(v))
	add(FormMD5, hex.EncodeToString(m[:]), false)
	s1 := sha1.Sum([]byte(v))
	add(FormSHA1, hex.EncodeToString(s1[:]), false)
	s256 := sha256.Sum256([]byte(v))
	add(FormSHA256, hex.EncodeToString(s256[:]), false)
	s512 := sha512.Sum512([]byte(v))
	add(FormSHA512, hex.EncodeToString(s512[:]), false)
	return out
}

// base64Cores returns, for each of the three positions v can start at
// inside a longer base64 text, the characters that depend on v's bytes
// alone: those are present whatever comes before or after, padded or not.
func base64Cores(v []byte, enc *base64.Encoding) []string {
	var out []string
	for a := 0; a < 3; a++ {
		buf := make([]byte, a+len(v))
		copy(buf[a:], v)
		s := enc.WithPadding(base64.NoPadding).EncodeToString(buf)
		// Character j covers bits [6j, 6j+6); keep those inside v's bits.
		first := (8*a + 5) / 6
		last := 8 * (a + len(v)) / 6 // exclusive
		if last > len(s) {
			last = len(s)
		}
		if first < last {
			out = append(out, s[first:last])
		}
	}
	return out
}

// base32Cores is base64Cores for base32 (standard alphabet; matched in
// either case): a 5-bit character depends on v alone at five alignments.
func base32Cores(v []byte) []string {
	var out []string
	for a := 0; a < 5; a++ {
		buf := make([]byte, a+len(v))
		copy(buf[a:], v)
		s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(buf)
		first := (8*a + 4) / 5
		last := min(8*(a+len(v))/5, len(s))
		if first < last {
			out = append(out, s[first:last])
		}
	}
	return out
}

func reverse(v string) string {
	b := []byte(v)
	slices.Reverse(b)
	return string(b)
}

func rot13(v string) string {
	b := []byte(v)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}

// entities writes every character of v as a numeric character reference.
func entities(v, format string) string {
	var b strings.Builder
	for _, r := range v {
		fmt.Fprintf(&b, format, r)
	}
	return b.String()
}

// utf16Bytes is v in UTF-16, little- or big-endian, without a BOM.
func utf16Bytes(v string, big bool) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(v)) {
		if big {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}

func percentAll(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		fmt.Fprintf(&b, "%%%02X", v[i])
	}
	return b.String()
}

// jsonEscape is v as inside a JSON string by Go's encoder (which also
// escapes <, > and &); Python's ensure_ascii form is unicodeEscapeAll's
// territory for non-ASCII text.
func jsonEscape(v string) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 {
		return v
	}
	return string(b[1 : len(b)-1])
}

// unicodeEscapeAll writes every character as \uXXXX (surrogate pairs above
// U+FFFF), the most escaped form a JSON encoder can produce.
func unicodeEscapeAll(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRuneInString(v[i:])
		i += n
		if r > 0xFFFF {
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

var lowerTable = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// lowerInto writes the ASCII-lower-cased src into dst (grown as needed).
func lowerInto(dst, src []byte) []byte {
	if cap(dst) < len(src) {
		dst = make([]byte, len(src))
	}
	dst = dst[:len(src)]
	for i, c := range src {
		dst[i] = lowerTable[c]
	}
	return dst
}

func lowerString(s string) string { return string(lowerInto(nil, []byte(s))) }
