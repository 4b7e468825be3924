package judge

import "fmt"

// Differential is what a scenario's differential runs showed: the runs
// made again with identical inputs and with every planted value replaced,
// compared position by position (suites/differential computes it).
type Differential struct {
	// Compared counts the value positions compared.
	Compared int `json:"compared"`
	// Declared counts the positions that varied as the policy declares
	// (varies: per-run, or derived from a planted value by a declared id).
	Declared int `json:"declared"`
	// Findings are the positions that moved without a declaration; their
	// Clause is set by the clause whose differential check reports them.
	Findings []Finding `json:"-"`
}

// differential reports the differential findings under clause. Without
// differential runs it judges nothing, so the clause stands on its other
// checks: the plain run makes no promise it did not test.
func (j *judgement) differential(clause string) *checker {
	k := &checker{}
	d := j.in.Differential
	if d == nil {
		k.out.notes = append(k.out.notes, "no differential runs (run --differential to make them)")
		return k
	}
	k.out.exercised = d.Compared > 0
	if d.Compared == 0 {
		k.out.notes = append(k.out.notes, "the differential runs had no value to compare")
	} else {
		k.out.notes = append(k.out.notes, fmt.Sprintf("differential: %d value positions compared across identical and replaced-value reruns, %d moved as declared", d.Compared, d.Declared))
	}
	for _, f := range d.Findings {
		f.Clause = clause
		f.Scenario = j.sc.Name
		f.Check = "differential"
		k.out.add(f)
	}
	return k
}
