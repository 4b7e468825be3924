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

// Prefix starts every generated value, so a stray canary is recognisable in
// any log.
const Prefix = "cnry"

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// Generate makes a fresh canary for role: Prefix, up to four letters or
// digits of the role, and 10 random characters from crypto/rand, all
// lower-case, so the value is a valid Unix user name, host name label,
// folder name and goal name.
func Generate(role string) Canary {
	var tag strings.Builder
	for _, r := range strings.ToLower(role) {
		if tag.Len() == 4 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			tag.WriteRune(r)
		}
	}
	// Rejection sampling keeps the 36 characters equally likely.
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, 10)
	var buf [32]byte
	for len(out) < 10 {
		_, _ = rand.Read(buf[:]) // never fails since Go 1.24
		for _, b := range buf {
			if int(b) < limit && len(out) < 10 {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return Canary{Role: role, Value: Prefix + tag.String() + string(out)}
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
		return nil, fmt.Errorf("read canaries %s: %w (want [{\"role\": \"user\", \"value\": \"cnryuser0k3j9x8ab2\"}])", path, err)
	}
	for i, c := range cs {
		if c.Role == "" || c.Value == "" {
			return nil, fmt.Errorf("read canaries %s: entry %d: role and value must both be set", path, i)
		}
	}
	return cs, nil
}

// WriteFile writes canaries.json, readable by the owner only: canaries stand
// in for personal data.
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
