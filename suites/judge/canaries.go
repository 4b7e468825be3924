package judge

import (
	"encoding/json"
	"fmt"
	"os"
)

// Canary is one planted value and its role (docs/contract.md).
// TODO(canary): alias canary.Canary once suites/canary lands.
type Canary struct {
	Role  string `json:"role"`
	Value string `json:"value"`
}

// ReadCanaries reads a canaries.json file.
func ReadCanaries(path string) ([]Canary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read canaries: %w", err)
	}
	var cs []Canary
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("read canaries %s: %w", path, err)
	}
	return cs, nil
}
