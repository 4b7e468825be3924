package versions_test

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/versions"
)

var _ = Describe("version lists", func() {
	It("orders --versions by semver and refuses what cannot be a folder name", func() {
		Expect(versions.List("16.4.6, 9.5.0,13.0.0,9.5.0")).To(Equal([]string{"9.5.0", "13.0.0", "16.4.6"}))
		Expect(versions.List("b,a")).To(Equal([]string{"b", "a"}), "not semver: the order given")
		_, err := versions.List("1.0.0,../x")
		Expect(err).To(MatchError(ContainSubstring(`"../x" is not a version`)))
		_, err = versions.List(" , ")
		Expect(err).To(MatchError(ContainSubstring("no version given")))
	})

	It("resolves a range like npm: sorted, prereleases only when the range names one", func() {
		all := []string{"13.0.0", "12.3.4", "16.4.6", "16.5.0-canary.1", "16.5.0", "15.0.0-rc.0", "not-a-version"}
		Expect(versions.InRange(all, ">=12 <=16.4.6")).To(Equal([]string{"12.3.4", "13.0.0", "16.4.6"}))
		_, err := versions.InRange(all, ">=99")
		Expect(err).To(MatchError(ContainSubstring("none of the 7 published versions")))
		_, err = versions.InRange(all, "not a range")
		Expect(err).To(MatchError(ContainSubstring(`--range "not a range"`)))
	})

	It("takes the versions from good to bad and says which end is missing", func() {
		all := []string{"1", "2", "3", "4"}
		Expect(versions.Between(all, "2", "4")).To(Equal([]string{"2", "3", "4"}))
		_, err := versions.Between(all, "0", "4")
		Expect(err).To(MatchError(ContainSubstring("--good 0 is not among the versions")))
		_, err = versions.Between(all, "3", "2")
		Expect(err).To(MatchError(ContainSubstring("must come before")))
	})
})

// stub makes a Runner: versions from firstBad on violate clause "c";
// those in skip cannot run. It counts the runs.
func stub(vs []string, firstBad int, skip map[string]bool, runs *[]string) versions.Runner {
	return func(_ context.Context, v string) (*versions.Result, error) {
		*runs = append(*runs, v)
		if skip[v] {
			return &versions.Result{Version: v, Skipped: "cannot run here"}, nil
		}
		for i, x := range vs {
			if x == v {
				verdict := judge.Passed
				var fs []judge.Finding
				if i >= firstBad {
					verdict = judge.Violated
					fs = []judge.Finding{{Clause: "c", Message: "leak in " + v}}
				}
				return &versions.Result{Version: v, Verdict: string(verdict), Clauses: []versions.ClauseVerdict{
					{ID: "c", Verdict: verdict, Findings: fs}, {ID: "other", Verdict: judge.NotExercised}}}, nil
			}
		}
		return nil, fmt.Errorf("no version %s", v)
	}
}

var _ = Describe("Bisect", func() {
	vs := make([]string, 20)
	for i := range vs {
		vs[i] = fmt.Sprintf("1.%d.0", i)
	}

	It("finds exactly the first bad version for every position, in about log2(n) runs", func(ctx SpecContext) {
		for firstBad := 1; firstBad < len(vs); firstBad++ {
			var runs []string
			b, err := versions.Bisect(ctx, vs, "c", stub(vs, firstBad, nil, &runs))
			Expect(err).NotTo(HaveOccurred(), "versions.Bisect")
			Expect(b.FirstBad.Version).To(Equal(vs[firstBad]))
			Expect(b.LastGood.Version).To(Equal(vs[firstBad-1]))
			Expect(b.Evidence).To(ConsistOf(judge.Finding{Clause: "c", Message: "leak in " + vs[firstBad]}))
			Expect(len(runs)).To(BeNumerically("<=", 2+5), "both ends, then ceil(log2(18)) = 5")
		}
	})

	It("skips versions that cannot run, and names them when the change may lie in one", func(ctx SpecContext) {
		var runs []string
		skip := map[string]bool{vs[9]: true, vs[10]: true}
		b, err := versions.Bisect(ctx, vs, "c", stub(vs, 10, skip, &runs))
		Expect(err).NotTo(HaveOccurred(), "versions.Bisect")
		Expect(b.FirstBad.Version).To(Equal(vs[11]))
		Expect(b.LastGood.Version).To(Equal(vs[8]))
		Expect(b.Untested).To(Equal([]string{vs[9], vs[10]}))
		Expect(b.Steps).To(ContainElement(HaveField("State", versions.Skip)))
	})

	It("refuses ends that are not good and bad", func(ctx SpecContext) {
		var runs []string
		_, err := versions.Bisect(ctx, vs, "c", stub(vs, 0, nil, &runs))
		Expect(err).To(MatchError(ContainSubstring("--good 1.0.0 is not good: c violated")))
		_, err = versions.Bisect(ctx, vs[:3], "c", stub(vs, 5, nil, &runs))
		Expect(err).To(MatchError(ContainSubstring("--bad 1.2.0 is not bad: c passed")))
	})

	It("classifies a clause that was not exercised as neither good nor bad", func() {
		r := &versions.Result{Clauses: []versions.ClauseVerdict{{ID: "c", Verdict: judge.NotExercised}, {ID: "d", Verdict: judge.Violated}}}
		st, why := versions.Classify(r, "c")
		Expect(st).To(Equal(versions.Skip))
		Expect(why).To(ContainSubstring("not-exercised"))
		st, _ = versions.Classify(r, "")
		Expect(st).To(Equal(versions.Bad), "any clause: d is violated")
		st, _ = versions.Classify(&versions.Result{Skipped: "install failed"}, "")
		Expect(st).To(Equal(versions.Skip))
	})
})
