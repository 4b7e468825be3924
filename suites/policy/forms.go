package policy

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

// CanaryForms are every canary form, in the order error messages list them.
func CanaryForms() []string {
	return []string{FormRaw, FormCaseFolded, FormURL, FormJSON, FormBase64,
		FormBase64URL, FormHex, FormMD5, FormSHA1, FormSHA256, FormSHA512}
}
