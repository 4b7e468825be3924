package capture

import (
	"encoding/base64"
	"encoding/binary"
)

// b64 holds, per position in a quad of base64 characters, each
// character's bits already shifted into the three output bytes of a
// little-endian uint32, so a quad decodes with four loads and three ORs
// (stdlib decodes one character at a time with a branch each). A
// character outside the standard alphabet sets b64Bad. Built once, never
// written after.
var b64 = func() (t [4][256]uint32) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for p := range t {
		for c := range t[p] {
			t[p][c] = b64Bad
		}
	}
	for v, c := range []byte(alphabet) {
		u := uint32(v)
		t[0][c] = u << 2
		t[1][c] = u>>4 | (u&0xf)<<12
		t[2][c] = (u>>2)<<8 | (u&3)<<22
		t[3][c] = u << 16
	}
	return t
}()

const b64Bad = 0x01ffffff

// decodeBase64 decodes src (standard alphabet, padded) into a new slice,
// or reports false for anything else: a character outside the alphabet
// (CR and LF included, which encoding/base64 would skip), a wrong length,
// wrong padding. What it accepts, base64.StdEncoding decodes to the same
// bytes: the last quad, the only one that may hold padding, is decoded
// by it.
func decodeBase64(src []byte) ([]byte, bool) {
	if len(src) == 0 || len(src)%4 != 0 {
		return nil, false
	}
	last := src[len(src)-4:]
	for _, c := range last {
		if c == '\r' || c == '\n' {
			return nil, false
		}
	}
	var tail [3]byte
	tn, err := base64.StdEncoding.Decode(tail[:], last)
	if err != nil {
		return nil, false
	}
	full := len(src)/4 - 1
	dst := make([]byte, 3*full+tn)
	t0, t1, t2, t3 := &b64[0], &b64[1], &b64[2], &b64[3]
	s, d := src[:4*full], dst
	var bad uint32
	// Two quads at a time, six bytes written as eight: the next round
	// (or the tail) overwrites the two extra.
	for len(s) >= 8 && len(d) >= 8 {
		a := t0[s[0]] | t1[s[1]] | t2[s[2]] | t3[s[3]]
		b := t0[s[4]] | t1[s[5]] | t2[s[6]] | t3[s[7]]
		bad |= a | b
		binary.LittleEndian.PutUint64(d, uint64(a)|uint64(b)<<24)
		s, d = s[8:], d[6:]
	}
	for len(s) >= 4 && len(d) >= 4 {
		a := t0[s[0]] | t1[s[1]] | t2[s[2]] | t3[s[3]]
		bad |= a
		binary.LittleEndian.PutUint32(d, a)
		s, d = s[4:], d[3:]
	}
	if bad&0x01000000 != 0 || len(s) != 0 || len(d) != tn {
		return nil, false
	}
	copy(d, tail[:tn])
	return dst, true
}
