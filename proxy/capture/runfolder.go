package capture

import (
	"fmt"
	"os"
	"path/filepath"
)

// The run-folder contract (docs/contract.md): every file a run folder may
// hold is named here and only here, so the recorder, the scenario runner,
// the judge and replay cannot drift apart. Every file but the capture is
// optional.
const (
	// JSONLName is the capture as the proxy streams it; HARName the same
	// exchanges as HAR, written after the run (or the only capture of a
	// folder made by hand).
	JSONLName = "capture.jsonl"
	HARName   = "capture.har"
	// RunName holds the run facts (Run).
	RunName = "run.json"
	// StdoutName and StderrName are the tool's output.
	StdoutName = "stdout"
	StderrName = "stderr"
	// AttemptPrefix names the folders of a best-effort scenario's later
	// attempts: <out>/<scenario>/attempt-2, attempt-3, ...
	AttemptPrefix = "attempt-"
	// CanariesName holds the canaries the scenario planted.
	CanariesName = "canaries.json"
	// StateDir is a folder holding the tool's state files, one file per
	// policy state name, copied after the run.
	StateDir = "state"
	// A sealed run's egress summary (Egress), the packet capture and DNS
	// log the sealed namespace wrote, and the TLS key log (NSS format,
	// SSLKEYLOGFILE) with which Wireshark and tshark decrypt the capture's
	// connections to the proxy.
	EgressName = "egress.json"
	PcapName   = "packets.pcapng"
	DNSLogName = "dns.jsonl"
	KeyLogName = "sslkeys.log"
	// DifferentialDir, in a scenario folder, holds the differential runs
	// (run --differential): SameDir the rerun with identical inputs,
	// ReplacedDir the rerun with every planted value replaced, each laid
	// out like the scenario folder (one run folder, or one per named run).
	DifferentialDir = "differential"
	SameDir         = "same"
	ReplacedDir     = "replaced"
)

// CaptureFile is the capture file of path: path itself when it is a file;
// for a run folder its capture.jsonl, else its capture.har. The JSONL comes
// first because it is what the proxy wrote; the HAR is derived from it.
func CaptureFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("load capture: %w", err)
	}
	if !st.IsDir() {
		return path, nil
	}
	for _, name := range []string{JSONLName, HARName} {
		p := filepath.Join(path, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("load capture: %s holds neither %s nor %s", path, JSONLName, HARName)
}
