package canary

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Canary is one planted value and the role it was planted in.
type Canary struct {
	Role  string `json:"role"`
	Value string `json:"value"`
}

// Kind is the shape of a generated value: what an ordinary value of the
// place it is planted in looks like. A tool that has read the harness's
// source must not be able to tell a planted value from a real one, so no
// kind carries a fixed marker; each is unique through its random content
// alone (at least 12 random letters, about 37 bits, often more).
type Kind string

// Kinds of generated values.
const (
	// KindWord is a lower-case word and two digits, "kaveromilasu42": a
	// user name, a command-line value, a DNS label.
	KindWord Kind = "word"
	// KindUser is a user name, the shape of KindWord.
	KindUser Kind = "user"
	// KindHost is a host name, "kavero-milasu-07".
	KindHost Kind = "host"
	// KindName is a package, task, goal, organisation or folder name,
	// "kavero-milasu" (valid for npm: lower-case, hyphens).
	KindName Kind = "name"
	// KindSnake is a name without hyphens, "kavero_milasu" (a Python
	// target or identifier).
	KindSnake Kind = "snake"
	// KindEnvName is a variable name, "KAVERO_MILASU".
	KindEnvName Kind = "env-name"
	// KindToken is a secret, 32 letters and digits of either case.
	KindToken Kind = "token"
	// KindProper is a capitalised word, "Kaveromilasu", that starts an
	// error or commit message as a product or component name would.
	KindProper Kind = "proper"
)

// KindOf picks the kind for a role from its name, so that policies need
// not say it: user, home and author are user names, host a host name,
// token, secret and env roles are tokens, messages start with a proper
// name, targets are snake case, keys are variable names, goals, tasks,
// packages, organisations, folders and config values are names, anything
// else a word.
func KindOf(role string) Kind {
	r := strings.ToLower(role)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(r, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("token", "secret", "password") || r == "env-value" || strings.HasSuffix(r, "-env"):
		return KindToken
	case has("user", "home", "author"):
		return KindUser
	case has("host"):
		return KindHost
	case has("message", "error"):
		return KindProper
	case has("target"):
		return KindSnake
	case has("key"):
		return KindEnvName
	case has("goal", "task", "package", "name", "dep", "org", "path", "dir", "folder", "value"):
		return KindName
	}
	return KindWord
}

// Generate makes a fresh canary for role, of the kind KindOf(role) names.
func Generate(role string) Canary { return GenerateKind(role, KindOf(role)) }

// GenerateKind makes a fresh canary of kind k for role. Values come from
// crypto/rand: pronounceable syllables (consonant and vowel, 70 of them,
// about 6.1 bits each) so that they read as names, or letters and digits
// for tokens. An unknown kind is treated as KindWord.
func GenerateKind(role string, k Kind) Canary {
	var v string
	switch k {
	case KindHost:
		v = word(3) + "-" + word(3) + "-" + digits(2)
	case KindName:
		v = word(3) + "-" + word(3)
	case KindSnake:
		v = word(3) + "_" + word(3)
	case KindEnvName:
		v = strings.ToUpper(word(3) + "_" + word(3))
	case KindToken:
		v = pick(tokenAlphabet, 32)
	case KindProper:
		w := word(6)
		v = strings.ToUpper(w[:1]) + w[1:]
	default:
		v = word(6) + digits(2)
	}
	return Canary{Role: role, Value: v}
}

const (
	consonants    = "bdfgklmnprstvz"
	vowels        = "aeiou"
	tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// word is n random consonant-vowel syllables.
func word(n int) string {
	c, v := pick(consonants, n), pick(vowels, n)
	b := make([]byte, 0, 2*n)
	for i := range n {
		b = append(b, c[i], v[i])
	}
	return string(b)
}

func digits(n int) string { return pick("0123456789", n) }

// pick draws n characters of alphabet, each equally likely (rejection
// sampling over crypto/rand bytes).
func pick(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:]) // never fails since Go 1.24
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// ReadFile reads canaries.json: [{"role": "user", "value": "..."}].
func ReadFile(path string) ([]Canary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read canaries: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var cs []Canary
	if err := dec.Decode(&cs); err != nil {
		return nil, fmt.Errorf("read canaries %s: %w (want [{\"role\": \"user\", \"value\": \"kaveromilasu42\"}])", path, err)
	}
	for i, c := range cs {
		if c.Role == "" || c.Value == "" {
			return nil, fmt.Errorf("read canaries %s: entry %d: role and value must both be set", path, i)
		}
	}
	return cs, nil
}

// WriteFile writes canaries.json, readable by the owner only: canaries stand
// in for personal data. The runner writes it only once the tool's last
// process is gone (a tool that could read it could swap a value for a
// decoy).
func WriteFile(path string, cs []Canary) error {
	if cs == nil {
		cs = []Canary{}
	}
	data, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return fmt.Errorf("write canaries %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write canaries: %w", err)
	}
	return nil
}
