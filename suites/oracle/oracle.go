package oracle

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"slices"
	"strings"
)

// Formulas Classify reports.
const (
	FormulaRepo      = "sha256(R)"
	FormulaDot       = "sha256(R.v)"
	FormulaConcat    = "sha256(Rv)"
	FormulaMD5       = "md5(v)"
	FormulaSHA1      = "sha1(v)"
	FormulaSHA256Raw = "sha256(v)"
	FormulaSHA512    = "sha512(v)"
)

// RoleRepoID is the role Classify gives the repo id R itself.
const RoleRepoID = "repo-id"

// Inputs are what the harness controlled in one run.
type Inputs struct {
	// RepoID is R, exactly as configured (no trimming, case kept).
	RepoID string
	// Values maps a role ("user", "node", "host", ...) to the values planted
	// for it; several candidates per role are fine (a node in decimal and
	// colon-hex form).
	Values map[string][]string
}

// Match says how an observed id was made.
type Match struct {
	// Formula is one of the Formula constants.
	Formula string
	// Role and Input name the value v ("repo-id" and R for sha256(R) and
	// for unsalted hashes of R).
	Role, Input string
	// Salted is true for the formulas that include R (sha256(R),
	// sha256(R.v), sha256(Rv)); false for an unsalted hash of a known
	// input, which breaks a salted-id promise.
	Salted bool
}

// Classify says which formula produced observed, if any; ok is false when
// none did. The salted formulas are tried before the unsalted ones, and
// roles in sorted order, so the answer is deterministic.
func Classify(observed string, in Inputs) (Match, bool) {
	obs := strings.ToLower(strings.TrimSpace(observed))
	if obs == "" {
		return Match{}, false
	}
	roles := sortedRoles(in.Values)
	if in.RepoID != "" {
		if hexOf(sha256.New(), in.RepoID) == obs {
			return Match{Formula: FormulaRepo, Role: RoleRepoID, Input: in.RepoID, Salted: true}, true
		}
		for _, r := range roles {
			for _, v := range in.Values[r] {
				if hexOf(sha256.New(), in.RepoID+"."+v) == obs {
					return Match{Formula: FormulaDot, Role: r, Input: v, Salted: true}, true
				}
				if hexOf(sha256.New(), in.RepoID+v) == obs {
					return Match{Formula: FormulaConcat, Role: r, Input: v, Salted: true}, true
				}
			}
		}
	}
	var formula string
	var h func() hash.Hash
	switch len(obs) {
	case 32:
		formula, h = FormulaMD5, md5.New
	case 40:
		formula, h = FormulaSHA1, sha1.New
	case 64:
		formula, h = FormulaSHA256Raw, sha256.New
	case 128:
		formula, h = FormulaSHA512, sha512.New
	default:
		return Match{}, false
	}
	if in.RepoID != "" && hexOf(h(), in.RepoID) == obs {
		return Match{Formula: formula, Role: RoleRepoID, Input: in.RepoID}, true
	}
	for _, r := range roles {
		for _, v := range in.Values[r] {
			if hexOf(h(), v) == obs {
				return Match{Formula: formula, Role: r, Input: v}, true
			}
		}
	}
	return Match{}, false
}

// Expected returns the ids the promise allows for role, given in: sha256(R)
// for RoleRepoID, else sha256(R.v) and sha256(Rv) for each value of role.
// A judge can use it to say what it expected in a finding.
func Expected(role string, in Inputs) []string {
	if in.RepoID == "" {
		return nil
	}
	if role == RoleRepoID {
		return []string{hexOf(sha256.New(), in.RepoID)}
	}
	var out []string
	for _, v := range in.Values[role] {
		out = append(out, hexOf(sha256.New(), in.RepoID+"."+v), hexOf(sha256.New(), in.RepoID+v))
	}
	return out
}

// IsSHA256Hex reports whether s is 64 lower-case hex digits.
func IsSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func hexOf(h hash.Hash, s string) string {
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

func sortedRoles(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
