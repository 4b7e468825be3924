package policy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// SchemaID is the $id of the policy JSON Schema.
const SchemaID = "https://github.com/telemetry-harness/telemetry-harness/policy.schema.json"

// durationPattern is Go's duration text (time.ParseDuration).
const durationPattern = `^[-+]?(0|([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`

// patterns pins the string fields whose shape the loader checks with a
// regular expression, so the schema says the same.
func schemaPatterns() map[string]string {
	return map[string]string{
		"Clause.ID":       clauseIDRe.String(),
		"Scenario.Name":   nameRe.String(),
		"CanaryPlan.Role": roleRe.String(),
		"Endpoint.Method": methodRe.String(),
		"Run.Name":        nameRe.String(),
	}
}

// JSONSchema returns the JSON Schema (2020-12) of a policy file, generated
// from the model so that the loader and the schema cannot drift: shapes,
// required keys, allowed values and which parameters each check kind reads.
// References, uniqueness and regex syntax are checked by the loader only.
func JSONSchema() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}, patterns: schemaPatterns()}
	root := g.structSchema(reflect.TypeFor[Policy]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "telemetry-harness policy"
	root["description"] = "A published telemetry promise as data: endpoint, fields, canaries, clauses with their checks, and scenarios."
	root["$defs"] = g.defs
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode policy schema: %w", err)
	}
	return append(b, '\n'), nil
}

type schemaGen struct {
	defs     map[string]any
	patterns map[string]string
}

func (g *schemaGen) typeSchema(t reflect.Type) map[string]any {
	if t == reflect.TypeFor[Duration]() {
		return map[string]any{"type": "string", "pattern": durationPattern, "description": "a Go duration, e.g. 10s or 1m30s"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.typeSchema(t.Elem())
	case reflect.Struct:
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = true // placeholder against recursion
			g.defs[name] = g.structSchema(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.typeSchema(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int:
		return map[string]any{"type": "integer"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	}
	return map[string]any{}
}

func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range fieldsOf(t) {
		sf := t.Field(f.index)
		s := g.typeSchema(sf.Type)
		if allowed := sf.Tag.Get("allowed"); allowed != "" {
			s["enum"] = strings.Split(allowed, ", ")
		}
		if p, ok := g.patterns[t.Name()+"."+sf.Name]; ok {
			s["pattern"] = p
		}
		if ex := sf.Tag.Get("example"); ex != "" {
			s["description"] = "example: " + ex
		}
		props[f.key] = s
		if f.required {
			required = append(required, f.key)
		}
	}
	s := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if t == reflect.TypeFor[Check]() {
		g.checkKinds(s)
	}
	return s
}

// checkKinds adds, per kind, the parameters it needs and those it rejects.
func (g *schemaGen) checkKinds(s map[string]any) {
	var kinds []string
	var rules []any
	for _, k := range Kinds() {
		kinds = append(kinds, k.Kind)
		var forbidden []any
		for _, p := range checkParams {
			if !slices.Contains(k.Required, p) && !slices.Contains(k.Optional, p) {
				forbidden = append(forbidden, map[string]any{"required": []string{p}})
			}
		}
		then := map[string]any{}
		if len(k.Required) > 0 {
			then["required"] = k.Required
		}
		if len(forbidden) > 0 {
			then["not"] = map[string]any{"anyOf": forbidden}
		}
		rules = append(rules, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"kind": map[string]any{"const": k.Kind}}, "required": []string{"kind"}},
			"then": then,
		})
	}
	props := s["properties"].(map[string]any)
	props["kind"].(map[string]any)["enum"] = kinds
	s["allOf"] = rules
}
