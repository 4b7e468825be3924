package judge

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// stateValue reads one value out of a run's kept state file (a JSON object;
// the path is $.key.key). It returns the value as text, or why it cannot,
// which makes the check that needed it unobservable.
func stateValue(rv *runView, sv *policy.StateValue) (string, string) {
	b, ok := rv.State[sv.State]
	if !ok {
		return "", fmt.Sprintf("the tool left no state file %s in this run (%s/%s is missing)", sv.State, StateDir, sv.State)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return "", fmt.Sprintf("state file %s is not JSON: %v", sv.State, err)
	}
	cur := doc
	for _, key := range strings.Split(strings.TrimPrefix(sv.Path, "$."), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", fmt.Sprintf("state file %s has no %s", sv.State, sv.Path)
		}
		if cur, ok = m[key]; !ok {
			return "", fmt.Sprintf("state file %s has no %s", sv.State, sv.Path)
		}
	}
	switch v := cur.(type) {
	case string:
		return v, ""
	case float64, bool:
		return fmt.Sprint(v), ""
	}
	return "", fmt.Sprintf("state file %s: %s is not a scalar", sv.State, sv.Path)
}
