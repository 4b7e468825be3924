package canary

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"slices"
	"strconv"
	"sync"
)

// Hashes of every value, unsalted and salted with every other planted value
// and policy constant, on either side, with each separator a tool might put
// between: looked up when a run of the traffic or a decoded blob has a
// digest's size. Too many to spell as patterns (50 values make ~140,000),
// cheap as a map from each digest's first 8 bytes.

// saltSeps are the separators tried between salt and value.
var saltSeps = []string{"", ".", ":", "-", "_", "/", "|"}

var hashes = []struct {
	name string
	size int
	sum  func([]byte) []byte
}{
	{FormMD5, md5.Size, func(b []byte) []byte { s := md5.Sum(b); return s[:] }},
	{FormSHA1, sha1.Size, func(b []byte) []byte { s := sha1.Sum(b); return s[:] }},
	{FormSHA256, sha256.Size, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
	{FormSHA512, sha512.Size, func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }},
}

func digestSize(n int) bool {
	return n == md5.Size || n == sha1.Size || n == sha256.Size || n == sha512.Size
}

// salt is one salt the hash search tries: a planted value (label: its
// role) or a policy constant (label: the constant, quoted).
type salt struct {
	label, value string
}

func saltsOf(cs []Canary, consts []string) []salt {
	var out []salt
	seen := map[string]bool{}
	for _, c := range cs {
		if !seen[c.Value] {
			seen[c.Value] = true
			out = append(out, salt{c.Role, c.Value})
		}
	}
	for _, k := range consts {
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, salt{strconv.Quote(k), k})
		}
	}
	return out
}

// digestRef is one hashed input.
type digestRef struct {
	canary, salt int32 // salt -1: unsalted
	sep, hash    uint8
	after        bool // value + sep + salt
	next         int32
}

type digestIndex struct {
	once  sync.Once
	first map[uint64]int32 // digest's first 8 bytes -> refs index + 1
	refs  []digestRef
}

// input is the hashed bytes of r.
func (s *Searcher) input(r digestRef) []byte {
	v := s.canaries[r.canary].Value
	if r.salt < 0 {
		return []byte(v)
	}
	k, sep := s.salts[r.salt].value, saltSeps[r.sep]
	if r.after {
		return []byte(v + sep + k)
	}
	return []byte(k + sep + v)
}

// buildDigests hashes every input once, on the first lookup: a searcher
// that never meets a digest-sized run never pays for it.
func (s *Searcher) buildDigests() {
	x := &s.digests
	x.first = map[uint64]int32{}
	add := func(r digestRef) {
		for h := range hashes {
			r.hash = uint8(h)
			key := binary.LittleEndian.Uint64(hashes[h].sum(s.input(r)))
			r.next = x.first[key]
			x.refs = append(x.refs, r)
			x.first[key] = int32(len(x.refs))
		}
	}
	for i, c := range s.canaries {
		add(digestRef{canary: int32(i), salt: -1})
		for j, k := range s.salts {
			if k.value == c.Value {
				continue
			}
			for sep := range saltSeps {
				add(digestRef{canary: int32(i), salt: int32(j), sep: uint8(sep)})
				add(digestRef{canary: int32(i), salt: int32(j), sep: uint8(sep), after: true})
			}
		}
	}
}

// digestsOf returns the inputs whose hash is b. One input can read two
// ways (x + "." + y is y salted with x, and x salted after with y): the
// salt-first reading is kept, the usual way to salt.
func (s *Searcher) digestsOf(b []byte) []digestRef {
	s.digests.once.Do(s.buildDigests)
	var out []digestRef
	for i := s.digests.first[binary.LittleEndian.Uint64(b)]; i != 0; {
		r := s.digests.refs[i-1]
		i = r.next
		if hashes[r.hash].size == len(b) && bytes.Equal(hashes[r.hash].sum(s.input(r)), b) {
			out = append(out, r)
		}
	}
	if len(out) < 2 {
		return out
	}
	slices.SortStableFunc(out, func(a, b digestRef) int {
		if a.after == b.after {
			return 0
		}
		if a.after {
			return 1
		}
		return -1
	})
	kept := out[:0]
	var seen []string
	for _, r := range out {
		in := string(s.input(r)) + "\x00" + strconv.Itoa(int(r.hash))
		if !slices.Contains(seen, in) {
			seen = append(seen, in)
			kept = append(kept, r)
		}
	}
	return kept
}
