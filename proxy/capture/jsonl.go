package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
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

// Writer appends records to a JSON Lines file, one write per record, so a
// process killed at any moment leaves every complete line readable. It is
// safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	path string
	n    int64
	err  error
}

// Create creates (or truncates) a JSON Lines capture at path with mode 0600:
// it holds exact bytes, credentials included.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create capture %s: %w", path, err)
	}
	return &Writer{f: f, path: path}, nil
}

// Path is the file being written.
func (w *Writer) Path() string { return w.path }

// Exchange writes an exchange record.
func (w *Writer) Exchange(ex *Exchange) error {
	return w.write(Record{Type: RecordExchange, Exchange: ex})
}

// Response writes the response of exchange seq.
func (w *Writer) Response(seq int64, r *Response) error {
	return w.write(Record{Type: RecordResponse, Seq: seq, Response: r})
}

// Count is the number of records written.
func (w *Writer) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *Writer) write(r Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode capture record: %w", err)
	}
	line = append(line, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		return fmt.Errorf("write capture %s: writer closed", w.path)
	}
	// One write(2) per record: the page cache makes it durable against the
	// harness being killed; fsync would only add safety against power loss.
	if _, err := w.f.Write(line); err != nil {
		w.err = fmt.Errorf("write capture %s: %w", w.path, err)
		return w.err
	}
	w.n++
	return nil
}

// Close closes the file. Further writes fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close capture %s: %w", w.path, err)
	}
	return nil
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
	return out, err
}

// ScanJSONL streams a JSON Lines capture: fn is called once per exchange,
// with its response merged, in sequence order. Exchanges are held until the
// end of the file because a response may come many lines after its request;
// that keeps memory proportional to the capture, which is the price of the
// merge.
func ScanJSONL(r io.Reader, name string, fn func(*Exchange) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	bySeq := map[int64]*Exchange{}
	var order []int64
	var truncErr error
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if len(line) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read capture %s line %d: %w", name, lineNo, err)
		}
		complete := err == nil
		if len(bytes.TrimSpace(line)) == 0 {
			if !complete {
				break
			}
			continue
		}
		var rec Record
		if uerr := json.Unmarshal(line, &rec); uerr != nil {
			if !complete {
				truncErr = fmt.Errorf("capture %s line %d: %w (kept the %d records before it)", name, lineNo, ErrTruncated, lineNo-1)
				break
			}
			return fmt.Errorf("capture %s line %d: not a capture record: %w", name, lineNo, uerr)
		}
		switch rec.Type {
		case RecordExchange:
			if rec.Exchange == nil {
				return fmt.Errorf("capture %s line %d: exchange record without exchange", name, lineNo)
			}
			if _, dup := bySeq[rec.Exchange.Seq]; dup {
				return fmt.Errorf("capture %s line %d: exchange #%d recorded twice", name, lineNo, rec.Exchange.Seq)
			}
			bySeq[rec.Exchange.Seq] = rec.Exchange
			order = append(order, rec.Exchange.Seq)
		case RecordResponse:
			ex, ok := bySeq[rec.Seq]
			if !ok {
				return fmt.Errorf("capture %s line %d: response for unknown exchange #%d", name, lineNo, rec.Seq)
			}
			ex.Response = rec.Response
		default:
			return fmt.Errorf("capture %s line %d: unknown record type %q (want %q or %q)", name, lineNo, rec.Type, RecordExchange, RecordResponse)
		}
		if !complete {
			break
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	for _, s := range order {
		if err := fn(bySeq[s]); err != nil {
			return err
		}
	}
	return truncErr
}

// readLine returns one line without its newline; err is io.EOF when the
// line had no newline (possibly cut).
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == nil {
			return buf[:len(buf)-1], nil
		}
		return buf, err
	}
}
