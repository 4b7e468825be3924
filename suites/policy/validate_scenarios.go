package policy

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// Validation of the scenarios: runs, host facts, sinks, templates, evidence, sweeps and diagnostic modes.

func (v *validator) scenarios() {
	p := v.p
	seen := map[string]int{}
	exercised := map[string]bool{}
	for i, s := range p.Scenarios {
		at := fmt.Sprintf("scenarios[%d]", i)
		if !nameRe.MatchString(s.Name) {
			v.at(at+".name", fmt.Sprintf("%q is not a scenario name", s.Name), "lower-case words joined by -", "name: opt-in")
		} else if j, dup := seen[s.Name]; dup {
			v.at(at+".name", fmt.Sprintf("duplicate scenario name %q (first at scenarios[%d])", s.Name, j), "unique names", "name: opt-in")
		} else {
			seen[s.Name] = i
		}
		planted := map[string]bool{}
		for j, r := range s.Canaries {
			v.role(fmt.Sprintf("%s.canaries[%d]", at, j), r)
			planted[r] = true
		}
		for j, r := range s.Vary {
			if !planted[r] {
				v.at(fmt.Sprintf("%s.vary[%d]", at, j), fmt.Sprintf("role %q is not planted in this scenario", r), "a role listed under the scenario's canaries", "vary: [repo-id]")
			}
		}
		for j, f := range s.Files {
			fat := fmt.Sprintf("%s.files[%d]", at, j)
			v.oneOf(fat+".mode", f.Mode, []string{"write", "append"}, "mode: append")
			if f.Path == "" || strings.HasPrefix(f.Path, "/") || slices.Contains(strings.Split(f.Path, "/"), "..") {
				v.at(fat+".path", fmt.Sprintf("%q is not a path inside the repo", f.Path), "a relative path without ..", "path: pants.toml")
			}
			v.templates(fat+".content", f.Content, planted)
		}
		for k, val := range s.Env {
			v.templates(at+".env."+k, val, planted)
		}
		v.host(at, s)
		for j, g := range s.Goals {
			v.templates(fmt.Sprintf("%s.goals[%d]", at, j), g, planted)
		}
		for j, a := range s.Args {
			v.templates(fmt.Sprintf("%s.args[%d]", at, j), a, planted)
		}
		for j, cmd := range s.Prepare {
			if len(cmd) == 0 {
				v.at(fmt.Sprintf("%s.prepare[%d]", at, j), "empty command", "argv as a list", "[git, init, -q]")
			}
			for k, a := range cmd {
				// {{tool}} as the first word runs the tool under test
				// itself (its own `telemetry disable` command).
				if k == 0 && a == ToolTemplate {
					continue
				}
				v.templates(fmt.Sprintf("%s.prepare[%d][%d]", at, j, k), a, planted)
			}
		}
		v.sink(at+".sink", s.Sink)
		runNames := map[string]bool{}
		for j, r := range s.Runs {
			rat := fmt.Sprintf("%s.runs[%d]", at, j)
			if !nameRe.MatchString(r.Name) || runNames[r.Name] {
				v.at(rat+".name", fmt.Sprintf("empty, malformed or duplicate run name %q", r.Name), "unique lower-case words joined by -", "name: repo-a-1")
			}
			runNames[r.Name] = true
			if r.Set == "" {
				v.at(rat+".set", "empty canary set name", "a name shared by runs with the same canary values", "set: a")
			}
			if r.Sink != nil {
				v.sink(rat+".sink", *r.Sink)
			}
		}
		v.oneOf(at+".expect.reports", s.Expect.Reports, allReports, "reports: one")
		v.oneOf(at+".expect.exit", s.Expect.Exit, allExits, "exit: success")
		if len(s.Clauses) == 0 {
			v.at(at+".clauses", "a scenario must exercise at least one clause", "client-testable clause ids", "clauses: [consent.nothing-until-opt-in]")
		}
		dup := map[string]bool{}
		for j, id := range s.Clauses {
			cat := fmt.Sprintf("%s.clauses[%d]", at, j)
			c, err := p.Clause(id)
			switch {
			case err != nil:
				v.at(cat, fmt.Sprintf("unknown clause %q", id), "an id under clauses", "consent.nothing-until-opt-in")
			case c.Testable != TestableClient:
				v.at(cat, fmt.Sprintf("clause %q is %s and cannot be exercised by a scenario", id, c.Testable), "client-testable clause ids", "")
			case dup[id]:
				v.at(cat, fmt.Sprintf("clause %q listed twice", id), "each clause once", "")
			}
			dup[id] = true
			exercised[id] = true
		}
		v.evidence(at, &s, planted)
		if sw := s.Sweep; sw != nil {
			v.sweep(at+".sweep", sw)
		}
		if d := s.Diagnostic; d != nil {
			v.regex(at+".diagnostic.marker", d.Marker)
			if !itemsRe.MatchString(d.Items) {
				v.at(at+".diagnostic.items", fmt.Sprintf("%q is not an items path", d.Items), "$, $[*], $.key[*] or $.key.key[*]", "items: '$[*]'")
			}
			if d.Printed != "" && !itemsRe.MatchString(d.Printed) {
				v.at(at+".diagnostic.printed", fmt.Sprintf("%q is not an items path", d.Printed), "$, $[*], $.key[*] or $.key.key[*]", "printed: '$[*]'")
			}
			if d.Compare != "" {
				if _, err := p.Scenario(d.Compare); err != nil || d.Compare == s.Name {
					v.at(at+".diagnostic.compare", fmt.Sprintf("%q names no other scenario", d.Compare), "the name of a scenario that sends", "compare: default")
				}
			}
		}
	}
	for i, c := range p.Clauses {
		if c.Testable == TestableClient && !exercised[c.ID] && clauseIDRe.MatchString(c.ID) {
			v.at(fmt.Sprintf("clauses[%d].id", i), fmt.Sprintf("client-testable clause %q is exercised by no scenario", c.ID), "a scenario listing it under clauses", "clauses: ["+c.ID+"]")
		}
	}
}

// Locale and time zone shapes: a POSIX locale name (C, POSIX,
// language_TERRITORY.codeset@modifier) and an IANA zone name or UTC offset
// spelling TZ accepts; checked by shape so that a policy means the same on
// every runner, whatever locales and zone files it has.
var (
	localeRe   = regexp.MustCompile(`^(C|POSIX|[a-z]{2,3}(_[A-Z]{2})?)(\.[A-Za-z0-9-]+)?(@[a-z]+)?$`)
	timezoneRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)
)

// host checks a scenario's host facts, and that its env does not set a
// variable the host facts decide to something else (the run would then
// be pinned twice, one way in the report and another for the tool).
func (v *validator) host(at string, s Scenario) {
	h := s.Host
	hat := at + ".host"
	if h.Container != "" {
		v.oneOf(hat+".container", h.Container, capture.Containers(), "container: docker")
	}
	if h.CI != "" {
		v.oneOf(hat+".ci", h.CI, capture.CIVendors(), "ci: github-actions")
	}
	if h.Locale != "" && !localeRe.MatchString(h.Locale) {
		v.at(hat+".locale", fmt.Sprintf("%q is not a locale name", h.Locale), "C, POSIX or language_TERRITORY.codeset", "locale: en_US.UTF-8")
	}
	if h.Timezone != "" && !timezoneRe.MatchString(h.Timezone) {
		v.at(hat+".timezone", fmt.Sprintf("%q is not a time zone name", h.Timezone), "an IANA zone such as UTC or Europe/Berlin", "timezone: UTC")
	}
	pinned := map[string]string{}
	for _, kv := range (capture.Host{Container: h.Container, CI: h.CI, Locale: h.Locale, Timezone: h.Timezone}).Env() {
		k, val, _ := strings.Cut(kv, "=")
		pinned[k] = val
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !capture.HostVariable(k) {
			continue
		}
		if want, ok := pinned[k]; ok && want == s.Env[k] {
			continue // repeats what the host facts give it
		}
		var field, has string
		switch {
		case k == "TZ":
			field = "timezone: " + s.Env[k]
		case k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_"):
			field = "locale: " + s.Env[k]
		case k == "TERM":
			field = "tty: true"
		default:
			field = "ci: github-actions"
		}
		if want, ok := pinned[k]; ok {
			has = fmt.Sprintf("it gives %s=%s", k, want)
		} else {
			has = fmt.Sprintf("it sets no %s", k)
		}
		v.at(at+".env."+k, fmt.Sprintf("%s is a host fact, which the scenario's host block decides (%s)", k, has), "set the fact under host and drop it from env", "host: {"+field+"}")
	}
}

func (v *validator) sink(at string, s Sink) {
	if s.Status != 0 && (s.Status < 100 || s.Status > 599) {
		v.at(at+".status", fmt.Sprintf("status %d is not an HTTP status", s.Status), "100-599, or 0 for 200", "status: 500")
	}
	if s.Delay < 0 {
		v.at(at+".delay", "negative delay", "a duration >= 0", "delay: 10s")
	}
}

func (v *validator) templates(at, s string, planted map[string]bool) {
	for _, m := range templateRe.FindAllStringSubmatch(s, -1) {
		name := m[1]
		if name == "repo_id" {
			continue
		}
		role, ok := strings.CutPrefix(name, "canary.")
		if !ok {
			v.at(at, fmt.Sprintf("unknown template {{%s}}", name), "{{canary.<role>}} or {{repo_id}}", "{{canary.config-value}}")
			continue
		}
		if !planted[role] {
			v.at(at, fmt.Sprintf("template {{canary.%s}} names a role this scenario does not plant", role), "a role listed under the scenario's canaries", "canaries: ["+role+"]")
		} else if plan, ok := v.p.CanaryPlan(role); ok && (plan.Plant == PlantWorkdir || plan.Plant == PlantCommand) {
			v.at(at, fmt.Sprintf("template {{canary.%s}} names a role recorded only after the files are written (plant %s)", role, plan.Plant), "a role of another plant", "")
		}
	}
}

// evidence checks a scenario's evidence requirements and its delivery.
func (v *validator) evidence(at string, s *Scenario, planted map[string]bool) {
	ids := map[string]bool{}
	for j, e := range s.Evidence {
		eat := fmt.Sprintf("%s.evidence[%d]", at, j)
		v.uniqueName(eat+".id", e.ID, ids, "id: custom-task-event")
		if strings.TrimSpace(e.What) == "" {
			v.at(eat+".what", "say in words what must arrive", "a short description", "what: the task event of the custom task")
		}
		if _, ok := v.p.Field(e.Field); !ok {
			v.at(eat+".field", fmt.Sprintf("unknown field %q", e.Field), fieldNames(v.p), "field: task")
		}
		if e.From != "" && !planted[e.From] {
			v.at(eat+".from", fmt.Sprintf("role %q is not planted in this scenario", e.From), "a role listed under the scenario's canaries", "from: custom-task")
		}
		if len(e.Clauses) == 0 {
			v.at(eat+".clauses", "name the clauses that need this evidence", "clause ids the scenario lists", "clauses: [names.not-collected]")
		}
		for k, id := range e.Clauses {
			if !slices.Contains(s.Clauses, id) {
				v.at(fmt.Sprintf("%s.clauses[%d]", eat, k), fmt.Sprintf("clause %q is not one the scenario exercises", id), "ids under the scenario's clauses", "")
			}
		}
	}
	if d := s.Delivery; d != nil {
		dat := at + ".delivery"
		if v.oneOf(dat+".mode", d.Mode, []string{DeliveryComplete, DeliveryBestEffort}, "mode: best-effort") {
			switch {
			case d.Attempts < 0 || d.Attempts > MaxAttempts:
				v.at(dat+".attempts", fmt.Sprintf("%d attempts", d.Attempts), fmt.Sprintf("1 to %d", MaxAttempts), "attempts: 3")
			case d.Mode == DeliveryBestEffort && len(s.Evidence) == 0:
				v.at(dat+".mode", "best-effort delivery needs evidence to wait for", "an evidence list on the scenario, which decides when an attempt is enough", "evidence: [{id: ..., field: ..., clauses: [...]}]")
			case d.Mode == DeliveryComplete && d.Attempts > 1:
				v.at(dat+".attempts", "complete delivery runs once", "mode: best-effort for more attempts", "attempts: 1")
			}
		}
	}
}

// sweep checks a scenario's sweep: it plants something, and each config
// file is a path inside the repo copy with JSON paths to plant at.
func (v *validator) sweep(at string, sw *Sweep) {
	if !sw.Swept() {
		v.at(at, "the sweep plants nothing", "env: true, or config files", "sweep: {env: true}")
	}
	for i, c := range sw.Config {
		cat := fmt.Sprintf("%s.config[%d]", at, i)
		if clean := path.Clean(c.File); c.File == "" || path.IsAbs(c.File) || clean == ".." || strings.HasPrefix(clean, "../") {
			v.at(cat+".file", fmt.Sprintf("%q is not a path inside the repo copy", c.File), "a relative path", "file: turbo.json")
		}
		for j, p := range c.Values {
			if !wildPathRe.MatchString(p) {
				v.at(fmt.Sprintf("%s.values[%d]", cat, j), fmt.Sprintf("%q is not a JSON path", p), "$.key, $.key[*], $.*.key", "'$.tasks.*.outputs[*]'")
			}
		}
		for j, p := range c.Keys {
			if !wildPathRe.MatchString(p) {
				v.at(fmt.Sprintf("%s.keys[%d]", cat, j), fmt.Sprintf("%q is not a JSON path", p), "$, $.key, $.key.*", "$.tasks")
			}
		}
	}
}
