package policy

import "strings"

// The check-kind table: which parameters each kind reads, and what it
// checks. The kind names are the constants in model.go; the judge
// implements one checker per row.

// checkParams are every parameter a check may carry, in the order error
// messages list them.
var checkParams = []string{"fields", "field", "tag", "vocabulary", "roles", "ignore_forms", "patterns", "tolerance", "max_requests", "time_pattern", "time_layout", "time_zone", "timestamp_field", "slack", "random", "random_bytes", "random_pattern", "allow_direct"}

// KindSpec says which parameters a check kind reads.
type KindSpec struct {
	Kind     string
	Required []string
	Optional []string
	// Doc says what the check does, for reports and error messages.
	Doc string
}

// Kinds lists every check kind the engine implements.
func Kinds() []KindSpec {
	return []KindSpec{
		{Kind: KindNothingSent, Doc: "no request at all (a rejected or opaque tunnel is unobservable, not a pass)"},
		{Kind: KindNoLogMention, Required: []string{"patterns"}, Doc: "stdout and stderr match none of the patterns"},
		{Kind: KindAllowedFields, Doc: "closed objects hold only declared fields, tag lists only declared keys, derived values match their source"},
		{Kind: KindAllowedHeaders, Doc: "requests carry only the endpoint's allowed headers"},
		{Kind: KindRequiredFields, Doc: "every report holds every required field and tag"},
		{Kind: KindFieldFormat, Required: []string{"fields"}, Doc: "the fields have their declared type, format, pattern and enum"},
		{Kind: KindIDSalted, Doc: "each id is the salted hash the ids section declares, recomputed from the planted canaries"},
		{Kind: KindIDsUnlinkable, Required: []string{"fields"}, Doc: "ids are stable within a canary set and differ across sets"},
		{Kind: KindIDsAbsent, Required: []string{"fields"}, Doc: "the fields are absent or empty (sending nothing also passes)"},
		{Kind: KindGoalsSubset, Required: []string{"field", "vocabulary"}, Optional: []string{"tag"}, Doc: "the list field's (and tag's) values are in the vocabulary"},
		{Kind: KindGoalCount, Required: []string{"field"}, Doc: "the field counts the scenario's distinct goals"},
		{Kind: KindCanaryAbsent, Required: []string{"roles"}, Optional: []string{"ignore_forms"}, Doc: "no planted value of the roles appears in any form"},
		{Kind: KindForbiddenPattern, Required: []string{"patterns"}, Doc: "no request URL or body matches the patterns"},
		{Kind: KindDestination, Doc: "every request goes to the endpoint (scheme, host, port, path, method)"},
		{Kind: KindOneReport, Doc: "each run sends exactly one report"},
		{Kind: KindRunID, Required: []string{"field", "time_pattern", "time_layout"}, Optional: []string{"time_zone", "timestamp_field", "slack"}, Doc: "the run id is unique per run and its time stamp lies in the run"},
		{Kind: KindBackground, Required: []string{"tolerance"}, Doc: "the run does not wait for the endpoint longer than the tolerance"},
		{Kind: KindFailureHarmless, Required: []string{"max_requests"}, Doc: "an endpoint failure leaves the exit as expected and causes no retries"},
		{Kind: KindRandom, Required: []string{"field", "random"}, Optional: []string{"random_bytes", "random_pattern"}, Doc: "the field (or its random_pattern group) is random: a well-formed version-4 UUID or N bytes, different in every run, with no byte value repeated as a random source would not"},
		{Kind: KindDifferential, Doc: "with run --differential: no value position changes when only the planted values change, unless declared derived from them (an id), and none changes between two identical runs unless declared varies: per-run; without the differential runs this check adds nothing"},
		{Kind: KindEgress, Optional: []string{"allow_direct"}, Doc: "in a sealed run nothing left but through the proxy: no escape flow, no request that bypassed it unless allow_direct (egress.json; unobservable when not sealed)"},
	}
}

// KindOf returns the spec of a check kind.
func KindOf(kind string) (KindSpec, bool) {
	for _, k := range Kinds() {
		if k.Kind == kind {
			return k, true
		}
	}
	return KindSpec{}, false
}

func kindNames() string {
	var names []string
	for _, k := range Kinds() {
		names = append(names, k.Kind)
	}
	return strings.Join(names, ", ")
}
