// Package reports turns the outcome of a compliance run into the documents
// people and machines read, all written into the run's output folder:
//
//	report.json   the Report itself (schema: report.schema.json)
//	report.md     the verdicts in Markdown, for $GITHUB_STEP_SUMMARY
//	report.html   one self-contained page (html/template, no script, no
//	              external asset): verdict banner, clause table with each
//	              finding's evidence, field table, requests with timing
//	report.sarif  SARIF 2.1.0, one rule per clause, one result per listed
//	              finding (the omitted ones counted in the run's properties)
//
// (junit.xml comes from Ginkgo's reporter.) Build makes the model from the
// policy and the per-scenario verdicts; every clause of the policy appears
// exactly once with one verdict, and "not exercised" marks a defect of the
// run, never a pass. Attach then adds what the judge read of each run folder
// while judging it (judge.Result.Listing and FieldTable): the requests with
// their timing, the pretty-printed request each finding cites with the
// offending path marked, and the fields the opt-in scenario sent beside the
// documented ones. The reports read no capture themselves; for a run the
// judge kept no listing of (a merged report, or an exchange a whole-run
// check cited at the end) judge.ListRun streams the folder once. Memory
// follows what the report lists, not the capture: the first
// MaxListedRequests requests of a run and every cited one are listed, the
// rest counted; likewise a clause lists the findings the judge kept
// (judge.MaxFindings per scenario) and counts the others (Clause.Omitted),
// and every writer says how many are not listed. Nothing a writer prints
// holds a planted value or a secret header: they are redacted as «role» and
// «secret».
//
//	rep := reports.Build(p, outcomes)
//	reports.Attach(rep, p, out)
//	err := reports.WriteAll(out, rep)
//
// Merge combines the output folders of sharded runs (each ran some
// scenarios with run --scenario) into one folder with the verdicts a single
// run of all their scenarios gives.
package reports
