// Package realtools holds the suite that runs real telemetry clients,
// installed from the npm registry, through every scenario of their policies
// (policies/turborepo.yaml, policies/astro.yaml, policies/nextjs.yaml,
// policies/storybook.yaml) with
// the telemetry-harness CLI, and checks the verdicts it reaches clause by
// clause against verdicts written down by hand from the captured evidence.
//
// The package has no code of its own: the specs live in its _test files and
// carry the label "npm". They skip, saying why, when node is missing or the
// pinned clients are not installed (scripts/install-npm-targets.sh; the cache
// folder is $TELEMETRY_HARNESS_NPM_CACHE, /var/cache/telemetry-harness/npm or
// ~/.cache/telemetry-harness/npm). Each tool's output folder (run folders,
// report.json, report.html, report.sarif, junit.xml) is kept under
// $TELEMETRY_HARNESS_ARTIFACTS/realtools/<tool>, or the temporary folder
// when that is unset, as a CI artifact.
//
//	go test ./suites/realtools -ginkgo.label-filter=npm -ginkgo.v
package realtools
