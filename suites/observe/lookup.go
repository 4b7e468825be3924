package observe

import (
	"fmt"
	"strconv"
	"strings"
)

// Get returns every value at path, in wire order; see the package doc for
// the grammar. A path that does not parse matches nothing (check policy
// paths once with ValidatePath).
func (o *Observation) Get(path string) []Value {
	var out []Value
	switch {
	case path == "url":
		for _, v := range o.Values {
			if v.Kind == KindURL {
				out = append(out, v)
			}
		}
	case strings.HasPrefix(path, "header:"):
		name := strings.TrimPrefix(path, "header:")
		for _, v := range o.Values {
			if v.Kind == KindHeader && strings.EqualFold(strings.TrimPrefix(v.Path, "header:"), name) {
				out = append(out, v)
			}
		}
	case strings.HasPrefix(path, "query:"):
		for _, v := range o.Values {
			if v.Kind == KindQuery && v.Path == path {
				out = append(out, v)
			}
		}
	case strings.HasPrefix(path, "$"):
		m, err := newPathMatcher(path)
		if err != nil {
			return nil
		}
		for _, v := range o.Values {
			switch v.Kind {
			case KindString, KindNumber, KindBool, KindNull:
				if m.match(v.Path) {
					out = append(out, v)
				}
			}
		}
	default:
		name, key, all, err := parseTagPath(path)
		if err != nil {
			return nil
		}
		want := tagPath(name, key)
		for _, v := range o.Values {
			if v.Kind != KindTag {
				continue
			}
			if v.Path == want || all && strings.HasPrefix(v.Path, name+"[") {
				out = append(out, v)
			}
		}
	}
	return out
}

// Keys returns the member keys of the objects at path (wildcards allowed),
// in wire order with repeated keys kept; nil when no object is there.
func (o *Observation) Keys(path string) []string {
	m, err := newPathMatcher(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, obj := range o.objects {
		if m.match(obj.path) {
			out = append(out, obj.keys...)
		}
	}
	return out
}

// Objects returns the paths of the objects at path (wildcards allowed), in
// wire order: `$[*].task` gives `$[0].task`, `$[3].task`, ... so a rule can
// name the very object it found something in.
func (o *Observation) Objects(path string) []string {
	m, err := newPathMatcher(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, obj := range o.objects {
		if m.match(obj.path) {
			out = append(out, obj.path)
		}
	}
	return out
}

// HasObject reports whether an object sits at path (wildcards allowed); it
// tells an empty object from a missing one.
func (o *Observation) HasObject(path string) bool {
	m, err := newPathMatcher(path)
	if err != nil {
		return false
	}
	for _, obj := range o.objects {
		if m.match(obj.path) {
			return true
		}
	}
	return false
}

// Tags returns the tags of the list named by its name ("tags") or by its
// TagList.Path ("$.tags"), in wire order.
func (o *Observation) Tags(list string) []Tag {
	var out []Tag
	var m pathMatcher
	byPath := strings.HasPrefix(list, "$")
	if byPath {
		var err error
		if m, err = newPathMatcher(list); err != nil {
			return nil
		}
	}
	for _, t := range o.tags {
		if byPath {
			if i := strings.LastIndexByte(t.Path, '['); i > 0 && m.match(t.Path[:i]) {
				out = append(out, t)
			}
		} else if t.List == list {
			out = append(out, t)
		}
	}
	return out
}

// ValidatePath says whether path is in the grammar of the package doc, so a
// policy loader can reject a broken path with its file and line.
func ValidatePath(path string) error {
	switch {
	case path == "url":
		return nil
	case strings.HasPrefix(path, "header:"), strings.HasPrefix(path, "query:"):
		if strings.IndexByte(path, ':') == len(path)-1 {
			return fmt.Errorf("path %q: missing name after ':'; example: header:User-Agent", path)
		}
		return nil
	case strings.HasPrefix(path, "$"):
		_, err := parseJSONPath(path)
		return err
	default:
		_, _, _, err := parseTagPath(path)
		return err
	}
}

// parseTagPath splits `name[key]`, `name["key"]` or `name[*]`.
func parseTagPath(p string) (name, key string, all bool, err error) {
	i := strings.IndexByte(p, '[')
	if i <= 0 || !strings.HasSuffix(p, "]") {
		return "", "", false, fmt.Errorf("path %q: expected url, header:NAME, query:NAME, a JSON path ($.a.b) or a tag path (tags[key])", p)
	}
	name, key = p[:i], p[i+1:len(p)-1]
	if key == "*" {
		return name, "", true, nil
	}
	if strings.HasPrefix(key, `"`) {
		if key, err = strconv.Unquote(key); err != nil {
			return "", "", false, fmt.Errorf("path %q: bad quoted tag key: %w", p, err)
		}
	}
	return name, key, false, nil
}
