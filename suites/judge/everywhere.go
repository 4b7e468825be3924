package judge

// unlistedVerdict qualifies the verdict of a clause the scenario does not
// list, judged only by its checks that hold everywhere: a violation
// stands; a pass says how it was judged; what this scenario could not see
// is not-exercised, not unobservable, since the scenario never set out to
// show it (where a scenario lists the clause, its blind spots still make
// the verdict incomplete).
func unlistedVerdict(scenario string, cr ClauseResult) ClauseResult {
	const how = "not listed by scenario "
	switch cr.Verdict {
	case Passed:
		cr.Reason = joinUnique([]string{how + scenario + ": judged by its checks that hold everywhere", cr.Reason})
	case Unobservable:
		cr.Verdict, cr.Reason = NotExercised, how+scenario+", and not fully observable in it: "+cr.Reason
	case NotExercised:
		cr.Reason = joinUnique([]string{how + scenario + ", and nothing in it to judge", cr.Reason})
	}
	return cr
}
