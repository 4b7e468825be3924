package draft

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Clause ids of a draft.
const (
	ClauseConsent     = "consent.nothing-until-opt-in"
	ClauseOptOut      = "consent.opt-out"
	ClauseDocumented  = "fields.documented-only"
	ClauseAnonymity   = "anonymity.no-planted-values"
	ClauseDestination = "destination.endpoint-only"
	ClauseEgress      = "egress.proxy-only"
	// ClauseEgressDirect is the egress clause of a tool that connects
	// directly.
	ClauseEgressDirect = "egress.no-other-channel"
	ClauseReports      = "reports.one-per-run"
)

// secretHeaders are headers whose values a report never prints: a
// vendor's token is no user data, but nobody wants it in a CI log.
var secretHeaders = []string{"authorization", "proxy-authorization", "cookie", "x-api-key"}

// policy builds the draft from what was seen.
func (inf *inferrer) policy(ep Destination, headers []string, res *Result, reportsPerRun map[int]bool, exits map[string]bool) *policy.Policy {
	in := inf.in
	p := &policy.Policy{
		Version: 1,
		Tool:    policy.Tool{Name: in.ToolName, Promise: policy.Promise{Title: "TODO: the title of the page that makes the promise", URL: "TODO: its address"}},
		Endpoint: policy.Endpoint{Scheme: ep.Scheme, Host: ep.Host, Path: ep.Path, Method: ep.Method,
			Headers: policy.Headers{Allowed: headers}},
		Payload:  policy.Payload{Encoding: "json"},
		Canaries: in.Canaries,
	}
	if ep.Port != "" && !(ep.Scheme == "https" && ep.Port == "443" || ep.Scheme == "http" && ep.Port == "80") {
		fmt.Sscan(ep.Port, &p.Endpoint.Port)
	}
	if p.Endpoint.Path == "" {
		p.Endpoint.Path = "/"
	}
	for _, h := range headers {
		if slices.Contains(secretHeaders, strings.ToLower(h)) {
			p.Endpoint.Headers.Secret = append(p.Endpoint.Headers.Secret, h)
		}
	}
	fs := inf.fields()
	resolveDerive(fs)
	inf.drafted = fs
	var checked []string
	for _, f := range fs {
		p.Fields = append(p.Fields, f.field)
		if f.checked {
			checked = append(checked, f.field.Name)
		}
	}
	// A closed path needs a field of its own unless it is $ or inside a
	// list; drafted fields cover every object seen.
	p.Payload.Closed = inf.closedPaths()
	if len(p.Payload.Closed) == 0 {
		p.Payload.Closed = []string{}
	}

	todo := func(s string) string { return "TODO: " + s }
	var optInClauses, quietClauses []string
	docChecks := []policy.Check{{Kind: policy.KindAllowedFields}, {Kind: policy.KindAllowedHeaders}}
	if len(checked) > 0 {
		docChecks = append(docChecks, policy.Check{Kind: policy.KindFieldFormat, Fields: checked})
	}
	optedIn := len(in.OptIn.Env) > 0 || len(in.OptIn.Files) > 0
	if optedIn {
		p.Clauses = append(p.Clauses, policy.Clause{ID: ClauseConsent, Section: "TODO", Testable: policy.TestableClient,
			Promise: todo("nothing is sent unless telemetry is switched on"), Checks: []policy.Check{{Kind: policy.KindNothingSent}}})
		quietClauses = append(quietClauses, ClauseConsent)
	} else if in.OptOut != nil {
		p.Clauses = append(p.Clauses, policy.Clause{ID: ClauseOptOut, Section: "TODO", Testable: policy.TestableClient,
			Promise: todo("nothing is sent once the user opts out"), Checks: []policy.Check{{Kind: policy.KindNothingSent}}})
		quietClauses = append(quietClauses, ClauseOptOut)
	}
	p.Clauses = append(p.Clauses,
		policy.Clause{ID: ClauseDocumented, Section: "TODO", Testable: policy.TestableClient,
			Promise: todo("a report holds only the documented data, with the documented headers"), Checks: docChecks},
		policy.Clause{ID: ClauseAnonymity, Section: "TODO", Testable: policy.TestableClient,
			Promise: todo("no personal value (user name, host name, MAC, paths, environment values) is sent in any form"),
			Checks:  []policy.Check{{Kind: policy.KindCanaryAbsent, Roles: slices.Clone(in.Roles)}}},
		policy.Clause{ID: ClauseDestination, Section: "TODO", Testable: policy.TestableClient,
			Promise: todo("reports go only to the documented endpoint"), Checks: []policy.Check{{Kind: policy.KindDestination}}},
	)
	optInClauses = append(optInClauses, ClauseDocumented, ClauseAnonymity, ClauseDestination)
	switch {
	case res.Sealed && res.Bypassed > 0:
		// Reaching the endpoint without the proxy is how the tool sends,
		// not a leak of its own (egress is judged in every scenario):
		// the clause accepts it and still finds every escaped packet.
		p.Clauses = append(p.Clauses, policy.Clause{ID: ClauseEgressDirect, Section: "TODO", Testable: policy.TestableClient,
			Promise: todo("nothing leaves but the requests these clauses judge (no datagram, no other port, no hard-coded address, no outside resolver); the tool connects to its endpoint directly"),
			Checks:  []policy.Check{{Kind: policy.KindEgress, AllowDirect: true}}})
		optInClauses = append(optInClauses, ClauseEgressDirect)
		quietClauses = append(quietClauses, ClauseEgressDirect)
		inf.notes = append(inf.notes, fmt.Sprintf("%d request(s) ignored HTTPS_PROXY and were caught by the sealed namespace's transparent listener (the tool connects directly): the egress clause allows that (allow_direct) and still finds any packet that escaped; drop allow_direct if the tool promises to use a configured proxy", res.Bypassed))
	case res.Sealed:
		p.Clauses = append(p.Clauses, policy.Clause{ID: ClauseEgress, Section: "TODO", Testable: policy.TestableClient,
			Promise: todo("nothing leaves but through the configured proxy (no hard-coded address, no request that ignores HTTPS_PROXY)"),
			Checks:  []policy.Check{{Kind: policy.KindEgress}}})
		optInClauses = append(optInClauses, ClauseEgress)
		quietClauses = append(quietClauses, ClauseEgress)
	default:
		inf.notes = append(inf.notes, "the runs were not sealed (egress.json says why), so no egress clause was drafted; run init where network namespaces are available to get one")
	}
	reports := policy.ReportsSome
	if len(reportsPerRun) == 1 && reportsPerRun[1] {
		reports = policy.ReportsOne
		p.Clauses = append(p.Clauses, policy.Clause{ID: ClauseReports, Section: "TODO", Testable: policy.TestableClient,
			Promise: todo("a run sends exactly one report"), Checks: []policy.Check{{Kind: policy.KindOneReport}}})
		optInClauses = append(optInClauses, ClauseReports)
	} else {
		inf.notes = append(inf.notes, fmt.Sprintf("the runs sent %v report(s) each to the endpoint, not exactly one: no reports-per-run clause was drafted (expect: some)", slices.Sorted(maps.Keys(reportsPerRun))))
	}
	exit := policy.ExitAny
	if len(exits) == 1 {
		exit = slices.Collect(maps.Keys(exits))[0]
	}

	env := map[string]string{"TZ": "UTC"}
	maps.Copy(env, in.OptIn.Env)
	name := "opt-in"
	desc := "Telemetry switched on as the user described it (drafted by init)."
	if !optedIn {
		name, desc = "default", "No opt-in given: the tool sent with telemetry on by default (drafted by init)."
	}
	p.Scenarios = append(p.Scenarios, policy.Scenario{Name: name, Description: desc, Repo: in.Repo, Canaries: slices.Clone(in.Roles),
		Files: slices.Clone(in.OptIn.Files), Env: env, Goals: nonNil(in.Goals), Args: in.Args,
		Expect: policy.Expect{Reports: reports, Exit: exit}, Clauses: optInClauses})
	if optedIn {
		p.Scenarios = append(p.Scenarios, policy.Scenario{Name: "unset", Description: "Telemetry never switched on; nothing may be sent (drafted by init).",
			Repo: in.Repo, Canaries: slices.Clone(in.Roles), Env: map[string]string{"TZ": "UTC"}, Goals: nonNil(in.Goals), Args: in.Args,
			Expect: policy.Expect{Reports: policy.ReportsNone, Exit: policy.ExitAny}, Clauses: slices.Clone(quietClauses)})
	}
	if in.OptOut != nil {
		oenv := map[string]string{"TZ": "UTC"}
		maps.Copy(oenv, in.OptOut.Env)
		p.Scenarios = append(p.Scenarios, policy.Scenario{Name: "opt-out", Description: "Telemetry switched off as the user described it; nothing may be sent (drafted by init).",
			Repo: in.Repo, Canaries: slices.Clone(in.Roles), Files: slices.Clone(in.OptOut.Files), Env: oenv, Goals: nonNil(in.Goals), Args: in.Args,
			Expect: policy.Expect{Reports: policy.ReportsNone, Exit: policy.ExitAny}, Clauses: slices.Clone(quietClauses)})
	}
	return p
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// closedPaths are the objects seen closed, without the maps keyed by names
// and their members: an object first seen with nameable keys and later
// keyed by names stays open.
func (inf *inferrer) closedPaths() []string {
	var out []string
	for _, c := range inf.closed {
		if st, ok := inf.stats[c]; (!ok || st.keyedBy == "") && inf.keyedAncestor(c) == "" {
			out = append(out, c)
		}
	}
	return out
}
