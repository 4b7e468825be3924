package capture

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// IntegrityName is the file, in a run folder, that lets check and replay
// prove the capture is the one the recorder wrote.
//
// The tool under test may have read the harness's source and may run as the
// same user: while it runs it could edit capture.jsonl. So every line the
// Writer writes is chained with HMAC-SHA256 under a key drawn per capture
// in the harness process: mac(i) = HMAC(key, mac(i-1) || line i, newline
// included), mac(0) = 32 zero bytes. The key and the list of MACs stay in
// the harness's memory and reach integrity.json only when the Writer is
// closed, which the recorder does after the tool's last process is gone: a
// tool can then neither read the key nor forge a MAC. A changed, inserted,
// removed or reordered line breaks the chain at that line; lines cut off at
// the end or appended show as a count that differs.
//
// Files written whole after the run (capture.har) get one MAC of the whole
// file under the same key. The key in the file protects nothing once the
// run is over (whoever holds the run folder may rewrite both): the chain
// is a statement about the tool's reach, not a signature.
const IntegrityName = "integrity.json"

// Integrity is integrity.json.
type Integrity struct {
	// Version is 1.
	Version int `json:"version"`
	// Algorithm is IntegrityAlgorithm.
	Algorithm string `json:"algorithm"`
	// Key is the hex HMAC key, drawn per capture.
	Key string `json:"key"`
	// Files are the files covered, by base name.
	Files []IntegrityFile `json:"files"`
}

// IntegrityFile is one covered file: Chain for a JSONL capture (one MAC per
// line), MAC for a file covered whole.
type IntegrityFile struct {
	Name string `json:"name"`
	// Kind is "chain" (Chain holds one MAC per line) or "file" (MAC).
	Kind  string   `json:"kind"`
	Chain []string `json:"chain,omitempty"`
	MAC   string   `json:"mac,omitempty"`
}

// Kinds of IntegrityFile.
const (
	integrityChain = "chain"
	integrityFile  = "file"
)

// IntegrityAlgorithm names the scheme of integrity.json version 1.
const IntegrityAlgorithm = "HMAC-SHA256 chain over lines"

// ErrNoIntegrity is wrapped when a capture has no integrity chain (recorded
// before captures were chained, or not by the harness): it may be judged,
// but never called compliant.
var ErrNoIntegrity = errors.New("no integrity chain")

// ErrIntegrity is wrapped when a capture does not match its chain: it was
// changed after the recorder wrote it. That is a harness error: the
// evidence cannot be trusted either way.
var ErrIntegrity = errors.New("capture does not match its integrity chain")

// chain computes the MACs of a JSONL file line by line.
type chain struct {
	mac  hash.Hash
	prev []byte
	macs []string
}

func newChain(key []byte) *chain {
	return &chain{mac: hmac.New(sha256.New, key), prev: make([]byte, sha256.Size)}
}

// line adds one line (with its newline) and returns its MAC.
func (c *chain) line(b []byte) []byte {
	c.mac.Reset()
	c.mac.Write(c.prev)
	c.mac.Write(b)
	c.prev = c.mac.Sum(c.prev[:0])
	return c.prev
}

// add adds every complete line of lines (the Writer writes whole lines).
func (c *chain) add(lines []byte) {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		if i < 0 {
			i = len(lines) - 1
		}
		c.macs = append(c.macs, hex.EncodeToString(c.line(lines[:i+1])))
		lines = lines[i+1:]
	}
}

func newKey() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("draw capture key: %w", err)
	}
	return key, nil
}

// WriteIntegrity writes integrity.json into dir with mode 0600. Call it only
// once no tool that could read dir runs any more.
func WriteIntegrity(dir string, in *Integrity) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s: %w", IntegrityName, err)
	}
	p := filepath.Join(dir, IntegrityName)
	if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", IntegrityName, err)
	}
	return nil
}

// ReadIntegrity reads integrity.json from dir; the error wraps
// fs.ErrNotExist when there is none.
func ReadIntegrity(dir string) (*Integrity, error) {
	p := filepath.Join(dir, IntegrityName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", IntegrityName, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var in Integrity
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("read %s: %w (the recorder writes it; re-record the run)", p, err)
	}
	if in.Version != 1 || in.Algorithm != IntegrityAlgorithm {
		return nil, fmt.Errorf("read %s: version %d, algorithm %q: want version 1, %q (written by another harness version?)", p, in.Version, in.Algorithm, IntegrityAlgorithm)
	}
	if k, err := hex.DecodeString(in.Key); err != nil || len(k) < 16 {
		return nil, fmt.Errorf("read %s: key: want at least 16 bytes in hex", p)
	}
	return &in, nil
}

// SealFile adds the MAC of dir/name, a file the harness wrote whole after
// the run, to dir's integrity.json (under the capture's key).
func SealFile(dir, name string) error {
	in, err := ReadIntegrity(dir)
	if err != nil {
		return fmt.Errorf("seal %s: %w", name, err)
	}
	if err := in.Seal(dir, name); err != nil {
		return err
	}
	return WriteIntegrity(dir, in)
}

// Seal adds the MAC of dir/name, a file the harness wrote whole after the
// run, to in (under its key), replacing an earlier one.
func (in *Integrity) Seal(dir, name string) error {
	mac, err := fileMAC(in, filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("seal %s: %w", name, err)
	}
	files := make([]IntegrityFile, 0, len(in.Files)+1)
	for _, f := range in.Files {
		if f.Name != name {
			files = append(files, f)
		}
	}
	in.Files = append(files, IntegrityFile{Name: name, Kind: integrityFile, MAC: mac})
	return nil
}

func fileMAC(in *Integrity, path string) (string, error) {
	key, _ := hex.DecodeString(in.Key)
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	m := hmac.New(sha256.New, key)
	if _, err := io.Copy(m, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(m.Sum(nil)), nil
}

// Verify checks a capture file (a .jsonl or .har; for a run folder its
// capture.jsonl, else capture.har) against the integrity.json beside it.
// nil means every line is the recorder's. The error wraps ErrNoIntegrity
// when there is nothing to check against (no integrity.json, or it does
// not cover the file), ErrIntegrity when the file does not match (naming
// the file and its first bad line), and is another error when integrity.json
// or the capture cannot be read.
func Verify(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("verify capture: %w", err)
	}
	if st.IsDir() {
		p := filepath.Join(path, JSONLName)
		if _, err := os.Stat(p); err != nil {
			p = filepath.Join(path, HARName)
		}
		path = p
	}
	dir := filepath.Dir(path)
	in, err := ReadIntegrity(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w: %s has no %s (recorded before captures were chained, or not by the harness): the tool could have changed it while it ran", path, ErrNoIntegrity, dir, IntegrityName)
	}
	if err != nil {
		return fmt.Errorf("verify capture %s: %w", path, err)
	}
	return VerifyWith(path, in)
}

// VerifyWith is Verify against an integrity chain the caller holds (the
// recorder's, in memory) instead of the integrity.json beside the file.
func VerifyWith(path string, in *Integrity) error {
	dir, name := filepath.Dir(path), filepath.Base(path)
	var entry *IntegrityFile
	for i := range in.Files {
		if in.Files[i].Name == name {
			entry = &in.Files[i]
		}
	}
	if entry == nil {
		return fmt.Errorf("%s: %w: %s does not cover %s", path, ErrNoIntegrity, filepath.Join(dir, IntegrityName), name)
	}
	switch entry.Kind {
	case integrityChain:
		return verifyChain(in, entry, path)
	case integrityFile:
		mac, err := fileMAC(in, path)
		if err != nil {
			return fmt.Errorf("verify capture %s: %w", path, err)
		}
		if !hmac.Equal([]byte(mac), []byte(entry.MAC)) {
			return fmt.Errorf("%s: %w: the file was changed after it was written", path, ErrIntegrity)
		}
		return nil
	}
	return fmt.Errorf("verify capture %s: %s: files[%s].kind %q: want %q or %q", path, filepath.Join(dir, IntegrityName), name, entry.Kind, integrityChain, integrityFile)
}

func verifyChain(in *Integrity, entry *IntegrityFile, path string) error {
	key, _ := hex.DecodeString(in.Key)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify capture %s: %w", path, err)
	}
	defer f.Close()
	c := newChain(key)
	r := bufio.NewReaderSize(f, 256<<10)
	var want [sha256.Size]byte
	var long []byte
	for n := 1; ; n++ {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer (a large body): gather it.
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("verify capture %s: %w", path, err)
		}
		if len(line) == 0 {
			if n-1 != len(entry.Chain) {
				return fmt.Errorf("%s: %w: the file ends after line %d but %d lines were recorded (lines removed at the end)", path, ErrIntegrity, n-1, len(entry.Chain))
			}
			return nil
		}
		if n > len(entry.Chain) && line[len(line)-1] != '\n' {
			// A writer cut mid-line (a failed write) or a tool's append:
			// either way the line is not the recorder's.
			return fmt.Errorf("%s line %d: %w, %w: %d lines were recorded", path, n, ErrTruncated, ErrIntegrity, len(entry.Chain))
		}
		if n > len(entry.Chain) {
			return fmt.Errorf("%s line %d: %w: %d lines were recorded, this one was added after", path, n, ErrIntegrity, len(entry.Chain))
		}
		got := c.line(line)
		if _, err := hex.Decode(want[:], []byte(entry.Chain[n-1])); err != nil || !hmac.Equal(got, want[:]) {
			return fmt.Errorf("%s line %d: %w: the record was changed, inserted, removed or moved after it was recorded", path, n, ErrIntegrity)
		}
		// After io.EOF (a last line without its newline) the next read
		// returns nothing and ends the loop.
	}
}
