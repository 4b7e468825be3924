package canary

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/md5"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// The layered search. Spelling every chain of transforms forward would
// multiply the patterns (and zlib/brotli output depends on the whole
// message), so only cheap deterministic forms are spelled (forms.go); the
// rest runs the other way: every base64, base32, hex or percent-encoded run
// in the traffic is decoded, what it holds is decompressed when it is
// gzip, zlib, zstd, or a clean raw deflate or brotli stream, and the
// decoded bytes are scanned for the spellings again, up to maxLayers
// decoding steps deep. A digest-sized run or decoded blob is looked up among
// the hashes of every value, unsalted and salted (digests.go).

// maxLayers is how many decoding steps are stacked (base64(gzip(hex(v)))).
const maxLayers = 3

// Shortest runs worth decoding: 12 bytes of value (the default minimum
// prefix) take 16 base64 characters; hex runs below 24 hold less.
const (
	minB64Run = 16
	minHexRun = 24
	// minEscapes is how many %XX a percent run needs.
	minEscapes = 4
	// maxInflate bounds what one compressed run may expand to.
	maxInflate = 1 << 20
)

// Byte classes of the run finder.
const (
	clsAlnum = 1 << iota // A-Z a-z 0-9
	clsStd               // + /
	clsURL               // - _
	clsHex               // 0-9 a-f A-F
	clsB32U              // A-Z 2-7
	clsB32L              // a-z 2-7
	clsUpper
	clsLower
	clsDigit
	clsB64 = clsAlnum | clsStd | clsURL
)

var classes = func() (t [256]uint16) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b >= '0' && b <= '9':
			t[c] = clsAlnum | clsHex | clsDigit
			if b >= '2' && b <= '7' {
				t[c] |= clsB32U | clsB32L
			}
		case b >= 'A' && b <= 'Z':
			t[c] = clsAlnum | clsB32U | clsUpper
			if b <= 'F' {
				t[c] |= clsHex
			}
		case b >= 'a' && b <= 'z':
			t[c] = clsAlnum | clsB32L | clsLower
			if b <= 'f' {
				t[c] |= clsHex
			}
		case b == '+' || b == '/':
			t[c] = clsStd
		case b == '-' || b == '_':
			t[c] = clsURL
		}
	}
	return t
}()

// inRun is classes&clsB64 != 0 as a byte table: the run finder's hot loop.
var inRun = func() (t [256]bool) {
	for c := range t {
		t[c] = classes[c]&clsB64 != 0
	}
	return t
}()

// deepHit is a value found under at least one decoding step.
type deepHit struct {
	canary  int
	form    string
	salt    int // index in Searcher.salts, -1 for none
	sep     string
	after   bool
	matched int
	// start, end is the outermost encoded run in the searched text.
	start, end int
}

// decoder walks one text's encoded runs.
type decoder struct {
	s    *Searcher
	emit func(deepHit)
	// span is the outermost run being decoded.
	start, end int
}

// deep reports what the encoded runs of text hold.
func (s *Searcher) deep(text []byte, emit func(deepHit)) {
	d := decoder{s: s, emit: emit}
	d.runs(text, "", 0)
}

// runs decodes each encoded run of text, which depth decoding steps (named
// by chain) produced.
func (d *decoder) runs(text []byte, chain string, depth int) {
	// Percent runs: '%' is rare, and memchr finds it fast.
	for i := 0; ; {
		k := bytes.IndexByte(text[i:], '%')
		if k < 0 {
			break
		}
		i += k
		j, esc := percentRun(text, i)
		if esc >= minEscapes {
			d.enter(i, j, depth)
			if out := percentDecode(text[i:j]); len(out) > 0 {
				d.blob(out, wrap(chain, FormURL), depth+1, false)
			}
		}
		i = max(j, i+1)
	}
	n := len(text)
	for i := 0; i+minB64Run <= n; {
		if !inRun[text[i]] {
			i++
			continue
		}
		// i starts a run. One of minB64Run or more covers
		// i+minB64Run-1: when that byte is no run byte, no long run
		// starts before it, and the bytes between need no look.
		if !inRun[text[i+minB64Run-1]] {
			i += minB64Run
			continue
		}
		// One walk to the run's end gathers what run needs: the
		// classes of every byte and of all, and the longest hex stretch.
		var or, and uint16 = 0, 0xffff
		hexLen, maxHex := 0, 0
		j := i
		for ; j < n; j++ {
			k := classes[text[j]]
			if k&clsB64 == 0 {
				break
			}
			or |= k
			and &= k
			if k&clsHex != 0 {
				hexLen++
			} else {
				maxHex = max(maxHex, hexLen)
				hexLen = 0
			}
		}
		maxHex = max(maxHex, hexLen)
		if j-i >= minB64Run {
			d.enter(i, j, depth)
			d.run(text[i:j], or, and, maxHex, chain, depth)
		}
		i = j
	}
}

// enter records the outermost run's span.
func (d *decoder) enter(i, j, depth int) {
	if depth == 0 {
		d.start, d.end = i, j
	}
}

// run decodes one run of base64-alphabet characters.
func (d *decoder) run(r []byte, or, and uint16, maxHex int, chain string, depth int) {
	if and&clsHex != 0 {
		if len(r)%2 != 0 || len(r) < minHexRun && !digestSize(len(r)/2) {
			return
		}
		out := make([]byte, len(r)/2)
		if _, err := hex.Decode(out, r); err != nil {
			return
		}
		// A hex digest is the hash's own form ("sha256", either case).
		if digestSize(len(out)) {
			c := chain
			if depth > 0 {
				c = wrap(chain, FormHex)
			}
			d.digest(out, c)
			if !textual(out) {
				return
			}
		}
		d.blob(out, wrap(chain, FormHex), depth+1, !digestSize(len(out)))
		return
	}
	// A digest next to other base64-alphabet characters ("v1+<sha256>"):
	// its hex stretch is looked up on its own.
	if maxHex >= 2*md5.Size {
		for i := 0; i < len(r); {
			if classes[r[i]]&clsHex == 0 {
				i++
				continue
			}
			j := i + 1
			for j < len(r) && classes[r[j]]&clsHex != 0 {
				j++
			}
			if digestSize((j-i)/2) && (j-i)%2 == 0 {
				out := make([]byte, (j-i)/2)
				if _, err := hex.Decode(out, r[i:j]); err == nil {
					c := chain
					if depth > 0 {
						c = wrap(chain, FormHex)
					}
					d.digest(out, c)
				}
			}
			i = j
		}
	}
	// Base32 is upper-case; a lower-case run counts when it has one of
	// base32's digits (an all-letter word is no encoding).
	if and&clsB32U != 0 && or&clsLower == 0 || and&clsB32L != 0 && or&clsUpper == 0 && or&clsDigit != 0 {
		if out := decodeBase32(r); len(out) > 0 {
			d.blob(out, wrap(chain, FormBase32), depth+1, true)
		}
	}
	if or&clsStd != 0 && or&clsURL != 0 {
		return // both alphabets: no single base64 text
	}
	// Base64 of 12 or more bytes of anything has both cases but for a
	// chance of ~(38/64)^16; identifiers, words and UUIDs mostly have one,
	// and skipping them keeps the decoder off most of a body.
	if or&clsUpper == 0 || or&clsLower == 0 {
		return
	}
	enc, form := base64.RawStdEncoding, FormBase64
	if or&clsURL != 0 {
		enc, form = base64.RawURLEncoding, FormBase64URL
	}
	if len(r)%4 == 1 {
		r = r[:len(r)-1]
	}
	out := make([]byte, enc.DecodedLen(len(r)))
	n, err := enc.Decode(out, r)
	if err != nil {
		return
	}
	d.blob(out[:n], wrap(chain, form), depth+1, true)
}

// blob scans bytes that depth decoding steps (chain) made, and decodes
// further. binary says the bytes may be a digest or compressed data.
func (d *decoder) blob(b []byte, chain string, depth int, binary bool) {
	if binary && digestSize(len(b)) {
		d.digest(b, chain)
	}
	for _, m := range d.s.scan(b) {
		d.emit(deepHit{canary: d.s.pats[m.pat].canary, form: wrap(chain, m.form), salt: -1, matched: m.matched, start: d.start, end: d.end})
	}
	if depth >= maxLayers {
		return
	}
	if binary && !textual(b) {
		if out, form := d.s.decoders.decompress(b); len(out) > 0 {
			d.blob(out, wrap(chain, form), depth+1, false)
		}
	}
	d.runs(b, chain, depth)
}

// digest reports the values whose hash b is.
func (d *decoder) digest(b []byte, chain string) {
	for _, r := range d.s.digestsOf(b) {
		form := hashes[r.hash].name
		if r.salt >= 0 {
			form = SaltedPrefix + form
		}
		d.emit(deepHit{canary: int(r.canary), form: wrap(chain, form), salt: int(r.salt), sep: saltSeps[r.sep], after: r.after, start: d.start, end: d.end})
	}
}

// textual reports whether b has no control bytes but tab and line ends and
// no byte above 0x7e: decoded text, which no compressed stream of 6 or
// more bytes is (they start with header or block bits in the low bytes).
func textual(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c > 0x7e {
			return false
		}
	}
	return true
}

// percentRun returns the end of the percent-encoded run at text[i] and how
// many %XX it holds.
func percentRun(text []byte, i int) (int, int) {
	esc := 0
	j := i
	for j < len(text) {
		c := text[j]
		switch {
		case c == '%' && j+2 < len(text) && classes[text[j+1]]&clsHex != 0 && classes[text[j+2]]&clsHex != 0:
			esc++
			j += 3
		case classes[c]&clsB64 != 0 || c == '.' || c == '~':
			j++
		default:
			return j, esc
		}
	}
	return j, esc
}

func percentDecode(r []byte) []byte {
	out := make([]byte, 0, len(r))
	for i := 0; i < len(r); i++ {
		if r[i] == '%' && i+2 < len(r) {
			var b [1]byte
			if _, err := hex.Decode(b[:], r[i+1:i+3]); err == nil {
				out = append(out, b[0])
				i += 2
				continue
			}
		}
		out = append(out, r[i])
	}
	return out
}

// decodeBase32 decodes a run in either case, unpadded.
func decodeBase32(r []byte) []byte {
	up := bytes.ToUpper(r)
	switch len(up) % 8 {
	case 1, 3, 6:
		up = up[:len(up)-1] // not a whole number of bytes: a trailing char of something else
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	out := make([]byte, enc.DecodedLen(len(up)))
	n, err := enc.Decode(out, up)
	if err != nil {
		return nil
	}
	return out[:n]
}

// decoders are a Searcher's reusable decompressors (no package state).
type decoders struct {
	flate    sync.Pool // io.ReadCloser implementing flate.Resetter
	brotli   sync.Pool // *brotli.Reader
	zstdOnce sync.Once
	zstd     *zstd.Decoder // DecodeAll is safe for concurrent use
}

// decompress returns what b holds when it is compressed, and the format.
// gzip, zlib and zstd announce themselves (a cut stream still gives its
// start); raw deflate and brotli have no header, so only a stream that
// decodes cleanly to its end counts.
func (x *decoders) decompress(b []byte) ([]byte, string) {
	switch {
	case len(b) >= 18 && b[0] == 0x1f && b[1] == 0x8b:
		if r, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			return readSome(r), FormGzip
		}
		return nil, ""
	case len(b) >= 6 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint(b[0])<<8|uint(b[1]))%31 == 0:
		if r, err := zlib.NewReader(bytes.NewReader(b)); err == nil {
			return readSome(r), FormZlib
		}
		return nil, ""
	case len(b) >= 9 && binary.LittleEndian.Uint32(b) == 0xFD2FB528:
		x.zstdOnce.Do(func() {
			x.zstd, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxInflate))
		})
		if x.zstd == nil {
			return nil, ""
		}
		out, _ := x.zstd.DecodeAll(b, nil)
		return out, FormZstd
	}
	if len(b) < 6 {
		return nil, ""
	}
	if out := x.inflateClean(b); len(out) > 0 {
		return out, FormDeflate
	}
	if out := x.unbrotliClean(b); len(out) > 0 {
		return out, FormBrotli
	}
	return nil, ""
}

// readSome reads up to maxInflate bytes, keeping what came before an error.
func readSome(r io.Reader) []byte {
	out, _ := io.ReadAll(io.LimitReader(r, maxInflate))
	return out
}

// deflatePlausible rejects a first block of the reserved type, and a stored
// block whose length and its complement disagree (RFC 1951, 3.2.3-3.2.4):
// half of random byte strings, before a decoder is touched.
func deflatePlausible(b []byte) bool {
	switch b[0] >> 1 & 3 {
	case 3:
		return false
	case 0:
		return len(b) >= 5 && binary.LittleEndian.Uint16(b[1:]) == ^binary.LittleEndian.Uint16(b[3:])
	}
	return true
}

func (x *decoders) inflateClean(b []byte) []byte {
	if !deflatePlausible(b) {
		return nil
	}
	var r io.ReadCloser
	if v := x.flate.Get(); v != nil {
		r = v.(io.ReadCloser)
		if err := r.(flate.Resetter).Reset(bytes.NewReader(b), nil); err != nil {
			return nil
		}
	} else {
		r = flate.NewReader(bytes.NewReader(b))
	}
	defer x.flate.Put(r)
	out, err := io.ReadAll(io.LimitReader(r, maxInflate))
	if err != nil {
		return nil
	}
	return out
}

// brotliPlausible reads the stream header and the first meta-block header
// (RFC 7932, 9.1-9.2): a stream the first block of which claims far more
// output than the input could hold, or that is empty or metadata, is not
// tried. Random bytes mostly claim tens of KiB to MiB, and the decoder would
// allocate its ring buffer for them before failing.
func brotliPlausible(b []byte) bool {
	pos := 0
	bit := func(n int) (uint, bool) {
		var v uint
		for i := 0; i < n; i++ {
			if pos >= 8*len(b) {
				return 0, false
			}
			v |= uint(b[pos/8]>>(pos%8)&1) << i
			pos++
		}
		return v, true
	}
	// WBITS.
	if w, ok := bit(1); !ok {
		return false
	} else if w == 1 {
		n, ok := bit(3)
		if !ok {
			return false
		}
		if n == 0 {
			m, ok := bit(3)
			if !ok || m == 1 {
				return false
			}
		}
	}
	last, ok := bit(1)
	if !ok {
		return false
	}
	if last == 1 {
		if empty, ok := bit(1); !ok || empty == 1 {
			return false
		}
	}
	mn, ok := bit(2)
	if !ok || mn == 3 {
		return false
	}
	mlen, ok := bit(4 * int(mn+4))
	if !ok {
		return false
	}
	return int(mlen)+1 <= 64*len(b)+1024
}

func (x *decoders) unbrotliClean(b []byte) []byte {
	if !brotliPlausible(b) {
		return nil
	}
	var r *brotli.Reader
	if v := x.brotli.Get(); v != nil {
		r = v.(*brotli.Reader)
		if err := r.Reset(bytes.NewReader(b)); err != nil {
			return nil
		}
	} else {
		r = brotli.NewReader(bytes.NewReader(b))
	}
	defer x.brotli.Put(r)
	out, err := io.ReadAll(io.LimitReader(r, maxInflate))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	return out
}
