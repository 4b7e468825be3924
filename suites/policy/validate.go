package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	// itemsRe is a Diagnostic.Items path: keys and [*] after $.
	itemsRe     = regexp.MustCompile(`^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\*\])*$`)
	clauseIDRe  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$`)
	nameRe      = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	roleRe      = nameRe
	fieldNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	pathRe      = regexp.MustCompile(`^\$(\.[A-Za-z_][A-Za-z0-9_-]*)*$`)
	// wildPathRe also allows [*] (every element of an array) and .* (every
	// member of an object): $[*].*.key for a list of events of several kinds.
	wildPathRe   = regexp.MustCompile(`^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\*\]|\.\*)*$`)
	headerRe     = regexp.MustCompile(`^header:[A-Za-z0-9!#$%&'*+.^_|~-]+$`)
	methodRe     = regexp.MustCompile(`^[A-Z]+$`)
	templateRe   = regexp.MustCompile(`\{\{\s*([^}]*?)\s*\}\}`)
	allTypes     = []string{TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeStringList, TypeJSONString, TypeTagList, TypeObject}
	allFormats   = []string{FormatSHA256Hex, FormatUnixTime}
	allDerive    = []string{DeriveEquals, DeriveElement, DeriveSubstring, DeriveVersionPrefix, DeriveTemplate}
	allPlants    = []string{PlantEnv, PlantUser, PlantHostname, PlantNode, PlantRepoID, PlantRepoDir, PlantHomeDir, PlantTemplate, PlantWorkdir, PlantCommand}
	allReports   = []string{ReportsNone, ReportsOne, ReportsAtMostOne, ReportsSome}
	allExits     = []string{ExitSuccess, ExitFailure, ExitAny}
	allTestables = []string{TestableClient, TestableServerSide}
)

// validator checks what the shapes cannot: references, uniqueness,
// regexes, and that every client-testable clause is exercised.
type validator struct {
	p *Policy
	w *walker
}

// at reports a problem at the node of path (falling back to its parent).
func (v *validator) at(path, msg, allowed, example string) {
	n := v.node(path)
	v.w.add(n, path, msg, meta{allowed: allowed, example: example})
}

func (v *validator) node(path string) *yaml.Node {
	for p := path; p != ""; {
		if n, ok := v.w.nodes[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return v.w.nodes[""]
}

func (v *validator) has(path string) bool {
	_, ok := v.w.nodes[path]
	return ok
}

func (v *validator) oneOf(path, val string, allowed []string, example string) bool {
	if slices.Contains(allowed, val) {
		return true
	}
	v.at(path, fmt.Sprintf("%q is not allowed", val), strings.Join(allowed, ", "), example)
	return false
}

func (v *validator) regex(path, expr string) {
	if _, err := regexp.Compile(expr); err != nil {
		v.at(path, "not a valid regular expression: "+err.Error(), "Go RE2 syntax", `'^[0-9]+$'`)
	}
}

func (v *validator) validate() {
	p := v.p
	if p.Version != 1 {
		v.at("version", fmt.Sprintf("unsupported version %d", p.Version), "1", "version: 1")
	}
	e := p.Endpoint
	v.oneOf("endpoint.scheme", e.Scheme, []string{"http", "https"}, "scheme: https")
	if e.Host == "" || strings.ContainsAny(e.Host, "/: ") {
		v.at("endpoint.host", fmt.Sprintf("%q is not a host name", e.Host), "a DNS name or IP address without scheme or port", "host: spire.bugout.dev")
	}
	if e.Port < 0 || e.Port > 65535 {
		v.at("endpoint.port", fmt.Sprintf("port %d out of range", e.Port), "1-65535, or 0 for the scheme's default", "port: 443")
	}
	if !strings.HasPrefix(e.Path, "/") {
		v.at("endpoint.path", fmt.Sprintf("%q does not start with /", e.Path), "an absolute URL path", "path: /humbug/reports")
	}
	if !methodRe.MatchString(e.Method) {
		v.at("endpoint.method", fmt.Sprintf("%q is not an HTTP method", e.Method), "an upper-case method name", "method: POST")
	}
	v.oneOf("payload.encoding", p.Payload.Encoding, []string{"json"}, "encoding: json")
	for i, c := range p.Payload.Closed {
		if !wildPathRe.MatchString(c) {
			v.at(fmt.Sprintf("payload.closed[%d]", i), fmt.Sprintf("%q is not an object path", c), "$, $.key.key, $[*].key or $[*].*", "$.content")
		}
	}
	v.toolVersions()
	v.otherTraffic()
	v.vocabularies()
	v.fields()
	v.canaries()
	v.states()
	v.ids()
	v.clauses()
	v.interpretations()
	v.scenarios()
}

// uniqueName reports a name that is not lower-case words joined by -, or
// that seen already holds, and adds it to seen.
func (v *validator) uniqueName(at, name string, seen map[string]bool, example string) {
	if !nameRe.MatchString(name) || seen[name] {
		v.at(at, fmt.Sprintf("empty, malformed or duplicate name %q", name), "unique lower-case words joined by -", example)
	}
	seen[name] = true
}
