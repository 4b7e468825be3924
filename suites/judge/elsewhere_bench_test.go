package judge_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// BenchmarkJudgeElsewhere is the cost of searching every scenario's
// traffic for every other scenario's planted values (Input.Elsewhere):
// 1,000 reports judged with this scenario's values only, and with those
// of ten more scenarios (as many as policy.yaml has).
func BenchmarkJudgeElsewhere(b *testing.B) {
	p, err := policy.Load(filepath.Join(root, "policy.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	run, err := judge.LoadRun(filepath.Join(root, "fixtures/captures/compliant"))
	if err != nil {
		b.Fatal(err)
	}
	one := run.Exchanges[0]
	run.Exchanges = nil
	for i := range 1000 {
		ex := *one
		ex.Seq = int64(i + 1)
		run.Exchanges = append(run.Exchanges, &ex)
	}
	var elsewhere []judge.Planted
	for s := range 10 {
		pl := judge.Planted{Scenario: fmt.Sprintf("other-%d", s)}
		for _, c := range run.Canaries {
			pl.Canaries = append(pl.Canaries, canary.Canary{Role: c.Role, Value: fmt.Sprintf("%s%02d", c.Value, s)})
		}
		elsewhere = append(elsewhere, pl)
	}
	index, err := judge.NewElsewhere(p, elsewhere)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		els  *judge.Elsewhere
	}{{"own-values", nil}, {"ten-more-scenarios", index}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := judge.Judge(judge.Input{Policy: p, Scenario: "opt-in-custom-goals", Runs: []judge.RunData{run}, Elsewhere: bc.els}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
