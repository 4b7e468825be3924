package capture

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Record is one line of a JSON Lines capture.
type Record struct {
	// Type is "exchange" or "response".
	Type string `json:"type"`
	// Exchange is set for Type "exchange".
	Exchange *Exchange `json:"exchange,omitempty"`
	// Seq and Response are set for Type "response".
	Seq      int64     `json:"seq,omitempty"`
	Response *Response `json:"response,omitempty"`
}

// Record types.
const (
	RecordExchange = "exchange"
	RecordResponse = "response"
)

// Writer appends records to a JSON Lines file. An exchange record is
// written (one write(2), no fsync) before Exchange returns, so a process
// killed at any moment leaves every recorded request readable. Response
// records are queued and written together with the next exchange record in
// the same write(2), or at most responseFlushDelay later, or by Flush or
// Close: answering a request then costs no write of its own, and a kill
// loses at most the responses of the last few milliseconds, never a
// request. It is safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	path string
	n    int64
	err  error

	// pending holds encoded response records not yet written; pendingN
	// counts them. timer flushes them when no exchange comes along.
	pending  []byte
	pendingN int64
	timer    *time.Timer

	// bufs pools the buffers records are encoded into: a record holds
	// whole bodies (base64), so a fresh buffer per record is a large
	// allocation.
	bufs sync.Pool

	// key and chain are the capture's integrity chain (see IntegrityName),
	// kept in memory until Close writes integrity.json, or, when hold is
	// set, hands them to the caller (integrity).
	key       []byte
	chain     *chain
	hold      bool
	integrity *Integrity
}

// HoldIntegrity makes Close keep the integrity chain in memory (Integrity)
// instead of writing integrity.json: for a caller that runs several tools
// and writes every run's chain only once all of them are gone, since a tool
// of a later run could otherwise read an earlier run's key.
func (w *Writer) HoldIntegrity() {
	w.mu.Lock()
	w.hold = true
	w.mu.Unlock()
}

// Integrity is the capture's integrity chain once the Writer is closed; nil
// before.
func (w *Writer) Integrity() *Integrity {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.integrity
}

const (
	// responseFlushDelay bounds how long a response record waits for an
	// exchange record to share its write.
	responseFlushDelay = 10 * time.Millisecond
	// maxPending flushes queued responses at once beyond this many bytes.
	maxPending = 256 << 10
)

// Create creates (or truncates) a JSON Lines capture at path with mode 0600:
// it holds exact bytes, credentials included. Every line is chained with a
// MAC under a key drawn here; Close writes key and chain to integrity.json
// beside the capture (see IntegrityName), so close the Writer only once the
// recorded tool is gone. A stale integrity.json is removed first.
func Create(path string) (*Writer, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	stale := filepath.Join(filepath.Dir(path), IntegrityName)
	if err := os.Remove(stale); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("create capture %s: remove stale %s: %w", path, IntegrityName, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create capture %s: %w", path, err)
	}
	return &Writer{f: f, path: path, key: key, chain: newChain(key)}, nil
}

// Path is the file being written.
func (w *Writer) Path() string { return w.path }

// Exchange writes an exchange record, together with any queued response
// records, before it returns.
func (w *Writer) Exchange(ex *Exchange) error {
	buf, err := w.encode(Record{Type: RecordExchange, Exchange: ex})
	if err != nil {
		return err
	}
	defer w.putBuf(buf)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if len(w.pending) == 0 {
		return w.writeLocked(buf.Bytes(), 1)
	}
	w.pending = append(w.pending, buf.Bytes()...)
	w.pendingN++
	return w.flushLocked()
}

// Response queues the response of exchange seq; see Writer for when it
// reaches the file.
func (w *Writer) Response(seq int64, r *Response) error {
	buf, err := w.encode(Record{Type: RecordResponse, Seq: seq, Response: r})
	if err != nil {
		return err
	}
	defer w.putBuf(buf)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	w.pending = append(w.pending, buf.Bytes()...)
	w.pendingN++
	if len(w.pending) >= maxPending {
		return w.flushLocked()
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(responseFlushDelay, w.flushQueued)
	}
	return nil
}

// Flush writes the queued response records now. After Close there is
// nothing left to flush.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	if w.err != nil {
		return w.err
	}
	return w.flushLocked()
}

func (w *Writer) flushQueued() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = nil
	if w.usable() == nil {
		// A failure is kept in w.err and returned by the next call.
		_ = w.flushLocked()
	}
}

// Count is the number of records accepted (written or queued).
func (w *Writer) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n + w.pendingN
}

func (w *Writer) encode(r Record) (*bytes.Buffer, error) {
	buf, _ := w.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	// Encode appends the newline that ends the line.
	if err := json.NewEncoder(buf).Encode(r); err != nil {
		w.putBuf(buf)
		return nil, fmt.Errorf("encode capture record: %w", err)
	}
	return buf, nil
}

// putBuf keeps a buffer for reuse unless one huge body grew it.
func (w *Writer) putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPending {
		w.bufs.Put(b)
	}
}

func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		return fmt.Errorf("write capture %s: writer closed", w.path)
	}
	return nil
}

func (w *Writer) flushLocked() error {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if len(w.pending) == 0 {
		return nil
	}
	err := w.writeLocked(w.pending, w.pendingN)
	w.pendingN = 0
	if cap(w.pending) > 4*maxPending {
		w.pending = nil // one huge body must not pin its buffer
	} else {
		w.pending = w.pending[:0]
	}
	return err
}

// writeLocked writes whole lines in one write(2): the page cache makes
// them durable against the harness being killed; fsync would only add
// safety against power loss.
func (w *Writer) writeLocked(lines []byte, records int64) error {
	if _, err := w.f.Write(lines); err != nil {
		w.err = fmt.Errorf("write capture %s: %w", w.path, err)
		return w.err
	}
	w.chain.add(lines)
	w.n += records
	return nil
}

// Close writes the queued response records and closes the file. Further
// writes fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	var ferr error
	if w.err == nil {
		ferr = w.flushLocked()
	}
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	err := w.f.Close()
	w.f = nil
	// What was written is chained, also after a failed write (whose
	// partial line then shows as not recorded).
	w.integrity = &Integrity{
		Version: 1, Algorithm: IntegrityAlgorithm, Key: hex.EncodeToString(w.key),
		Files: []IntegrityFile{{Name: filepath.Base(w.path), Kind: integrityChain, Chain: w.chain.macs}},
	}
	var ierr error
	if !w.hold {
		ierr = WriteIntegrity(filepath.Dir(w.path), w.integrity)
	}
	// A write that failed earlier (disk full) was only returned to its
	// caller, which may have logged it and gone on: Close reports it
	// again, so that the recording ends in an error, never a capture
	// that silently lacks records.
	if w.err != nil {
		return errors.Join(w.err, ierr)
	}
	if ferr != nil {
		return errors.Join(ferr, ierr)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("close capture %s: %w", w.path, err), ierr)
	}
	return ierr
}

// ErrTruncated marks a capture whose last line was cut (a writer killed
// mid-write); the records before it were read.
var ErrTruncated = errors.New("last line incomplete")

// maxLine bounds one JSONL line (bodies are base64 inside it).
const maxLine = 512 << 20

// ReadJSONL reads a JSON Lines capture and merges responses into their
// exchanges, in sequence order. A final line without its newline that does
// not parse (a writer killed mid-line) is dropped and reported by returning
// the exchanges read together with an error wrapping ErrTruncated; any other
// malformed line is an error naming its line number.
func ReadJSONL(r io.Reader, name string) ([]*Exchange, error) {
	var out []*Exchange
	err := ScanJSONL(r, name, func(ex *Exchange) error {
		out = append(out, ex)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, err
}

// ScanJSONL streams a JSON Lines capture: fn is called once per exchange,
// with its response merged, as soon as the exchange is complete: an HTTP or
// WebSocket exchange when its response record arrives, a tunnel record
// (which never gets a response) at once, and exchanges still waiting for a
// response at the end of the file (the writer was killed) last, in
// sequence order. Memory is bounded by the exchanges awaiting a response
// (the requests in flight while recording), not by the capture. The order
// is thus completion order, which for concurrent clients differs from
// sequence order; ReadJSONL sorts. Errors are those of ReadJSONL, with fn's
// error returned as is.
//
// fn is always called on the caller's goroutine, one exchange at a time.
// When r is a regular *os.File (as ScanFile and Load pass), lines are read
// ahead and decoded on up to GOMAXPROCS (at most 4) goroutines, a few MiB
// in flight, and merged back in file order, so the result is the same; all
// have ended when ScanJSONL returns. Any other reader (a pipe from a live
// recording) is read and decoded line by line, so an exchange is handed
// over as soon as its line can be read. Records shaped as the Writer
// writes them are decoded without encoding/json; anything else goes
// through it, with the same result.
func ScanJSONL(r io.Reader, name string, fn func(*Exchange) error) error {
	return scanJSONL(r, name, fn, defaultScanConfig())
}

// seqSet holds the sequence numbers read: a bitmap for the dense 1..n the
// recorder writes (12.5 KB per 100,000), a map for anything else.
type seqSet struct {
	bits  []uint64
	other map[int64]bool
}

// maxDense bounds the bitmap (128 MiB of bits at most).
const maxDense = 1 << 30

func (s *seqSet) has(n int64) bool {
	if n >= 0 && n < maxDense {
		i := int(n / 64)
		return i < len(s.bits) && s.bits[i]&(1<<(n%64)) != 0
	}
	return s.other[n]
}

// add reports false when n was already there.
func (s *seqSet) add(n int64) bool {
	if s.has(n) {
		return false
	}
	if n >= 0 && n < maxDense {
		i := int(n / 64)
		for len(s.bits) <= i {
			s.bits = append(s.bits, 0)
		}
		s.bits[i] |= 1 << (n % 64)
		return true
	}
	if s.other == nil {
		s.other = map[int64]bool{}
	}
	s.other[n] = true
	return true
}

// ScanFile streams the exchanges of a capture to fn like ScanJSONL: path is
// a run folder, a .jsonl or a .har file, as for Load. A JSONL capture is
// streamed; a HAR file is read whole (its format is one JSON document) and
// then handed over exchange by exchange.
func ScanFile(path string, fn func(*Exchange) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("scan capture: %w", err)
	}
	j := path
	if st.IsDir() {
		if j, err = CaptureFile(path); err != nil {
			return err
		}
	}
	if !isJSONL(j) {
		exs, err := Load(j)
		for _, ex := range exs {
			if ferr := fn(ex); ferr != nil {
				return ferr
			}
		}
		return err
	}
	f, err := os.Open(j)
	if err != nil {
		return fmt.Errorf("scan capture: %w", err)
	}
	defer f.Close()
	return ScanJSONL(f, j, fn)
}

func isJSONL(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		return true
	}
	return false
}

// awaitsResponse says whether the recorder writes a response record for an
// exchange of this kind: tunnel records have none.
func awaitsResponse(k Kind) bool {
	return k != KindTunnelRejected && k != KindOpaqueTunnel
}
