package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
)

// scanConfig tunes scanJSONL; tests shrink it to reach the edges.
type scanConfig struct {
	// maxLine bounds one line, newline included.
	maxLine int
	// workers decode lines in parallel when the input is a regular file;
	// 1 decodes on the caller's goroutine.
	workers int
	// chunk is how much a parallel reader reads at once (a batch of
	// lines), and the serial reader's buffer.
	chunk int
}

func defaultScanConfig() scanConfig {
	return scanConfig{maxLine: maxLine, workers: min(runtime.GOMAXPROCS(0), 4), chunk: 1 << 20}
}

// lineResult is one decoded line.
type lineResult struct {
	// complete is false for a last line without its newline.
	complete bool
	// blank is a line of white space only.
	blank bool
	rec   Record
	err   error
}

func decodeLine(line []byte, complete bool, in *interner) lineResult {
	res := lineResult{complete: complete}
	if len(bytes.TrimSpace(line)) == 0 {
		res.blank = true
		return res
	}
	res.err = decodeRecord(line, &res.rec, in)
	return res
}

func scanJSONL(r io.Reader, name string, fn func(*Exchange) error, cfg scanConfig) error {
	m := merger{name: name, fn: fn, waiting: map[int64]*Exchange{}}
	// Reading ahead on other goroutines is only safe when a read never
	// blocks for long (a pipe might wait forever for its writer after fn
	// stopped the scan) and nobody else reads r after we return: a regular
	// file, which ScanFile and Load always pass.
	bufSize := cfg.chunk
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			// A capture smaller than a chunk (most runs' captures) is not
			// worth the goroutines and their buffers.
			if cfg.workers > 1 && st.Size() >= int64(cfg.chunk) {
				return scanParallel(r, &m, cfg)
			}
			// Room for the whole file, and the rest if it grows.
			bufSize = int(min(st.Size()+4096, int64(bufSize)))
		}
	}
	return scanSerial(r, &m, bufSize, cfg)
}

// merger turns decoded lines, in file order, into exchanges handed to fn;
// see ScanJSONL for the order and the errors.
type merger struct {
	name string
	fn   func(*Exchange) error
	// waiting holds exchanges whose response has not been read yet; seen
	// every sequence number read, to report duplicates and strays.
	waiting  map[int64]*Exchange
	seen     seqSet
	truncErr error
}

// line takes line lineNo; stop ends the scan (then finish, unless err).
func (m *merger) line(lineNo int, res *lineResult) (stop bool, err error) {
	if res.blank {
		return !res.complete, nil
	}
	if res.err != nil {
		if !res.complete {
			m.truncErr = fmt.Errorf("capture %s line %d: %w (kept the %d records before it)", m.name, lineNo, ErrTruncated, lineNo-1)
			return true, nil
		}
		return true, fmt.Errorf("capture %s line %d: not a capture record: %w", m.name, lineNo, res.err)
	}
	rec := &res.rec
	switch rec.Type {
	case RecordExchange:
		ex := rec.Exchange
		if ex == nil {
			return true, fmt.Errorf("capture %s line %d: exchange record without exchange", m.name, lineNo)
		}
		if !m.seen.add(ex.Seq) {
			return true, fmt.Errorf("capture %s line %d: exchange #%d recorded twice", m.name, lineNo, ex.Seq)
		}
		if ex.Response != nil || !awaitsResponse(ex.Kind) {
			if err := m.fn(ex); err != nil {
				return true, err
			}
		} else {
			m.waiting[ex.Seq] = ex
		}
	case RecordResponse:
		ex, ok := m.waiting[rec.Seq]
		if !ok {
			if m.seen.has(rec.Seq) {
				return true, fmt.Errorf("capture %s line %d: second response for exchange #%d", m.name, lineNo, rec.Seq)
			}
			return true, fmt.Errorf("capture %s line %d: response for unknown exchange #%d", m.name, lineNo, rec.Seq)
		}
		delete(m.waiting, rec.Seq)
		ex.Response = rec.Response
		if err := m.fn(ex); err != nil {
			return true, err
		}
	default:
		return true, fmt.Errorf("capture %s line %d: unknown record type %q (want %q or %q)", m.name, lineNo, rec.Type, RecordExchange, RecordResponse)
	}
	return !res.complete, nil
}

// finish hands over the exchanges still waiting, in sequence order.
func (m *merger) finish() error {
	rest := make([]int64, 0, len(m.waiting))
	for s := range m.waiting {
		rest = append(rest, s)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	for _, s := range rest {
		if err := m.fn(m.waiting[s]); err != nil {
			return err
		}
	}
	return m.truncErr
}

func (m *merger) readErr(lineNo int, err error) error {
	return fmt.Errorf("read capture %s line %d: %w", m.name, lineNo, err)
}

func lineTooLong(limit int) error {
	return fmt.Errorf("line longer than %d bytes", limit)
}

// scanSerial reads and decodes on the caller's goroutine: an exchange is
// handed over as soon as its line is read, whatever r is.
func scanSerial(r io.Reader, m *merger, bufSize int, cfg scanConfig) error {
	br := bufio.NewReaderSize(r, bufSize)
	var in interner
	var scratch []byte
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br, &scratch, cfg.maxLine)
		if len(line) == 0 && errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return m.readErr(lineNo, err)
		}
		res := decodeLine(line, err == nil, &in)
		stop, err := m.line(lineNo, &res)
		if err != nil {
			return err
		}
		if stop {
			break
		}
	}
	return m.finish()
}

// readLine returns one line without its newline; err is io.EOF when the
// line had no newline (possibly cut). The line is valid until the next
// call: it is the reader's buffer, or scratch for a line longer than it.
func readLine(br *bufio.Reader, scratch *[]byte, limit int) ([]byte, error) {
	chunk, err := br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		if len(chunk) > limit {
			return nil, lineTooLong(limit)
		}
		if err == nil {
			return chunk[:len(chunk)-1], nil
		}
		return chunk, err
	}
	if cap(*scratch) > 16<<20 {
		*scratch = nil // one huge line must not stay pinned
	}
	buf := append((*scratch)[:0], chunk...)
	for {
		chunk, err = br.ReadSlice('\n')
		buf = append(buf, chunk...)
		*scratch = buf
		if len(buf) > limit {
			return nil, lineTooLong(limit)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == nil {
			return buf[:len(buf)-1], nil
		}
		return buf, err
	}
}

// batch is a run of whole lines read at once and decoded by one worker.
type batch struct {
	// first is the number of the first line.
	first int
	buf   []byte
	// ends[i] is the end of line i in buf (its newline excluded); line i
	// starts after line i-1's newline.
	ends []int
	// last says the final line has no newline (end of file).
	lastOpen bool
	// err is a read error (or an over-long line) at line first+len(ends).
	err  error
	res  []lineResult
	done chan struct{}
}

// scanParallel reads a regular file on one goroutine, decodes batches of
// lines on cfg.workers goroutines and merges them here in file order:
// the same results as scanSerial, with the decoding spread over cores.
// At most 2*workers+2 batches exist, so memory stays flat; every
// goroutine has ended when it returns.
func scanParallel(r io.Reader, m *merger, cfg scanConfig) error {
	n := 2*cfg.workers + 2
	free := make(chan *batch, n)
	for range n {
		free <- &batch{}
	}
	work := make(chan *batch, n)
	order := make(chan *batch, n)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1 + cfg.workers)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(work)
		readBatches(r, cfg, free, stop, func(b *batch) {
			// Neither channel can be full: n batches exist in all.
			b.done = make(chan struct{})
			order <- b
			work <- b
		})
	}()
	for range cfg.workers {
		go func() {
			defer wg.Done()
			var in interner
			for b := range work {
				select {
				case <-stop:
				default:
					b.decode(&in)
				}
				close(b.done)
			}
		}()
	}
	// Deferred, so that a panic in fn also ends every goroutine first.
	defer func() {
		close(stop)
		wg.Wait()
	}()
	return mergeBatches(m, order, free, cfg)
}

func (b *batch) decode(in *interner) {
	start := 0
	for i, end := range b.ends {
		open := b.lastOpen && i == len(b.ends)-1
		b.res = append(b.res, decodeLine(b.buf[start:end], !open, in))
		start = end + 1
	}
}

func mergeBatches(m *merger, order, free chan *batch, cfg scanConfig) error {
	for b := range order {
		<-b.done
		for i := range b.res {
			stop, err := m.line(b.first+i, &b.res[i])
			if err != nil {
				return err
			}
			if stop {
				return m.finish()
			}
		}
		if b.err != nil {
			return m.readErr(b.first+len(b.ends), b.err)
		}
		clear(b.res) // the exchanges are fn's now, not the pool's
		b.res = b.res[:0]
		if cap(b.buf) > 4*cfg.chunk {
			b.buf = nil // one huge line must not stay pinned
		}
		free <- b
	}
	return m.finish()
}

// readBatches reads r in chunks of cfg.chunk bytes and sends each run of
// whole lines as a batch; a line cut by the chunk's end moves on to the
// next batch, and a line longer than a chunk grows its batch's buffer.
func readBatches(r io.Reader, cfg scanConfig, free chan *batch, stop <-chan struct{}, send func(*batch)) {
	lineNo := 1
	var carry []byte // the start of a line the previous batch cut
	for {
		var b *batch
		select {
		case <-stop:
			return
		default:
		}
		select {
		case b = <-free:
		case <-stop:
			return
		}
		if need := len(carry) + cfg.chunk; cap(b.buf) < need {
			// With room to spare, so that the next line cut by a chunk's
			// end usually fits too, with no new buffer.
			b.buf = make([]byte, 0, need+need/4)
		}
		// copy is memmove: carry may lie in this very buffer.
		b.buf = b.buf[:len(carry)]
		copy(b.buf, carry)
		b.first, b.ends, b.lastOpen, b.err = lineNo, b.ends[:0], false, nil
		scanned, eof := 0, false
		for len(b.ends) == 0 && !eof && b.err == nil {
			if len(b.buf) == cap(b.buf) {
				grown := make([]byte, len(b.buf), 2*cap(b.buf))
				copy(grown, b.buf)
				b.buf = grown
			}
			nr, err := r.Read(b.buf[len(b.buf):cap(b.buf)])
			b.buf = b.buf[:len(b.buf)+nr]
			if err == io.EOF {
				eof = true
			} else if err != nil {
				b.err = err
			}
			// Split the new bytes into lines.
			start := 0
			if len(b.ends) > 0 {
				start = b.ends[len(b.ends)-1] + 1
			}
			for {
				i := bytes.IndexByte(b.buf[scanned:], '\n')
				if i < 0 {
					break
				}
				end := scanned + i
				if end+1-start > cfg.maxLine {
					b.err = lineTooLong(cfg.maxLine)
					break
				}
				b.ends = append(b.ends, end)
				start, scanned = end+1, end+1
			}
			if b.err != nil {
				break
			}
			scanned = len(b.buf)
			if len(b.buf)-start > cfg.maxLine {
				b.err = lineTooLong(cfg.maxLine)
			}
		}
		start := 0
		if len(b.ends) > 0 {
			start = b.ends[len(b.ends)-1] + 1
		}
		carry = b.buf[start:]
		if b.err == nil && eof && len(carry) > 0 {
			// The last line, without its newline.
			b.ends = append(b.ends, len(b.buf))
			b.lastOpen = true
			carry = nil
		}
		lineNo += len(b.ends)
		if len(b.ends) == 0 && b.err == nil {
			free <- b // empty file or end reached on a chunk boundary
			return
		}
		send(b)
		if b.err != nil || eof {
			return
		}
	}
}
