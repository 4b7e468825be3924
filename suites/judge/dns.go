package judge

import (
	"slices"

	"fmt"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// dnsQuestion is one DNS name the tool asked about, with where it was
// recorded: a question to the namespace's responder (dns.jsonl, egress.json
// dns) or one carried by an escape flow to an outside resolver.
type dnsQuestion struct {
	name  string
	where string
}

// dnsQuestions are every DNS name a sealed run asked about; nil when the
// run was not sealed (egressBlind says why).
func dnsQuestions(rv *runView) []dnsQuestion {
	if egressBlind(rv) != "" {
		return nil
	}
	var out []dnsQuestion
	for i, q := range rv.Egress.DNS {
		out = append(out, dnsQuestion{name: q.Name, where: fmt.Sprintf("%s:%d", capture.DNSLogName, i+1)})
	}
	for _, f := range rv.Egress.Flows {
		for _, n := range f.Names {
			name, _, _ := strings.Cut(n, "/") // "name/TYPE"
			out = append(out, dnsQuestion{name: name, where: fmt.Sprintf("%s flow %s -> %s", capture.PcapName, f.Client, f.Server)})
		}
	}
	return out
}

// dnsTexts are the texts of a DNS name the canary search reads: the whole
// name, each label alone (a label is the unit a tool encodes a value
// into: base32, hex), and the labels run together without dots (a value
// split over several labels to stay under 63 bytes each).
func dnsTexts(name string) []string {
	name = strings.TrimSuffix(name, ".")
	labels := strings.Split(name, ".")
	out := []string{name}
	if len(labels) > 1 {
		out = append(out, labels...)
		out = append(out, strings.Join(labels, ""))
	}
	return out
}

// dnsHits searches a sealed run's DNS names for every planted value, of
// any run the judge was given: a value sent as a DNS label (a user name
// under the endpoint's host) leaves the machine as surely as a body does.
func (j *judgement) dnsHits(rv *runView) []hit {
	var out []hit
	seen := map[string]bool{}
	for _, q := range dnsQuestions(rv) {
		for _, t := range dnsTexts(q.name) {
			for _, cs := range j.search.all() {
				for _, h := range cs.SearchBytes([]byte(t), 0, "dns") {
					if !j.search.keep(cs, h) {
						continue
					}
					key := q.where + "\x00" + h.Canary.Role + "\x00" + h.Form + "\x00" + h.Canary.Value
					if seen[key] {
						continue
					}
					seen[key] = true
					out = append(out, hit{Role: h.Canary.Role, Form: h.Form, Path: q.where, Length: len(h.Canary.Value), From: j.search.origin[h.Canary.Value]})
				}
			}
		}
	}
	return out
}

// dnsCanaries adds to a canary-absent outcome the planted values of roles
// found in the run's DNS questions; an unsealed run's DNS was not
// observed, which the outcome notes.
func (j *judgement) dnsCanaries(clause string, c policy.Check, rv *runView, roles map[string]bool, out *outcome) {
	if why := egressBlind(rv); why != "" {
		out.note("DNS questions not searched: %s", strings.TrimPrefix(why, "egress and DNS were not observed: "))
		return
	}
	for _, h := range j.dnsHits(rv) {
		if !roles[h.Role] || slices.Contains(c.IgnoreForms, h.Form) {
			continue
		}
		out.add(j.finding(clause, c.Kind, rv, 0, h.Path,
			fmt.Sprintf("the %s canary%s is sent in a DNS question (%s)", h.Role, plantedIn(h), h.Form),
			fmt.Sprintf("role %s, form %s, value of %d chars", h.Role, h.Form, h.Length)))
	}
}
