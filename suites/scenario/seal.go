package scenario

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/oracle"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// canaryMAC draws the MAC a sealed run gives its sink: unicast and
// universally administered, the kind Python's uuid.getnode() prefers, and
// never 00:... which some tools treat as unset.
func canaryMAC() (net.HardwareAddr, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate canary MAC: %w", err)
	}
	b[0] &^= 0x03
	if b[0] == 0 {
		b[0] = 0x04
	}
	return b, nil
}

// nodeCanaries are the spellings of the canary MAC the search looks for:
// the decimal uuid.getnode() returns, bare hex in both cases and colon hex.
func nodeCanaries(role string, mac net.HardwareAddr) []canary.Canary {
	forms := oracle.NodeForms(mac)
	forms = append(forms, strings.ToUpper(hex.EncodeToString(mac)))
	out := make([]canary.Canary, 0, len(forms))
	for _, f := range forms {
		out = append(out, canary.Canary{Role: role, Value: f})
	}
	return out
}

// unsealed fixes a run's canaries once it is known whether the run was
// sealed (egress.json): without a namespace the host name was not set, so
// the host canary was not planted and is dropped, with a note (runOne then
// writes canaries.json). The canary
// MAC forms stay: they are harmless where the tool never saw them.
func unsealed(p *policy.Policy, rr *RunResult) error {
	e, err := capture.ReadEgress(rr.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // the run never got as far
	}
	if err != nil {
		return err
	}
	if e.Sealed {
		return nil
	}
	var kept []canary.Canary
	dropped := map[string]bool{}
	for _, c := range rr.Canaries {
		if plan, ok := p.CanaryPlan(c.Role); ok && plan.Plant == policy.PlantHostname {
			dropped[c.Role] = true
			continue
		}
		kept = append(kept, c)
	}
	if len(dropped) == 0 {
		return nil
	}
	for role := range dropped {
		rr.Notes = append(rr.Notes, fmt.Sprintf("canary role %s not planted: the host name is set only inside a sealed network namespace, and this run was not sealed (%s)", role, e.Reason))
	}
	slices.Sort(rr.Notes)
	rr.Canaries = kept
	return nil
}
