package capture

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// JSONLName and HARName are the file names of a capture inside a run folder.
const (
	JSONLName = "capture.jsonl"
	HARName   = "capture.har"
)

// Load reads a capture from a run folder (its capture.jsonl, else its
// capture.har), a .jsonl file or a .har file. A JSONL capture cut mid-line
// returns what was read and an error wrapping ErrTruncated, so callers can
// decide whether a partial capture is acceptable.
func Load(path string) ([]*Exchange, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load capture: %w", err)
	}
	if st.IsDir() {
		j := filepath.Join(path, JSONLName)
		if _, err := os.Stat(j); err == nil {
			return Load(j)
		}
		h := filepath.Join(path, HARName)
		if _, err := os.Stat(h); err == nil {
			return Load(h)
		}
		return nil, fmt.Errorf("load capture: %s holds neither %s nor %s", path, JSONLName, HARName)
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
