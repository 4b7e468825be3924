package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/onsi/ginkgo/v2/reporters"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// PolicyName is the policy copy every output folder holds.
const PolicyName = "policy.yaml"

// Merge merges the output folders of sharded runs (each ran some
// scenarios of the same policy) into out, which must exist and be empty of
// scenario folders: it copies the policy and every scenario's run folders,
// so that the merged folder's HTML evidence and a later replay work on
// their own, and rebuilds the report from the shards' per-scenario
// verdicts, aggregated exactly as one run of all those scenarios would be.
// The shards must have run the same policy file and distinct scenarios.
// junit.xml files are merged too. Attach has been called on the result.
func Merge(out string, shards []string) (*Report, *policy.Policy, error) {
	if len(shards) == 0 {
		return nil, nil, errors.New("merge: no output folder given")
	}
	var pol []byte
	var reps []*Report
	for _, sh := range shards {
		b, err := os.ReadFile(filepath.Join(sh, PolicyName))
		if err != nil {
			return nil, nil, fmt.Errorf("merge %s: %w (is it a run's output folder?)", sh, err)
		}
		if pol == nil {
			pol = b
		} else if !bytes.Equal(pol, b) {
			return nil, nil, fmt.Errorf("merge %s: its %s differs from the one in %s: shards must run the same policy", sh, PolicyName, shards[0])
		}
		r, err := ReadJSON(filepath.Join(sh, JSONName))
		if err != nil {
			return nil, nil, fmt.Errorf("merge %s: %w", sh, err)
		}
		reps = append(reps, r)
	}
	pp := filepath.Join(out, PolicyName)
	if err := os.WriteFile(pp, pol, 0o644); err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	p, err := policy.Load(pp)
	if err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	from := map[string]string{}
	byName := map[string]ScenarioOutcome{}
	var names []string
	for i, r := range reps {
		sh := shards[i]
		for _, s := range r.Scenarios {
			if prev, dup := from[s.Name]; dup {
				return nil, nil, fmt.Errorf("merge: scenario %s is in both %s and %s; give each shard its own --scenario", s.Name, prev, sh)
			}
			if _, err := p.Scenario(s.Name); err != nil {
				return nil, nil, fmt.Errorf("merge %s: %w", sh, err)
			}
			from[s.Name] = sh
			if err := copyTree(filepath.Join(sh, s.Name), filepath.Join(out, s.Name)); err != nil {
				return nil, nil, fmt.Errorf("merge %s: %w", sh, err)
			}
			o := ScenarioOutcome{Scenario: s.Name}
			for _, d := range s.Dirs {
				rel := relTo(sh, d)
				if filepath.IsAbs(rel) {
					return nil, nil, fmt.Errorf("merge %s: run folder %s of scenario %s lies outside the output folder", sh, d, s.Name)
				}
				o.Dirs = append(o.Dirs, filepath.Join(out, filepath.FromSlash(rel)))
			}
			if s.Error != "" {
				o.Err = errors.New(s.Error)
			} else {
				o.Judged = judgedOf(r, s.Name)
			}
			byName[s.Name] = o
			names = append(names, s.Name)
		}
	}
	scenarioOrder(p, names)
	outcomes := make([]ScenarioOutcome, 0, len(names))
	for _, n := range names {
		outcomes = append(outcomes, byName[n])
	}
	m := Build(p, outcomes)
	for _, r := range reps {
		if !r.Started.IsZero() && (m.Started.IsZero() || r.Started.Before(m.Started)) {
			m.Started = r.Started
		}
		if r.Finished.After(m.Finished) {
			m.Finished = r.Finished
		}
	}
	Attach(m, p, out)
	if err := mergeJUnit(filepath.Join(out, JUnitName), shards); err != nil {
		return nil, nil, err
	}
	return m, p, nil
}

// judgedOf rebuilds a scenario's judge result from a report: the verdict
// of every clause it exercised, its findings and how many were omitted.
func judgedOf(r *Report, scenario string) *judge.Result {
	res := &judge.Result{Scenario: scenario, Findings: []judge.Finding{}}
	for _, c := range r.Clauses {
		for _, sv := range c.Scenarios {
			if sv.Scenario != scenario {
				continue
			}
			n := 0
			for _, f := range c.Findings {
				if f.Scenario == scenario {
					res.Findings = append(res.Findings, f)
					n++
				}
			}
			res.Clauses = append(res.Clauses, judge.ClauseResult{Clause: c.ID, Verdict: sv.Verdict, Reason: sv.Reason,
				Findings: n + sv.Omitted, Omitted: sv.Omitted})
		}
	}
	return res
}

// ReadJSON reads a report.json.
func ReadJSON(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("read report %s: schema_version %d, this harness reads %d (merge with the harness version that wrote it)", path, r.SchemaVersion, SchemaVersion)
	}
	return &r, nil
}

// copyTree copies a folder, keeping file modes (captures and canaries are
// private to their owner).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case !d.Type().IsRegular():
			return nil // run folders hold regular files only; skip anything else
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		outF, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(outF, in); err != nil {
			outF.Close()
			return err
		}
		return outF.Close()
	})
}

// mergeJUnit merges the shards' junit.xml files (Ginkgo's layout) into
// one; shards without one are skipped.
func mergeJUnit(dst string, shards []string) error {
	var all reporters.JUnitTestSuites
	found := false
	for _, sh := range shards {
		b, err := os.ReadFile(filepath.Join(sh, JUnitName))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("merge junit: %w", err)
		}
		var s reporters.JUnitTestSuites
		if err := xml.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("merge junit %s: %w", filepath.Join(sh, JUnitName), err)
		}
		found = true
		all.Tests += s.Tests
		all.Disabled += s.Disabled
		all.Errors += s.Errors
		all.Failures += s.Failures
		all.Time += s.Time
		all.TestSuites = append(all.TestSuites, s.TestSuites...)
	}
	if !found {
		return nil
	}
	b, err := xml.MarshalIndent(all, "", "  ")
	if err != nil {
		return fmt.Errorf("merge junit: %w", err)
	}
	if err := os.WriteFile(dst, append([]byte(xml.Header), append(b, '\n')...), 0o644); err != nil {
		return fmt.Errorf("merge junit: %w", err)
	}
	return nil
}
