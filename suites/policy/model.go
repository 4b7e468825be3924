package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy is a published telemetry promise turned into data.
type Policy struct {
	// Version is the policy format version; only 1 exists.
	Version int `yaml:"version" example:"1"`
	// Tool names the tool and the page that makes the promise.
	Tool Tool `yaml:"tool"`
	// Endpoint is the one place reports may go.
	Endpoint Endpoint `yaml:"endpoint"`
	// OtherTraffic declares requests the tool makes that are not telemetry
	// (a version check, a package registry), each with its reason: they
	// are reported as attributed traffic, not as telemetry destinations,
	// and are still searched for every planted value.
	OtherTraffic []OtherTraffic `yaml:"other_traffic,omitempty"`
	// Payload says how a report's body is encoded and nested.
	Payload Payload `yaml:"payload"`
	// Fields are the values a report may carry, documented ones and the
	// envelope that holds them.
	Fields []Field `yaml:"fields"`
	// Vocabularies are named closed sets of values (e.g. standard goals).
	Vocabularies map[string][]string `yaml:"vocabularies,omitempty"`
	// IDs says how each pseudonymous id is computed from planted inputs.
	IDs *IDs `yaml:"ids,omitempty"`
	// Canaries is the plan of what the harness plants where.
	Canaries []CanaryPlan `yaml:"canaries,omitempty"`
	// State names the files in which the tool keeps its telemetry state
	// (opt-out flag, random id, local salt); the runner copies them into
	// the run folder after each run so the hash oracle can read them back.
	// One name may be listed with several places (where the host facts
	// decide it): the runner copies whichever the run left.
	State []StateFile `yaml:"state,omitempty"`
	// Clauses are the promises, one per sentence of the page that promises.
	Clauses []Clause `yaml:"clauses"`
	// Interpretations are the readings of a clause more lenient than its
	// words that the project believes reasonable, each named, reasoned and
	// quoted, and shown in every report that uses one; --strict ignores
	// them. A clause's checks say what the page says; an interpretation
	// never hides in a widened pattern.
	Interpretations []Interpretation `yaml:"interpretations,omitempty"`
	// Scenarios are the runs that exercise the clauses.
	Scenarios []Scenario `yaml:"scenarios"`

	// File is the path the policy was loaded from; empty for a policy
	// built in code.
	File string `yaml:"-"`
}

// Tool names the tool under test and its promise.
type Tool struct {
	// Name is a short name of the tool, e.g. "pants".
	Name string `yaml:"name" example:"pants"`
	// Promise is the page the clauses paraphrase.
	Promise Promise `yaml:"promise"`
	// Config names the tool's config file and the telemetry section in it;
	// empty when the tool is configured otherwise.
	Config *ToolConfig `yaml:"config,omitempty"`
	// Versions is the semver range of the tool's releases the promise text
	// and wire shape were checked against; empty when unknown. A matrix or
	// bisect notes every version outside it.
	Versions string `yaml:"versions,omitempty" example:">=2.13 <2.17"`
	// Salts are constants the tool's published source mixes into its
	// hashes (Storybook's "storybook-telemetry-salt"). The canary search
	// tries them as salts like the planted values: a hash under a salt
	// everyone can read reverses as easily as an unsalted one. They only
	// let the search find more; nothing is allowed by them.
	Salts []string `yaml:"salts,omitempty" example:"[storybook-telemetry-salt]"`
}

// Promise identifies the page that makes the promise.
type Promise struct {
	Title string `yaml:"title" example:"Anonymous telemetry"`
	URL   string `yaml:"url" example:"https://www.pantsbuild.org/2.16/docs/using-pants/anonymous-telemetry"`
	// Retrieved is when the page text was read (YYYY-MM-DD); empty if unknown.
	Retrieved string `yaml:"retrieved,omitempty" example:"2026-05-01"`
}

// ToolConfig is where the tool's telemetry settings live.
type ToolConfig struct {
	File    string `yaml:"file" example:"pants.toml"`
	Section string `yaml:"section,omitempty" example:"anonymous-telemetry"`
}

// Endpoint is the documented destination of reports.
type Endpoint struct {
	Scheme string `yaml:"scheme" allowed:"http, https" example:"https"`
	Host   string `yaml:"host" example:"spire.bugout.dev"`
	// Port is the TCP port; 0 means the scheme's default.
	Port   int    `yaml:"port,omitempty" example:"443"`
	Path   string `yaml:"path" example:"/humbug/reports"`
	Method string `yaml:"method" example:"POST"`
	// Headers lists the request headers a report may carry.
	Headers Headers `yaml:"headers"`
}

// Strict returns a copy of the policy without its interpretations: every
// clause judged by its words alone.
func (p *Policy) Strict() *Policy {
	q := *p
	q.Interpretations = nil
	return &q
}

// Interpretation accepts, for one clause, values its checks would flag.
type Interpretation struct {
	// ID names it in reports.
	ID string `yaml:"id" example:"generic-task-names"`
	// Clause is the clause it relaxes.
	Clause string `yaml:"clause" example:"names.not-collected"`
	// Accepts says which values are accepted.
	Accepts Accepts `yaml:"accepts"`
	// Why is the project's reasoning, and Quote the page's words read.
	Why   string `yaml:"why" example:"generic task names from the tool's own list say nothing about the user"`
	Quote string `yaml:"quote" example:"We DO NOT collect ... task names"`
}

// Accepts are values of a field that a clause's field-format checks let
// pass under an interpretation.
type Accepts struct {
	Field  string   `yaml:"field" example:"task"`
	Values []string `yaml:"values" example:"[build, test, lint]"`
}

// OtherTraffic is one declared destination of the tool's own, non-telemetry
// requests.
type OtherTraffic struct {
	// Name names it in reports.
	Name string `yaml:"name" example:"npm-registry"`
	// Host is the host, matched exactly (case-insensitively).
	Host string `yaml:"host" example:"registry.npmjs.org"`
	// Path, when set, is a path prefix the request's path must start with.
	Path string `yaml:"path,omitempty" example:"/next"`
	// Methods, when set, are the only methods it covers.
	Methods []string `yaml:"methods,omitempty" example:"[GET]"`
	// Reason says why the tool contacts it, and on what evidence.
	Reason string `yaml:"reason" example:"asks for the latest version when it thinks an AI agent runs it"`
}

// Covers reports whether a request (method, host without port, path) is
// this declared traffic.
func (t *OtherTraffic) Covers(method, host, path string) bool {
	if !strings.EqualFold(strings.TrimSuffix(host, "."), t.Host) || !strings.HasPrefix(path, t.Path) {
		return false
	}
	return len(t.Methods) == 0 || slices.ContainsFunc(t.Methods, func(m string) bool { return strings.EqualFold(m, method) })
}

// Attribute returns the declared other traffic a request belongs to.
func (p *Policy) Attribute(method, host, path string) (*OtherTraffic, bool) {
	for i := range p.OtherTraffic {
		if p.OtherTraffic[i].Covers(method, host, path) {
			return &p.OtherTraffic[i], true
		}
	}
	return nil, false
}

// Headers are the request headers allowed on a report.
type Headers struct {
	// Allowed header names, matched case-insensitively.
	Allowed []string `yaml:"allowed" example:"[Host, User-Agent, Content-Type]"`
	// Secret header names: allowed, but their values are never printed
	// (e.g. the vendor's bearer token, which is not user data).
	Secret []string `yaml:"secret,omitempty" example:"[Authorization]"`
}

// Payload says how a report body is encoded and what nests inside it.
type Payload struct {
	// Encoding of the request body; only "json" exists.
	Encoding string `yaml:"encoding" allowed:"json" example:"json"`
	// Closed lists the JSON objects (by path) in which every key must be a
	// declared field; keys of other objects are not checked. [*] matches
	// every array element ($[*].task for each event's task object).
	Closed []string `yaml:"closed" example:"[$, $.content]"`
}

// Field types.
const (
	TypeString     = "string"
	TypeNumber     = "number"  // a JSON number or a decimal string
	TypeInteger    = "integer" // a JSON integer or an integer string
	TypeBoolean    = "boolean"
	TypeStringList = "string-list"
	TypeJSONString = "json-string" // a string holding JSON, parsed and checked like the body
	TypeTagList    = "tag-list"    // a list of "key<sep>value" strings
	TypeObject     = "object"      // a JSON object (e.g. one kind of event in a list of events)
)

// Field formats.
const (
	FormatSHA256Hex = "sha256-hex" // 64 lowercase hex digits
	FormatUnixTime  = "unix-seconds"
)

// Field is one value a report may carry.
type Field struct {
	// Name is how clauses and tags refer to the field.
	Name string `yaml:"name" example:"run_id"`
	// Path is where the field sits in the observation, e.g. $.content.run_id;
	// [*] matches every element of an array ($[*].command.key, for a body
	// that is a list of events), and header:NAME a request header.
	Path string `yaml:"path" example:"$.content.run_id"`
	// Envelope marks a field that carries the documented ones (title,
	// content, tags) rather than being one of them; false by default.
	Envelope bool `yaml:"envelope,omitempty" example:"true"`
	// Doc is the page's words for the field; empty for envelope fields.
	Doc  string `yaml:"doc,omitempty" example:"The unique id of the run"`
	Type string `yaml:"type" allowed:"string, number, integer, boolean, string-list, json-string, tag-list, object" example:"string"`
	// Format names a built-in format; empty for none.
	Format string `yaml:"format,omitempty" allowed:"sha256-hex, unix-seconds" example:"sha256-hex"`
	// Pattern is a regular expression (Go RE2 syntax) a string value must
	// match; empty for none.
	Pattern string `yaml:"pattern,omitempty" example:"^[0-9]+\\.[0-9]+"`
	// Enum lists the only values allowed; empty for any.
	Enum []string `yaml:"enum,omitempty" example:"[SUCCESS, FAILURE]"`
	// AllowEmpty lets the empty string (and JSON null) pass Type, Format
	// and Pattern; false by default.
	AllowEmpty bool `yaml:"allow_empty,omitempty" example:"true"`
	// Vocabulary names the closed set the list's elements come from.
	Vocabulary string `yaml:"vocabulary,omitempty" example:"standard_goals"`
	// Required fields must be present in every report; false by default.
	Required bool `yaml:"required,omitempty" example:"true"`
	// Derive says how the value is computed from another field; nil when
	// it is a datum of its own.
	Derive *Derive `yaml:"derive,omitempty"`
	// Sep splits a tag-list's entries into key and value.
	Sep string `yaml:"sep,omitempty" example:":"`
	// Tags declares the tag keys of a tag-list.
	Tags []Tag `yaml:"tags,omitempty"`
	// Varies declares that the value differs between two runs with
	// identical inputs (a time stamp, a duration, a random id): a
	// differential run (`run --differential`) then expects it to vary, and
	// the field's own check (format, pattern, enum, or a random or run-id
	// check naming it) judges it instead. Empty: the value must repeat.
	Varies string `yaml:"varies,omitempty" allowed:"per-run" example:"per-run"`
}

// VariesPerRun is the only Varies value: the field changes from run to run.
const VariesPerRun = "per-run"

// Derivation rules: how a value is computed from a field.
const (
	DeriveEquals        = "equals"         // the same value
	DeriveElement       = "element"        // one entry per element of a list field
	DeriveSubstring     = "substring"      // a part of the field's value
	DeriveVersionPrefix = "version-prefix" // a dot-boundary prefix of a version
	DeriveTemplate      = "template"       // Template with {value} replaced
)

// Derive says how a value repeats or derives from a documented field.
type Derive struct {
	From string `yaml:"from" example:"platform"`
	Rule string `yaml:"rule" allowed:"equals, element, substring, version-prefix, template" example:"substring"`
	// Template is used by rule template: "{value}" stands for the field.
	Template string `yaml:"template,omitempty" example:"pants run {value}"`
	// How says in words how the tool computes it.
	How string `yaml:"how,omitempty" example:"platform.uname().system, which platform.platform() also holds"`
}

// Tag is one allowed key of a tag list.
type Tag struct {
	Key string `yaml:"key" example:"os"`
	// Const is the only value allowed; empty when the value derives.
	Const string `yaml:"const,omitempty" example:"pantsbuild/pants"`
	// Derive says which field the value repeats or derives from.
	Derive *Derive `yaml:"derive,omitempty"`
	// Required tags must be present in every report; false by default.
	Required bool `yaml:"required,omitempty" example:"true"`
}

// Bases a state file's path is relative to.
const (
	StateBaseHome = "home" // the run's fresh HOME
	StateBaseRepo = "repo" // the run's repo copy
)

// StateFile is a file the tool writes its telemetry state to.
type StateFile struct {
	// Name is how ids refer to the file; the runner copies it to
	// <run folder>/state/<name>.
	Name string `yaml:"name" example:"turbo-config"`
	// Base is the folder Path is relative to.
	Base string `yaml:"base" allowed:"home, repo" example:"home"`
	// Path is the file's path inside Base.
	Path string `yaml:"path" example:".config/turborepo/telemetry.json"`
}

// StateValue is one value inside a JSON state file.
type StateValue struct {
	// State names a file under the policy's state.
	State string `yaml:"state" example:"turbo-config"`
	// Path is the value's JSON path in it ($.key.key).
	Path string `yaml:"path" example:"$.telemetry_salt"`
}

// IDs says how pseudonymous ids are computed.
type IDs struct {
	// Hash is the hash function; only "sha256" exists.
	Hash string `yaml:"hash" allowed:"sha256" example:"sha256"`
	// Salt is the canary role whose value salts every id (the repo id);
	// empty when SaltFrom is set, or when every id is a random value kept in
	// the tool's state (IDField.State).
	Salt string `yaml:"salt,omitempty" example:"repo-id"`
	// SaltFrom reads the salt back from the tool's state after the run,
	// for tools that draw their own local salt; nil when Salt is set.
	SaltFrom *StateValue `yaml:"salt_from,omitempty"`
	// Separators between salt and input that the promise allows; the page
	// says "concatenation", Pants used a dot.
	Separators []string `yaml:"separators" example:"[\".\", \"\"]"`
	// Fields maps each id field to the canary role it hashes.
	Fields []IDField `yaml:"fields"`
}

// IDField is one pseudonymous id.
type IDField struct {
	Field string `yaml:"field" example:"user_id"`
	// Input is the canary role hashed with the salt; empty for the salt
	// alone (sha256(R)), or when State is set.
	Input string `yaml:"input,omitempty" example:"user"`
	// State, when set, says the id is a random value the tool keeps in its
	// state: the sent id must equal it (and be no hash of a planted value).
	State *StateValue `yaml:"state,omitempty"`
}

// Where a canary can be planted.
const (
	PlantEnv      = "env"      // as the value of the listed environment variables
	PlantUser     = "user"     // as the user name (USER, LOGNAME, USERNAME)
	PlantHostname = "hostname" // as the host name (needs a namespace)
	PlantNode     = "node"     // as the MAC / uuid.getnode() (needs a namespace)
	PlantRepoID   = "repo-id"  // as the tool's repo id
	PlantRepoDir  = "repo-dir" // as a folder name in the repo copy's path
	PlantHomeDir  = "home-dir" // as the fresh HOME folder's name
	PlantTemplate = "template" // wherever a scenario's templates put it
	// PlantWorkdir records the absolute path of the run's repo copy (which
	// the repo-dir canary is part of): a tool may hash the whole path.
	PlantWorkdir = "workdir"
	// PlantCommand records the trimmed output of Command run in the repo
	// copy after the prepare commands (e.g. the first commit's id): values
	// the tool derives from what the harness made, not planted directly.
	PlantCommand = "command"
)

// CanaryPlan says how the harness plants one canary role.
type CanaryPlan struct {
	Role string `yaml:"role" example:"user"`
	// Plant says where it goes.
	Plant string `yaml:"plant" allowed:"env, user, hostname, node, repo-id, repo-dir, home-dir, template, workdir, command" example:"user"`
	// Env lists environment variables set to the value (plant env/user).
	Env []string `yaml:"env,omitempty" example:"[USER, LOGNAME, USERNAME]"`
	// Command is the argv whose output is the value (plant command).
	Command []string `yaml:"command,omitempty" example:"[git, rev-list, --max-parents=0, HEAD]"`
	// Pattern is what a generated value must look like (so that, e.g., a
	// goal name or repo id is valid for the tool); empty for the default
	// word form.
	Pattern string `yaml:"pattern,omitempty" example:"^[a-z][a-z0-9-]{15,40}$"`
	// MinPrefix is how many leading characters of the value count as a
	// leak when a tool cuts the rest (the search's default is 12); at
	// least 8. Set it lower where the tool is known to keep fewer.
	MinPrefix int `yaml:"min_prefix,omitempty" example:"12"`
	// Note explains the plan in words.
	Note string `yaml:"note,omitempty" example:"lands in the error message of a failing run"`
}

// Testability of a clause.
const (
	TestableClient     = "client"
	TestableServerSide = "server-side"
)

// Clause is one promise of the page.
type Clause struct {
	ID string `yaml:"id" example:"consent.nothing-until-opt-in"`
	// Promise is our paraphrase.
	Promise string `yaml:"promise" example:"no request at all unless telemetry is enabled"`
	// Section is the page section the promise comes from.
	Section string `yaml:"section" example:"Opting in to telemetry"`
	// Quote is the page's own sentence; empty when paraphrased only.
	Quote    string `yaml:"quote,omitempty" example:"No telemetry is sent until you opt into this feature."`
	Testable string `yaml:"testable" allowed:"client, server-side" example:"client"`
	// Checks implement the clause; empty for server-side clauses.
	Checks []Check `yaml:"checks,omitempty"`
}

// Check kinds.
const (
	KindNothingSent      = "nothing-sent"
	KindNoLogMention     = "no-log-mention"
	KindAllowedFields    = "allowed-fields"
	KindAllowedHeaders   = "allowed-headers"
	KindRequiredFields   = "required-fields"
	KindFieldFormat      = "field-format"
	KindIDSalted         = "id-salted"
	KindIDsUnlinkable    = "ids-unlinkable"
	KindIDsAbsent        = "ids-absent"
	KindGoalsSubset      = "goals-subset"
	KindGoalCount        = "goal-count"
	KindCanaryAbsent     = "canary-absent"
	KindForbiddenPattern = "forbidden-patterns"
	KindDestination      = "destination"
	KindOneReport        = "one-report"
	KindRunID            = "run-id"
	KindBackground       = "background"
	KindFailureHarmless  = "failure-harmless"
	KindEgress           = "egress"
	KindRandom           = "random"
	KindDifferential     = "differential"
)

// Check is one data-driven check; which parameters apply depends on Kind
// (the loader rejects parameters a kind does not read).
type Check struct {
	Kind string `yaml:"kind" example:"canary-absent"`
	// Fields names the fields a check reads (field-format, ids-absent,
	// ids-unlinkable).
	Fields []string `yaml:"fields,omitempty" example:"[repo_id, machine_id, user_id]"`
	// Field names the one field a check reads (goals-subset, goal-count,
	// run-id).
	Field string `yaml:"field,omitempty" example:"standard_goals"`
	// Tag names a tag key whose values the check also reads (goals-subset).
	Tag string `yaml:"tag,omitempty" example:"goal"`
	// Vocabulary names the closed set of allowed values (goals-subset).
	Vocabulary string `yaml:"vocabulary,omitempty" example:"standard_goals"`
	// Roles are the canary roles that must not appear (canary-absent).
	Roles []string `yaml:"roles,omitempty" example:"[user, host, node]"`
	// IgnoreForms are canary forms that are not a leak for these roles
	// (canary-absent): the documented repo_id is the sha256 of the raw repo
	// id, so that form of the repo-id canary is expected.
	IgnoreForms []string `yaml:"ignore_forms,omitempty" example:"[sha256]"`
	// Patterns are regular expressions that must not match (no-log-mention:
	// stdout/stderr; forbidden-patterns: request bodies and URLs).
	Patterns []string `yaml:"patterns,omitempty" example:"['(?i)telemetry']"`
	// Tolerance is how much longer a run may take (background).
	Tolerance Duration `yaml:"tolerance,omitempty" example:"2s"`
	// MaxRequests is the most requests a run may make (failure-harmless).
	MaxRequests int `yaml:"max_requests,omitempty" example:"1"`
	// TimePattern's first group is the run id's time stamp (run-id).
	TimePattern string `yaml:"time_pattern,omitempty" example:"^pants_run_([0-9_]{19})_"`
	// TimeLayout is Go's layout of that time stamp (run-id).
	TimeLayout string `yaml:"time_layout,omitempty" example:"2006_01_02_15_04_05"`
	// TimeZone is the zone the tool writes the time stamp in; the
	// scenarios set TZ to it (run-id). Empty means UTC.
	TimeZone string `yaml:"time_zone,omitempty" example:"UTC"`
	// TimestampField is a unix-seconds field that must lie in the run's
	// window too (run-id); empty for none.
	TimestampField string `yaml:"timestamp_field,omitempty" example:"timestamp"`
	// Slack widens the run window on both sides (run-id), for clock
	// granularity.
	Slack Duration `yaml:"slack,omitempty" example:"1s"`
	// Random is what the field's random part is (random): uuid4 (a
	// version-4 UUID, 32 hex digits with or without dashes) or bytes
	// (RandomBytes bytes, as hex or base64).
	Random string `yaml:"random,omitempty" example:"uuid4"`
	// RandomBytes is how many random bytes the part holds (random: bytes).
	RandomBytes int `yaml:"random_bytes,omitempty" example:"16"`
	// RandomPattern's first group is the field's random part (random);
	// empty when the whole value is random.
	RandomPattern string `yaml:"random_pattern,omitempty" example:"'_([0-9a-f]{32})$'"`
	// AllowDirect accepts requests that ignored the configured proxy and
	// reached the sealed namespace's transparent listeners (egress): for
	// a tool that connects directly by design (Node's fetch), whose
	// requests are judged by the other clauses like any other. Escape
	// flows stay findings.
	AllowDirect bool `yaml:"allow_direct,omitempty" example:"true"`
}

// Random kinds (Check.Random).
const (
	RandomUUID4 = "uuid4"
	RandomBytes = "bytes"
)

// Scenario is one way of running the tool, as data for a generic runner.
type Scenario struct {
	Name        string `yaml:"name" example:"opt-in"`
	Description string `yaml:"description" example:"telemetry enabled with a valid repo id"`
	// Repo is the scenario repo, relative to the repository root.
	Repo string `yaml:"repo" example:"fixtures/repos/pants-basic"`
	// Canaries are the roles planted in this scenario.
	Canaries []string `yaml:"canaries,omitempty" example:"[user, home, repo-path]"`
	// Vary lists roles that get a fresh value per canary set (see Runs);
	// every other role keeps one value across the scenario's runs.
	Vary []string `yaml:"vary,omitempty" example:"[repo-id]"`
	// Files are written into the repo copy before the run.
	Files []File `yaml:"files,omitempty"`
	// Env is set for the tool, on top of the tool contract's environment.
	// Variables the host facts decide (TZ, LANG, LC_*, CI ...) may only
	// repeat what Host gives them.
	Env map[string]string `yaml:"env,omitempty" example:"{NEXT_TELEMETRY_DISABLED: \"1\"}"`
	// Host pins the host facts tools branch on; omitted ones are a plain
	// developer machine's (no container, no CI, no TTY, C.UTF-8, UTC).
	Host Host `yaml:"host,omitempty"`
	// Prepare are commands (argv, never a shell) run in the repo copy
	// before the tool, e.g. a tool's own opt-out command; a first word
	// {{tool}} stands for the tool words.
	Prepare [][]string `yaml:"prepare,omitempty" example:"[[git, init, -q]]"`
	// Goals and Args form the tool's command line: goals first.
	Goals []string `yaml:"goals" example:"[test, lint]"`
	Args  []string `yaml:"args,omitempty" example:"['src/python/app::']"`
	// Sink is how the harness answers reports; runs may override it.
	Sink Sink `yaml:"sink,omitempty"`
	// Runs are the runs of this scenario; empty means one run.
	Runs []Run `yaml:"runs,omitempty"`
	// Expect is what a compliant tool does in this scenario.
	Expect Expect `yaml:"expect"`
	// Clauses are the clause ids the scenario exercises.
	Clauses []string `yaml:"clauses" example:"[consent.nothing-until-opt-in]"`
	// Evidence is what some of those clauses need to have seen before they
	// can pass: without it they are not-exercised, never passed.
	Evidence []Evidence `yaml:"evidence,omitempty"`
	// Delivery says whether the tool delivers every report before it exits
	// (the default) or only on a best-effort basis, in which case the
	// scenario is run again until its Evidence arrived.
	Delivery *Delivery `yaml:"delivery,omitempty"`
	// Sweep plants a distinct value in every environment variable the
	// tool may read (its code's, the well-known families'), beyond the
	// scenario's own canaries.
	Sweep *Sweep `yaml:"sweep,omitempty"`
	// Diagnostic marks the scenario as the tool's "show me what you
	// collect" mode: the report says whether it sends, and compares what
	// it prints with what it sends.
	Diagnostic *Diagnostic `yaml:"diagnostic,omitempty"`
}

// Diagnostic says how a tool's debug mode prints its events.
type Diagnostic struct {
	// Marker is a regular expression matching the line printed before each
	// event; the JSON value that follows it is the printed event.
	Marker string `yaml:"marker" example:"'^\\[telemetry event\\]$'"`
	// Items locates the events in a sent body: $ for the body itself,
	// $[*] for a list of events, $.events[*] for a list under a key.
	Items string `yaml:"items" example:"'$[*]'"`
	// Printed locates the events in each printed value: $ (the default)
	// when each printout is one event, $[*] for a printed list.
	Printed string `yaml:"printed,omitempty" example:"'$[*]'"`
	// Compare names the scenario whose sent events the printout is
	// compared with, kind by kind, for a mode that sends nothing itself
	// (it prints instead): is what it shows what the tool sends?
	Compare string `yaml:"compare,omitempty" example:"default"`
}

// SweepRole is the canary role of swept variables; each value's role is
// SweepRole + ":" + the variable's name, which findings then name. A
// check's roles list matches it by SweepRole alone.
const SweepRole = "env-sweep"

// ConfigSweepRole is the canary role of a config sweep's values; each
// value's role is ConfigSweepRole + ":" + FILE + ":" + the JSON path it was
// planted at (PATH{} for a member added under the object at PATH), which
// findings then name. A check's roles list matches it by ConfigSweepRole.
const ConfigSweepRole = "config-sweep"

// SweptRole reports whether role is one of a sweep's (env-sweep:NAME or
// config-sweep:FILE:PATH), and which sweep role a check names it by.
func SweptRole(role string) (sweep string, ok bool) {
	for _, s := range []string{SweepRole, ConfigSweepRole} {
		if strings.HasPrefix(role, s+":") {
			return s, true
		}
	}
	return "", false
}

// MaxSweepRuns bounds the runs a sweep makes to find the variables whose
// planting changes the tool's behaviour.
const MaxSweepRuns = 24

// Sweep is an environment sweep.
type Sweep struct {
	// Env turns the sweep on.
	Env bool `yaml:"env,omitempty" example:"true"`
	// Exclude names variables never planted (each with a reason in a
	// comment: a variable that switches the tool to another service); a
	// trailing * matches a prefix (__NEXT_*).
	Exclude []string `yaml:"exclude,omitempty" example:"[TURBO_TOKEN, __NEXT_*]"`
	// MaxRuns bounds the runs spent finding variables whose planting
	// changes the tool's behaviour; 0 means MaxSweepRuns. A slow tool's
	// sweep (a full build a run) wants fewer.
	MaxRuns int `yaml:"max_runs,omitempty" example:"6"`
	// Config plants values in the scenario's JSON config files: a distinct
	// value in each string the file holds (or those Values names), and a
	// member with a planted name in each object Keys names (the names a
	// user chooses: tasks, profiles, environments).
	Config []ConfigSweep `yaml:"config,omitempty"`
}

// ConfigSweep is the config sweep of one JSON file of the repo copy.
type ConfigSweep struct {
	// File is the file's path in the repo copy, as the scenario's files
	// (after templating) or its repo leave it. A tool whose config is
	// code (next.config.mjs) can import it from a JSON file.
	File string `yaml:"file" example:"turbo.json"`
	// Values are the JSON paths ([*] and .* allowed) of the string values
	// to replace; empty means every string value of the file.
	Values []string `yaml:"values,omitempty" example:"['$.tasks.*.outputs[*]']"`
	// Keys are the JSON paths of objects that get one more member, named
	// by a planted value, whose value copies the object's first member
	// (so that the tool accepts it), or a planted string when it is empty.
	Keys []string `yaml:"keys,omitempty" example:"[$.tasks]"`
}

// Swept reports whether the sweep plants anything.
func (s *Sweep) Swept() bool { return s != nil && (s.Env || len(s.Config) > 0) }

// Excludes reports whether the sweep leaves variable name out.
func (s *Sweep) Excludes(name string) bool {
	for _, e := range s.Exclude {
		if p, ok := strings.CutSuffix(e, "*"); ok && strings.HasPrefix(name, p) || e == name {
			return true
		}
	}
	return false
}

// Runs is the most runs the sweep makes.
func (s *Sweep) Runs() int {
	if s.MaxRuns > 0 && s.MaxRuns < MaxSweepRuns {
		return s.MaxRuns
	}
	return MaxSweepRuns
}

// Evidence is one thing a scenario's clauses must have seen: a field of
// some report, optionally carrying a value derived from a planted role.
type Evidence struct {
	// ID names the requirement in reasons and reports.
	ID string `yaml:"id" example:"custom-task-event"`
	// What says in words what must arrive.
	What string `yaml:"what" example:"the task event of the custom task"`
	// Field is a field name (fields[].name) that some report must carry.
	Field string `yaml:"field" example:"task"`
	// From, when set, is a planted role the field's value must come from:
	// the role's declared id (ids.fields) or its planted value in any form.
	From string `yaml:"from,omitempty" example:"custom-task"`
	// Clauses are the clauses of the scenario that cannot pass without it.
	Clauses []string `yaml:"clauses" example:"[names.not-collected]"`
}

// Delivery modes.
const (
	// DeliveryComplete: the tool sends everything before its last process
	// exits; one attempt judges it.
	DeliveryComplete = "complete"
	// DeliveryBestEffort: the tool may drop a batch at exit (a background
	// sender cancelled with the process); the scenario is attempted again,
	// up to Attempts times, until its evidence arrived, and the union of
	// the attempts is judged.
	DeliveryBestEffort = "best-effort"
)

// MaxAttempts bounds Delivery.Attempts.
const MaxAttempts = 10

// Delivery is how a tool delivers its reports in a scenario.
type Delivery struct {
	Mode string `yaml:"mode" allowed:"complete, best-effort" example:"best-effort"`
	// Attempts is the most times a best-effort scenario runs; 1 when unset.
	Attempts int `yaml:"attempts,omitempty" example:"3"`
}

// AttemptsOf is how many times at most the scenario runs.
func (s *Scenario) AttemptsOf() int {
	if s.Delivery == nil || s.Delivery.Mode != DeliveryBestEffort || s.Delivery.Attempts < 1 {
		return 1
	}
	return s.Delivery.Attempts
}

// Host is the machine a scenario's tool believes it runs on. The harness
// applies it inside the sealed run and hides the host's own facts.
type Host struct {
	// Container makes /.dockerenv (docker) or /run/.containerenv (podman)
	// exist for the tool; none (the default) hides the host's.
	Container string `yaml:"container,omitempty" allowed:"none, docker, podman" example:"docker"`
	// CI gives the tool that CI vendor's usual variables (CI=true ...);
	// none (the default) gives it no CI variable at all.
	CI string `yaml:"ci,omitempty" allowed:"none, generic, github-actions, gitlab-ci, circleci, jenkins, buildkite" example:"github-actions"`
	// TTY makes the tool's stdin, stdout and stderr a terminal; false by
	// default (stdin /dev/null, output to files).
	TTY bool `yaml:"tty,omitempty" example:"true"`
	// Locale is LANG and LC_ALL; C.UTF-8 by default.
	Locale string `yaml:"locale,omitempty" example:"C.UTF-8"`
	// Timezone is TZ; UTC by default.
	Timezone string `yaml:"timezone,omitempty" example:"UTC"`
}

// File is a file the runner writes in the repo copy.
type File struct {
	// Path is relative to the repo copy.
	Path string `yaml:"path" example:"pants.toml"`
	// Mode is write (create or replace) or append.
	Mode    string `yaml:"mode" allowed:"write, append" example:"append"`
	Content string `yaml:"content" example:"[anonymous-telemetry]\nenabled = true\n"`
}

// Sink says how the harness answers a report.
type Sink struct {
	// Status is the HTTP status answered; 0 means 200.
	Status int `yaml:"status,omitempty" example:"500"`
	// Delay is how long the sink waits before answering; 0 for none.
	Delay Duration `yaml:"delay,omitempty" example:"10s"`
	// Refuse makes the connection fail instead of answering; false by
	// default.
	Refuse bool `yaml:"refuse,omitempty" example:"true"`
}

// Run is one run of a scenario.
type Run struct {
	// Name names the run's folder inside the scenario's folder.
	Name string `yaml:"name" example:"repo-a-1"`
	// Set names the canary set: runs with the same set share every value,
	// runs with different sets differ in the scenario's Vary roles.
	Set string `yaml:"set" example:"a"`
	// Sink overrides the scenario's sink; nil keeps it.
	Sink *Sink `yaml:"sink,omitempty"`
}

// Expected report counts.
const (
	ReportsNone      = "none"
	ReportsOne       = "one"
	ReportsAtMostOne = "at-most-one"
	// ReportsSome is one or more reports per run: for tools that batch
	// events into several requests and may lose the last batch at exit
	// (partial delivery), so no exact count is promised.
	ReportsSome = "some"
)

// Expected exits.
const (
	ExitSuccess = "success"
	ExitFailure = "failure"
	ExitAny     = "any"
)

// Expect is what a compliant tool does in a scenario, per run.
type Expect struct {
	Reports string `yaml:"reports" allowed:"none, one, at-most-one, some" example:"one"`
	Exit    string `yaml:"exit" allowed:"success, failure, any" example:"success"`
}

// Duration is a time.Duration written as Go duration text ("10s").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText parses Go duration text.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration: %q", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes Go duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// EventFields are the object members whose string values name an event's
// kind: `eventName` (Next.js, Astro), `event`/`event_name`/`eventType`
// (common analytics shapes) and `key` (Turborepo's `$[*].task.key`).
// Compared case-insensitively. Data-driven rather than per tool, so a new
// tool's events show without a policy change; the payload diff, the
// differential runs and the diagnostic comparison all read events by them.
func EventFields() []string {
	return []string{"event", "eventName", "event_name", "eventType", "event_type", "key"}
}

// IsEventField reports whether member k names an event's kind.
func IsEventField(k string) bool {
	for _, f := range EventFields() {
		if strings.EqualFold(k, f) {
			return true
		}
	}
	return false
}

// EventKind is the kind of an event object: the string value of its first
// member named by EventFields, or "" when it has none.
func EventKind(event map[string]any) string {
	for _, f := range EventFields() {
		for k, v := range event {
			if s, ok := v.(string); ok && strings.EqualFold(k, f) {
				return s
			}
		}
	}
	return ""
}
