package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// Bounds on what a chunked body's framing may carry besides data: the
// same order as a request head. Past them the framing is an error (the
// body is recorded as incomplete), never silently dropped.
const (
	maxChunkLine    = 64 << 10 // one chunk-size line, extension included
	maxChunkFraming = 1 << 20  // every extension and trailer of one body
)

// chunkBody reads a chunked request body from the connection itself,
// instead of net/http's reader, which drops chunk extensions: a tool can
// put data there (`5;user=alice`), so the harness keeps them, with the
// trailer fields, to be judged like headers.
type chunkBody struct {
	r        *bufio.Reader
	left     int64 // data bytes left in the current chunk
	started  bool
	done     bool
	err      error
	framing  int // bytes of extensions and trailers kept
	exts     []string
	trailers []capture.Header
}

func newChunkBody(r *bufio.Reader) *chunkBody { return &chunkBody{r: r} }

// isChunked reports whether req's body is chunked (http.ReadRequest
// accepts chunked only as the last coding, so this is the whole test).
func isChunked(req *http.Request) bool {
	return len(req.TransferEncoding) > 0 && strings.EqualFold(req.TransferEncoding[len(req.TransferEncoding)-1], "chunked")
}

func (c *chunkBody) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.done {
			return 0, io.EOF
		}
		c.err = c.next()
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.r.Read(p[:min(int64(len(p)), c.left)])
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

func (c *chunkBody) Close() error { return nil }

// next reads the CRLF ending the previous chunk's data, then a chunk-size
// line; at the last chunk (size 0) it reads the trailer section.
func (c *chunkBody) next() error {
	if c.started {
		if crlf, err := c.line(); err != nil {
			return err
		} else if crlf != "" {
			return errors.New("chunked body: chunk data not followed by CRLF")
		}
	}
	c.started = true
	line, err := c.line()
	if err != nil {
		return err
	}
	sizeText, ext, hasExt := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimRight(sizeText, " \t"), 16, 64)
	if err != nil || size < 0 {
		return fmt.Errorf("chunked body: bad chunk size %q", sizeText)
	}
	if hasExt {
		if err := c.keep(len(ext)); err != nil {
			return err
		}
		c.exts = append(c.exts, ext)
	}
	if size > 0 {
		c.left = size
		return nil
	}
	tp := textproto.NewReader(c.r)
	for {
		l, err := tp.ReadLine()
		if err != nil {
			return fmt.Errorf("chunked body: trailer section: %w", unexpected(err))
		}
		if l == "" {
			c.done = true
			return nil
		}
		if err := c.keep(len(l)); err != nil {
			return err
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return fmt.Errorf("chunked body: trailer line without a colon (%d bytes)", len(l))
		}
		c.trailers = append(c.trailers, capture.Header{Name: name, Value: strings.TrimSpace(value)})
	}
}

func (c *chunkBody) keep(n int) error {
	c.framing += n
	if c.framing > maxChunkFraming {
		return fmt.Errorf("chunked body: chunk extensions and trailers exceed %d bytes", maxChunkFraming)
	}
	return nil
}

// line reads one CRLF- (or LF-) terminated line of at most maxChunkLine
// bytes, without its end.
func (c *chunkBody) line() (string, error) {
	var b []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > maxChunkLine {
			return "", fmt.Errorf("chunked body: a framing line longer than %d bytes", maxChunkLine)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", fmt.Errorf("chunked body: %w", unexpected(err))
		}
	}
	return string(bytes.TrimRight(b, "\r\n")), nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// trailersOf lists trailer fields net/http parsed (the plain proxy path,
// where the server reads the body): names sorted, as wire order is lost.
func trailersOf(t http.Header) []capture.Header {
	return mapHeaders(t, "")
}
