package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Telling HTTP/1.x from anything else at the start of a tunnel, and reading one request head.

// sniffHTTP1 decides whether the tunnel carries HTTP/1.x by its first
// line, reading no more than needed.
func sniffHTTP1(br *bufio.Reader) (bool, string) {
	for {
		buf, _ := br.Peek(br.Buffered())
		switch v := requestLineVerdict(buf); v {
		case verdictYes:
			return true, ""
		case verdictNo:
			if bytes.HasPrefix(buf, []byte("PRI * HTTP/2")) {
				return false, "HTTP/2 connection preface (prior knowledge), not HTTP/1.x"
			}
			return false, fmt.Sprintf("not HTTP/1.x (first bytes %q)", buf[:min(len(buf), 16)])
		}
		if len(buf) >= maxFirstLine {
			return false, fmt.Sprintf("no HTTP/1.x request line in the first %d bytes", len(buf))
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			b, _ := br.Peek(br.Buffered())
			return false, fmt.Sprintf("tunnel ended inside its first line (first bytes %q)", b[:min(len(b), 16)])
		}
	}
}

type verdict int

const (
	verdictMore verdict = iota
	verdictYes
	verdictNo
)

// requestLineVerdict checks a prefix of the stream against
// "token SP target SP HTTP/1.d CRLF".
func requestLineVerdict(b []byte) verdict {
	i := 0
	for i < len(b) && isTokenChar(b[i]) {
		i++
	}
	if i == len(b) {
		return verdictMore
	}
	if i == 0 || b[i] != ' ' {
		return verdictNo
	}
	j := i + 1
	for j < len(b) && b[j] > ' ' && b[j] < 0x7f {
		j++
	}
	if j == len(b) {
		return verdictMore
	}
	if j == i+1 || b[j] != ' ' {
		return verdictNo
	}
	rest := b[j+1:]
	const proto = "HTTP/1."
	n := min(len(rest), len(proto))
	if string(rest[:n]) != proto[:n] {
		return verdictNo
	}
	if len(rest) <= len(proto) {
		return verdictMore
	}
	if rest[len(proto)] < '0' || rest[len(proto)] > '9' {
		return verdictNo
	}
	tail := rest[len(proto)+1:]
	switch {
	case len(tail) == 0:
		return verdictMore
	case tail[0] == '\n':
		return verdictYes
	case tail[0] != '\r':
		return verdictNo
	case len(tail) == 1:
		return verdictMore
	case tail[1] == '\n':
		return verdictYes
	}
	return verdictNo
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// errNoRequest is the normal end of a tunnel: it ended (or was closed)
// between requests.
var errNoRequest = errors.New("no further request")

// peekHead skips blank lines and returns a copy of the next request's
// header block, leaving it in br.
func peekHead(br *bufio.Reader) ([]byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errNoRequest, err)
		}
		if b[0] != '\r' && b[0] != '\n' {
			break
		}
		_, _ = br.ReadByte()
	}
	for {
		buf, _ := br.Peek(br.Buffered())
		if end, ok := headEnd(buf); ok {
			return append([]byte(nil), buf[:end]...), nil
		}
		if len(buf) >= br.Size() {
			return nil, fmt.Errorf("request head larger than %d bytes", br.Size())
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}
