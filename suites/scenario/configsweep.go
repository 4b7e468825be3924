package scenario

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// keySlot marks a config sweep role that adds a member under the object at
// its path (config-sweep:FILE:PATH{}), rather than replacing a value.
const keySlot = "{}"

// configCanaries are the config sweep's canaries of scenario sc: one per
// string value its config files hold (or that Values names) and one per
// object Keys names. The files are read as the run will see them: the
// scenario's files expanded with the values of set (the sweep plants into
// every run of the scenario alike), in a throwaway repo copy.
func configCanaries(opts Options, sc *policy.Scenario, sets *sets) ([]canary.Canary, error) {
	if sc.Sweep == nil || len(sc.Sweep.Config) == 0 {
		return nil, nil
	}
	vals, err := sets.values(sc.RunsOf()[0].Set)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "sweep-")
	if err != nil {
		return nil, fmt.Errorf("config sweep: %w", err)
	}
	defer os.RemoveAll(tmp)
	sb, err := prepare(opts, sc, vals, tmp)
	if err != nil {
		return nil, fmt.Errorf("config sweep: %w", err)
	}
	var out []canary.Canary
	for _, cs := range sc.Sweep.Config {
		doc, err := readConfig(sb.workdir, cs.File)
		if err != nil {
			return nil, err
		}
		add := func(path string) {
			c := canary.Generate(policy.ConfigSweepRole)
			c.Role = policy.ConfigSweepRole + ":" + cs.File + ":" + path
			out = append(out, c)
		}
		walkConfig(doc, "$", func(path string, v any) {
			switch v.(type) {
			case string:
				if len(cs.Values) == 0 || matchesAny(cs.Values, path) {
					add(path)
				}
			case map[string]any:
				if matchesAny(cs.Keys, path) {
					add(path + keySlot)
				}
			}
		})
	}
	return out, nil
}

func matchesAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if observe.MatchPath(p, path) {
			return true
		}
	}
	return false
}

// readConfig parses a config file of the repo copy.
func readConfig(workdir, file string) (any, error) {
	b, err := os.ReadFile(filepath.Join(workdir, filepath.FromSlash(file)))
	if err != nil {
		return nil, fmt.Errorf("config sweep: %w (the scenario's files or repo must provide it)", err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config sweep: %s is not JSON: %w", file, err)
	}
	return doc, nil
}

// walkConfig calls fn for every node of doc with its path (observe's
// grammar), members in key order.
func walkConfig(node any, path string, fn func(path string, v any)) {
	fn(path, node)
	switch n := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkConfig(n[k], observe.ChildKey(path, k), fn)
		}
	case []any:
		for i, e := range n {
			walkConfig(e, path+"["+strconv.Itoa(i)+"]", fn)
		}
	}
}

// plantConfig writes the config sweep's canaries into the repo copy's
// config files: a planted string at each value slot, a member named by the
// planted value under each key slot (its value a copy of the object's first
// member, so that the tool accepts it). It returns the canaries planted.
func plantConfig(workdir string, swept []canary.Canary) ([]canary.Canary, error) {
	byFile := map[string]map[string]canary.Canary{}
	var files []string
	for _, c := range swept {
		rest, ok := strings.CutPrefix(c.Role, policy.ConfigSweepRole+":")
		if !ok {
			continue
		}
		file, path, _ := strings.Cut(rest, ":$")
		path = "$" + path
		if byFile[file] == nil {
			byFile[file] = map[string]canary.Canary{}
			files = append(files, file)
		}
		byFile[file][path] = c
	}
	var planted []canary.Canary
	for _, file := range files {
		slots := byFile[file]
		doc, err := readConfig(workdir, file)
		if err != nil {
			return nil, err
		}
		doc = setConfig(doc, "$", func(path string) (canary.Canary, bool) {
			c, ok := slots[path]
			if ok {
				planted = append(planted, c)
			}
			return c, ok
		})
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("config sweep: %s: %w", file, err)
		}
		if err := os.WriteFile(filepath.Join(workdir, filepath.FromSlash(file)), append(b, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("config sweep: %w", err)
		}
	}
	return planted, nil
}

// setConfig returns node with the slots slot finds filled in.
func setConfig(node any, path string, slot func(path string) (canary.Canary, bool)) any {
	switch n := node.(type) {
	case string:
		if c, ok := slot(path); ok {
			return c.Value
		}
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n[k] = setConfig(n[k], observe.ChildKey(path, k), slot)
		}
		if c, ok := slot(path + keySlot); ok {
			var v any = c.Value
			if len(keys) > 0 {
				v = deepCopy(n[keys[0]])
			}
			n[c.Value] = v
		}
	case []any:
		for i, e := range n {
			n[i] = setConfig(e, path+"["+strconv.Itoa(i)+"]", slot)
		}
	}
	return node
}

func deepCopy(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}
