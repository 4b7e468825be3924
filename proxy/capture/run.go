package capture

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// RunFacts holds the facts of one recorded command run, written to run.json next
// to the capture.
type RunFacts struct {
	// Argv is the command as executed (never through a shell).
	Argv []string `json:"argv"`
	// Dir is the working directory the command ran in.
	Dir string `json:"dir,omitempty"`
	// EnvKeys lists the names (not values) of the environment given to it.
	EnvKeys []string `json:"env_keys,omitempty"`
	// Start is when the command was started.
	Start time.Time `json:"start"`
	// MainExit is when the command itself (not its descendants) exited.
	MainExit time.Time `json:"main_exit"`
	// End is when recording stopped (no descendant alive, no connection
	// open, or timeout).
	End time.Time `json:"end"`
	// ExitCode is the command's exit status; -1 when it died by a signal or
	// could not be started.
	ExitCode int `json:"exit_code"`
	// Signal names the signal that ended the command, if any.
	Signal string `json:"signal,omitempty"`
	// TimedOut is true when the run hit its timeout.
	TimedOut bool `json:"timed_out,omitempty"`
	// Killed lists processes the harness had to kill, and why.
	Killed []Killed `json:"killed,omitempty"`
	// Exchanges is the number of exchanges recorded.
	Exchanges int64 `json:"exchanges"`
	// Forward is true when requests were forwarded to the real hosts.
	Forward bool `json:"forward,omitempty"`
	// Error is a harness error that ended the run early, if any.
	Error string `json:"error,omitempty"`
	// Host is the host facts the run was given and whether they could be
	// applied; nil when the run pinned none (the host's own showed).
	Host *Host `json:"host,omitempty"`
	// Integrity is the capture's integrity chain while the recorder holds
	// it (session.Options.HoldEvidence); never written to run.json.
	Integrity *Integrity `json:"-"`
}

// Killed is a process the harness killed at the end of a run.
type Killed struct {
	PID    int      `json:"pid"`
	Argv   []string `json:"argv,omitempty"`
	Reason string   `json:"reason"`
}

// Duration is how long the command itself ran (start to main exit).
func (r *RunFacts) Duration() time.Duration { return r.MainExit.Sub(r.Start) }

// WriteRun writes run.json into dir.
func WriteRun(dir string, r *RunFacts) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run facts: %w", err)
	}
	p := filepath.Join(dir, RunName)
	if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write run facts: %w", err)
	}
	return nil
}

// ReadRun reads run.json from dir.
func ReadRun(dir string) (*RunFacts, error) {
	p := filepath.Join(dir, RunName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read run facts: %w", err)
	}
	var r RunFacts
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read run facts %s: %w", p, err)
	}
	return &r, nil
}
