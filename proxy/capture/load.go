package capture

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Load reads a capture from a run folder (its capture.jsonl, else its
// capture.har), a .jsonl file or a .har file. A JSONL capture cut mid-line
// returns what was read and an error wrapping ErrTruncated, so callers can
// decide whether a partial capture is acceptable.
func Load(path string) ([]*Exchange, error) {
	path, err := CaptureFile(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load capture: %w", err)
	}
	defer f.Close()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		return ReadJSONL(f, path)
	case ".har":
		return ReadHAR(f, path)
	default:
		return nil, fmt.Errorf("load capture %s: unknown format (want a run folder, .jsonl or .har)", path)
	}
}
