package proxy

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// zstdMaxWindow bounds the zstd window a body may ask for, so a crafted
// frame header cannot make the decoder allocate gigabytes up front.
const zstdMaxWindow = 64 << 20

// DecodeBody undoes a Content-Encoding. encoding is the header value: one
// coding or a comma-separated stack in the order they were applied ("gzip,
// br" was gzipped, then brotli'd), undone in reverse. Supported: gzip (and
// x-gzip), deflate (zlib-wrapped as the RFC says, or raw as some clients
// send), br, zstd, identity. Every layer stops after limit bytes of output:
// decoded then holds the first limit bytes and truncated is true, with a nil
// error, so a decompression bomb costs at most limit bytes of memory per
// layer. limit <= 0 means no output is kept (truncated is true if there was
// any). err is set for an unknown coding or corrupt data; decoded then holds
// what was decoded before the fault.
func DecodeBody(encoding string, raw []byte, limit int64) (decoded []byte, truncated bool, err error) {
	codings := splitCodings(encoding)
	out := raw
	for i := len(codings) - 1; i >= 0; i-- {
		c := codings[i]
		var t bool
		out, t, err = decodeOne(c, out, limit)
		truncated = truncated || t
		if err != nil {
			if lim := max(limit, 0); int64(len(out)) > lim {
				// An unknown coding leaves the raw bytes: still never more
				// than limit.
				out, truncated = out[:lim], true
			}
			return out, truncated, fmt.Errorf("decode %s: %w", c, err)
		}
	}
	if int64(len(out)) > limit {
		// Identity only (or limit smaller than the raw body): keep the promise
		// that decoded never exceeds limit.
		lim := max(limit, 0)
		out, truncated = out[:lim], true
	}
	return out, truncated, nil
}

func splitCodings(encoding string) []string {
	var out []string
	for _, c := range strings.Split(encoding, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c != "" && c != "identity" {
			out = append(out, c)
		}
	}
	return out
}

func decodeOne(coding string, in []byte, limit int64) ([]byte, bool, error) {
	switch coding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(in))
		if err != nil {
			return nil, false, err
		}
		defer zr.Close()
		return readLimited(zr, limit)
	case "deflate":
		// RFC 9110 deflate is zlib-wrapped; many senders use raw DEFLATE.
		// A zlib header is two bytes whose big-endian value is a multiple
		// of 31 with method 8.
		if len(in) >= 2 && in[0]&0x0f == 8 && (uint16(in[0])<<8|uint16(in[1]))%31 == 0 {
			zr, err := zlib.NewReader(bytes.NewReader(in))
			if err == nil {
				defer zr.Close()
				return readLimited(zr, limit)
			}
		}
		fr := flate.NewReader(bytes.NewReader(in))
		defer fr.Close()
		return readLimited(fr, limit)
	case "br":
		return readLimited(brotli.NewReader(bytes.NewReader(in)), limit)
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(in),
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, false, err
		}
		// Close stops the decoder's goroutines.
		defer zr.Close()
		return readLimited(zr, limit)
	default:
		return in, false, fmt.Errorf("unsupported content coding %q (supported: gzip, deflate, br, zstd, identity)", coding)
	}
}

// readLimited reads at most limit bytes and reports whether more followed.
func readLimited(r io.Reader, limit int64) ([]byte, bool, error) {
	lim := max(limit, 0)
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(bufio.NewReader(r), lim+1))
	if err != nil && !errors.Is(err, io.EOF) {
		return buf.Bytes(), false, err
	}
	if n > lim {
		return buf.Bytes()[:lim], true, nil
	}
	return buf.Bytes(), false, nil
}
