package policy

import (
	"fmt"
	"reflect"
	"strings"
)

var reflectCheck = reflect.TypeFor[Check]()

// ToolTemplate, as the first word of a prepare command, stands for the tool
// words the harness runs (e.g. [{{tool}}, telemetry, disable] runs the
// tool's own opt-out command); nowhere else.
const ToolTemplate = "{{tool}}"

// Values are what templates in a scenario expand to for one run.
type Values struct {
	// Canaries maps a role to the value planted for it in the run.
	Canaries map[string]string
	// RepoID is the run's repo id; when empty, the repo-id canary is used.
	RepoID string
}

// Expand replaces {{canary.<role>}} and {{repo_id}} in s. A template whose
// value is unknown is an error, so a run never sends a literal "{{...}}".
func Expand(s string, v Values) (string, error) {
	var err error
	out := templateRe.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.TrimSpace(templateRe.FindStringSubmatch(m)[1])
		if name == "repo_id" {
			if v.RepoID != "" {
				return v.RepoID
			}
			name = "canary.repo-id"
		}
		if role, ok := strings.CutPrefix(name, "canary."); ok {
			if val, ok := v.Canaries[role]; ok {
				return val
			}
		}
		if err == nil {
			err = fmt.Errorf("expand %q: no value for {{%s}}", s, name)
		}
		return m
	})
	return out, err
}
