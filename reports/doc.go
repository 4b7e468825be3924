// Package reports turns the outcome of a compliance run into the documents
// people and machines read: report.json (the model itself), and the
// Markdown, HTML and SARIF renderings of it. Build makes the model from the
// policy and the per-scenario verdicts; every clause of the policy appears
// exactly once with one verdict.
package reports
