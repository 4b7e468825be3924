package observe

import (
	"fmt"
	"strconv"
	"strings"
)

// segKind tells what a path segment selects.
type segKind int

const (
	segKey segKind = iota
	segIndex
	segAny    // [*]: any array element or object member
	segAnyKey // .*: any object member
)

type seg struct {
	kind  segKind
	key   string
	index int
}

// isIdent reports whether key can follow a dot in a path.
func isIdent(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// ChildKey is the canonical path of member key of the object at parent:
// parent.key, or parent["key"] when key cannot follow a dot.
func ChildKey(parent, key string) string {
	if isIdent(key) {
		return parent + "." + key
	}
	return parent + "[" + strconv.Quote(key) + "]"
}

// childIndex is the canonical path of element i of the array at parent.
func childIndex(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// tagPath is the canonical path of the values of tag key in list name.
func tagPath(name, key string) string {
	if strings.ContainsAny(key, `[]"`) {
		return name + "[" + strconv.Quote(key) + "]"
	}
	return name + "[" + key + "]"
}

// parseJSONPath splits a `$...` path into segments.
func parseJSONPath(p string) ([]seg, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("path %q: must start with $", p)
	}
	var segs []seg
	rest := p[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			if strings.HasPrefix(rest, "*") {
				segs = append(segs, seg{kind: segAnyKey})
				rest = rest[1:]
				continue
			}
			n := 0
			for n < len(rest) && rest[n] != '.' && rest[n] != '[' {
				n++
			}
			if !isIdent(rest[:n]) {
				return nil, fmt.Errorf("path %q: %q after '.' is not a plain key; write it as [\"key\"]", p, rest[:n])
			}
			segs = append(segs, seg{kind: segKey, key: rest[:n]})
			rest = rest[n:]
		case '[':
			rest = rest[1:]
			var s seg
			switch {
			case strings.HasPrefix(rest, "*"):
				s = seg{kind: segAny}
				rest = rest[1:]
			case strings.HasPrefix(rest, `"`):
				q, err := strconv.QuotedPrefix(rest)
				if err != nil {
					return nil, fmt.Errorf("path %q: bad quoted key: %w", p, err)
				}
				key, err := strconv.Unquote(q)
				if err != nil {
					return nil, fmt.Errorf("path %q: bad quoted key: %w", p, err)
				}
				s = seg{kind: segKey, key: key}
				rest = rest[len(q):]
			default:
				n := 0
				for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
					n++
				}
				i, err := strconv.Atoi(rest[:n])
				if n == 0 || err != nil {
					return nil, fmt.Errorf("path %q: expected an index, * or a quoted key after '['", p)
				}
				s = seg{kind: segIndex, index: i}
				rest = rest[n:]
			}
			if !strings.HasPrefix(rest, "]") {
				return nil, fmt.Errorf("path %q: missing ']'", p)
			}
			rest = rest[1:]
			segs = append(segs, s)
		default:
			return nil, fmt.Errorf("path %q: unexpected %q; expected '.' or '['", p, rest[0])
		}
	}
	return segs, nil
}

// renderJSONPath is the canonical text of segs; ok is false when they hold
// a wildcard (then there is no single canonical path).
func renderJSONPath(segs []seg) (string, bool) {
	p := "$"
	for _, s := range segs {
		switch s.kind {
		case segKey:
			p = ChildKey(p, s.key)
		case segIndex:
			p = childIndex(p, s.index)
		default:
			return "", false
		}
	}
	return p, true
}

// matchSegs reports whether the concrete path segs matches the pattern pat.
func matchSegs(pat, segs []seg) bool {
	if len(pat) != len(segs) {
		return false
	}
	for i, p := range pat {
		s := segs[i]
		switch p.kind {
		case segAny:
		case segAnyKey:
			if s.kind != segKey {
				return false
			}
		case segKey:
			if s.kind != segKey || s.key != p.key {
				return false
			}
		case segIndex:
			if s.kind != segIndex || s.index != p.index {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// pathMatcher answers "does this canonical JSON path match the query".
type pathMatcher struct {
	exact string // canonical form when the query has no wildcard
	pat   []seg
}

func newPathMatcher(p string) (pathMatcher, error) {
	segs, err := parseJSONPath(p)
	if err != nil {
		return pathMatcher{}, err
	}
	if exact, ok := renderJSONPath(segs); ok {
		return pathMatcher{exact: exact}, nil
	}
	return pathMatcher{pat: segs}, nil
}

func (m pathMatcher) match(path string) bool {
	if m.pat == nil {
		return path == m.exact
	}
	segs, err := parseJSONPath(path)
	if err != nil {
		return false
	}
	return matchSegs(m.pat, segs)
}

// TagPath is the path of the values of tag key in tag list name, as
// Observation.Values spells it (tags[goal]).
func TagPath(name, key string) string { return tagPath(name, key) }

// MatchPath reports whether the concrete path (as Values spell them)
// matches pattern, where [*] matches any index and .* any member.
func MatchPath(pattern, path string) bool {
	m, err := newPathMatcher(pattern)
	return err == nil && m.match(path)
}
