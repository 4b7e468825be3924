package policy

import (
	"fmt"

	"github.com/Masterminds/semver/v3"
)

// VersionRange parses tool.versions; nil when the policy names none.
func (t Tool) VersionRange() (*semver.Constraints, error) {
	if t.Versions == "" {
		return nil, nil
	}
	c, err := semver.NewConstraint(t.Versions)
	if err != nil {
		return nil, fmt.Errorf("tool.versions %q: %w", t.Versions, err)
	}
	return c, nil
}

// toolVersions checks that tool.versions is a semver range.
func (v *validator) toolVersions() {
	if _, err := v.p.Tool.VersionRange(); err != nil {
		v.at("tool.versions", err.Error(), "a semver range", "versions: '>=2.13 <2.17'")
	}
	for i, salt := range v.p.Tool.Salts {
		// A short salt would join too many values to be a useful key.
		if len(salt) < 4 {
			v.at(fmt.Sprintf("tool.salts[%d]", i), fmt.Sprintf("salt %q is shorter than 4 characters", salt), "a constant from the tool's source, as it is hashed", "salts: [storybook-telemetry-salt]")
		}
	}
}
