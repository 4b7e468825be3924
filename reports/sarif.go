package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// SARIF 2.1.0, only the parts the report fills in; see
// https://docs.oasis-open.org/sarif/sarif/v2.1.0/ and GitHub's code
// scanning notes (a result needs a location to be listed).
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool        `json:"tool"`
	AutomationDetails *sarifAutomation `json:"automationDetails,omitempty"`
	Results           []sarifResult    `json:"results"`
	Properties        map[string]any   `json:"properties,omitempty"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      *sarifText     `json:"fullDescription,omitempty"`
	HelpURI              string         `json:"helpUri,omitempty"`
	Help                 *sarifText     `json:"help,omitempty"`
	DefaultConfiguration *sarifConfig   `json:"defaultConfiguration,omitempty"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties map[string]any  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtLoc  `json:"artifactLocation"`
	Region           *sarifRegion `json:"region,omitempty"`
}

type sarifArtLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// SARIF writes report.sarif (SARIF 2.1.0): one rule per policy clause and
// one result per finding, ruleId being the clause id, located at the
// clause in the policy file so that GitHub code scanning lists it.
func SARIF(w io.Writer, r *Report) error {
	uri := "policy.yaml"
	if r.Policy != "" && !filepath.IsAbs(r.Policy) {
		uri = filepath.ToSlash(filepath.Clean(r.Policy))
	}
	run := sarifRun{
		Tool:              sarifTool{Driver: sarifDriver{Name: "telemetry-harness", InformationURI: "https://github.com/telemetry-harness/telemetry-harness", Rules: []sarifRule{}}},
		AutomationDetails: &sarifAutomation{ID: "telemetry-harness/" + r.Tool + "/"},
		Results:           []sarifResult{},
		Properties:        map[string]any{"verdict": r.Verdict, "tool": r.Tool},
	}
	index := map[string]int{}
	for i, c := range r.Clauses {
		index[c.ID] = i
		rule := sarifRule{ID: c.ID, Name: ruleName(c.ID), ShortDescription: sarifText{Text: c.Promise}, HelpURI: r.Promise,
			DefaultConfiguration: &sarifConfig{Level: "error"},
			Properties:           map[string]any{"section": c.Section, "testable": c.Testable, "verdict": string(c.Verdict), "tags": []string{"privacy", "telemetry"}}}
		if c.Omitted > 0 {
			rule.Properties["omittedFindings"] = c.Omitted
		}
		if c.Quote != "" {
			rule.FullDescription = &sarifText{Text: c.Quote}
		}
		rule.Help = &sarifText{Text: fmt.Sprintf("%s (page section %q). Verdict of this run: %s.", c.Promise, c.Section, Label(c.Verdict))}
		if c.Testable == policy.TestableServerSide {
			rule.DefaultConfiguration = &sarifConfig{Level: "none"}
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
	}
	for _, c := range r.Clauses {
		for _, f := range c.Findings {
			loc := sarifPhysical{ArtifactLocation: sarifArtLoc{URI: uri, URIBaseID: "%SRCROOT%"}}
			if c.Line > 0 {
				loc.Region = &sarifRegion{StartLine: c.Line}
			}
			props := map[string]any{"scenario": f.Scenario, "check": f.Check}
			if f.Run != "" {
				props["run"] = f.Run
			}
			if f.Exchange != 0 {
				props["exchange"] = f.Exchange
			}
			if f.Path != "" {
				props["path"] = f.Path
			}
			msg := fmt.Sprintf("%s (scenario %s)", strings.TrimPrefix(f.String(), f.Clause+" "), f.Scenario)
			run.Results = append(run.Results, sarifResult{RuleID: c.ID, RuleIndex: index[c.ID], Level: "error",
				Message: sarifText{Text: msg}, Locations: []sarifLocation{{PhysicalLocation: loc}}, Properties: props})
		}
	}
	if om := r.Omitted(); om > 0 {
		// SARIF has a result per listed finding only; the count of the
		// others keeps the log honest about what it leaves out.
		run.Properties["omittedFindings"] = om
		run.Properties["omittedFindingsNote"] = fmt.Sprintf("%d findings are not listed as results: the judge keeps at most %d per clause and scenario (see report.json's clauses[].omitted)", om, judge.MaxFindings)
	}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("encode report.sarif: %w", err)
	}
	return nil
}

// ruleName turns a clause id into the PascalCase name SARIF viewers show.
func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, c := range id {
		if c == '.' || c == '-' || c == '_' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b.WriteRune(c)
	}
	return b.String()
}
