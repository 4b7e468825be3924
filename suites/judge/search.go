package judge

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// hit is one occurrence of a canary in a captured exchange.
type hit struct {
	Role, Form string
	Exchange   int64
	Path       string
	Length     int
}

// needle is one form of one canary.
type needle struct {
	role, form, text string
	fold             bool
}

// searcher finds canaries in every captured value in every form the design
// lists: raw (case-folded), URL-encoded, base64 (both alphabets, three
// alignments, padded or not), hex (both cases) and unsalted md5, sha1,
// sha256 and sha512 hex.
type searcher struct {
	needles []needle
}

func newSearcher(cs []Canary) (*searcher, error) {
	s := &searcher{}
	seen := map[string]bool{}
	add := func(role, form, text string, fold bool) {
		if len(text) < 3 {
			return
		}
		k := role + "\x00" + form + "\x00" + text
		if seen[k] {
			return
		}
		seen[k] = true
		s.needles = append(s.needles, needle{role: role, form: form, text: text, fold: fold})
	}
	for _, c := range cs {
		v := c.Value
		if v == "" {
			continue
		}
		add(c.Role, "raw", strings.ToLower(v), true)
		if e := url.QueryEscape(v); e != v {
			add(c.Role, "url-encoded", strings.ToLower(e), true)
		}
		for align := 0; align < 3; align++ {
			prefix := strings.Repeat("\x00", align)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				b := enc.EncodeToString([]byte(prefix + v))
				// Drop the characters that mix in neighbouring bytes: the
				// prefix's and the last partial group's.
				start := 0
				if align > 0 {
					start = (align*8 + 5) / 6
				}
				b = strings.TrimRight(b, "=")
				end := len(b)
				if (align+len(v))%3 != 0 {
					end--
				}
				if end-start >= 4 {
					add(c.Role, "base64", b[start:end], false)
				}
			}
		}
		add(c.Role, "hex", hex.EncodeToString([]byte(v)), true)
		m5 := md5.Sum([]byte(v))
		add(c.Role, "md5", hex.EncodeToString(m5[:]), true)
		s1 := sha1.Sum([]byte(v))
		add(c.Role, "sha1", hex.EncodeToString(s1[:]), true)
		s256 := sha256.Sum256([]byte(v))
		add(c.Role, "sha256", hex.EncodeToString(s256[:]), true)
		s512 := sha512.Sum512([]byte(v))
		add(c.Role, "sha512", hex.EncodeToString(s512[:]), true)
	}
	return s, nil
}

// find returns every hit of the given roles in o: per value path, the
// url, headers and body leaves (JSON inside strings decoded), and the raw
// body when no leaf holds it.
func (s *searcher) find(o *observe.Observation, roles map[string]bool) []hit {
	var out []hit
	seen := map[string]bool{}
	add := func(n needle, path string) {
		k := n.role + "\x00" + n.form + "\x00" + path
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, hit{Role: n.role, Form: n.form, Exchange: o.Exchange.Seq, Path: path, Length: len(n.text)})
	}
	match := func(n needle, text, lower string) bool {
		if n.fold {
			return strings.Contains(lower, n.text)
		}
		return strings.Contains(text, n.text)
	}
	found := map[string]bool{}
	for _, v := range o.Values {
		if v.Kind == observe.KindTag {
			continue // the same text sits at the tag's array path
		}
		lower := strings.ToLower(v.Text)
		for _, n := range s.needles {
			if roles[n.role] && match(n, v.Text, lower) {
				add(n, v.Path)
				found[n.role+"\x00"+n.form] = true
			}
		}
	}
	if o.Exchange.Host != "" {
		lower := strings.ToLower(o.Exchange.Host)
		for _, n := range s.needles {
			if roles[n.role] && match(n, o.Exchange.Host, lower) {
				add(n, "host")
				found[n.role+"\x00"+n.form] = true
			}
		}
	}
	raws := [][]byte{o.Exchange.Body.Raw, o.Body}
	for _, raw := range raws {
		text := string(raw)
		lower := strings.ToLower(text)
		for _, n := range s.needles {
			if roles[n.role] && !found[n.role+"\x00"+n.form] && match(n, text, lower) {
				add(n, "body")
			}
		}
	}
	return out
}
