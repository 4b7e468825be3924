package reports

import "github.com/telemetry-harness/telemetry-harness/suites/policy"

// fieldScenario picks the scenario whose reports the field table shows:
// the one named "opt-in", else the first in the report that expects one
// report per run.
func fieldScenario(r *Report, p *policy.Policy) string {
	first := ""
	for _, s := range r.Scenarios {
		sc, err := p.Scenario(s.Name)
		if err != nil || s.Error != "" {
			continue
		}
		if s.Name == "opt-in" {
			return s.Name
		}
		if first == "" && sc.Expect.Reports == policy.ReportsOne {
			first = s.Name
		}
	}
	return first
}
