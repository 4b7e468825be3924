package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
)

// wsRecorder reads WebSocket frames from one direction of an upgraded
// connection and records every message (fragments joined, unmasked) as
// an exchange of kind websocket-message, so that what a tool sends after
// an upgrade is judged like a request body. Control frames other than
// close carry no application data and are not recorded.
type wsRecorder struct {
	p          *Proxy
	up         *capture.Exchange // the upgrade request
	fromServer bool
	msg        []byte
	size       int64
	opcode     byte
	trunc      bool
}

// read consumes frames from r until it ends; each frame's bytes are also
// written to w when w is not nil (forward mode). It returns why it
// stopped: io.EOF for a clean end.
func (wr *wsRecorder) read(r *bufio.Reader, w io.Writer) error {
	var hdr [14]byte
	for {
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			return err
		}
		n := 2
		fin, op := hdr[0]&0x80 != 0, hdr[0]&0x0f
		masked := hdr[1]&0x80 != 0
		length := int64(hdr[1] & 0x7f)
		switch length {
		case 126:
			if _, err := io.ReadFull(r, hdr[2:4]); err != nil {
				return unexpected(err)
			}
			length, n = int64(binary.BigEndian.Uint16(hdr[2:4])), 4
		case 127:
			if _, err := io.ReadFull(r, hdr[2:10]); err != nil {
				return unexpected(err)
			}
			length, n = int64(binary.BigEndian.Uint64(hdr[2:10])), 10
			if length < 0 {
				return errors.New("websocket frame length overflows")
			}
		}
		var key []byte
		if masked {
			if _, err := io.ReadFull(r, hdr[n:n+4]); err != nil {
				return unexpected(err)
			}
			key, n = hdr[n:n+4], n+4
		}
		if w != nil {
			if _, err := w.Write(hdr[:n]); err != nil {
				return err
			}
		}
		if err := wr.payload(r, w, length, key, op); err != nil {
			return err
		}
		if op == wsText || op == wsBinary {
			wr.opcode = op
		}
		if fin && (op == wsText || op == wsBinary || op == wsContinuation || op == wsClose) {
			wr.flush(op == wsClose)
		}
		if op == wsClose {
			return io.EOF
		}
	}
}

// payload reads one frame's payload, unmasks it and keeps it (up to the
// proxy's MaxBody per message; the rest is counted).
func (wr *wsRecorder) payload(r *bufio.Reader, w io.Writer, length int64, key []byte, op byte) error {
	keep := op == wsText || op == wsBinary || op == wsContinuation || op == wsClose
	buf := make([]byte, 32<<10)
	var off int64
	for off < length {
		chunk := buf[:min(int64(len(buf)), length-off)]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return unexpected(err)
		}
		if w != nil {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		if keep {
			data := chunk
			if key != nil {
				data = append([]byte(nil), chunk...)
				for i := range data {
					data[i] ^= key[(off+int64(i))%4]
				}
			}
			wr.size += int64(len(data))
			if room := wr.p.opts.MaxBody - int64(len(wr.msg)); room > 0 {
				wr.msg = append(wr.msg, data[:min(int64(len(data)), room)]...)
			} else {
				wr.trunc = true
			}
		}
		off += int64(len(chunk))
	}
	return nil
}

// flush records the message gathered so far; a close frame is recorded
// only when it carries a reason (its bytes are the tool's too).
func (wr *wsRecorder) flush(isClose bool) {
	defer func() { wr.msg, wr.size, wr.trunc, wr.opcode = nil, 0, false, 0 }()
	if isClose && wr.size <= 2 {
		return
	}
	what := "text"
	switch {
	case isClose:
		what = "close"
	case wr.opcode == wsBinary:
		what = "binary"
	}
	from := "client"
	if wr.fromServer {
		from = "server"
	}
	up := wr.up
	ex := &capture.Exchange{
		Kind: capture.KindWebSocketMessage, Path: up.Path, Conn: up.Conn, Host: up.Host, TLS: up.TLS, URL: up.URL,
		Parent: up.Seq, FromServer: wr.fromServer,
		Body: capture.Body{Raw: wr.msg, Size: wr.size, RawTruncated: wr.trunc},
		Note: fmt.Sprintf("WebSocket %s message from the %s on exchange #%d", what, from, up.Seq),
	}
	wr.p.record(ex)
}
