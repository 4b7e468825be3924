// Package scenario runs a tool through the scenarios of a policy: for each
// run a fresh private copy of the scenario repo, canaries planted as the
// policy's canary plan says, the scenario's files written, and the tool run
// under the recording proxy (proxy/session), which writes the run folder.
//
//	results, err := scenario.RunAll(ctx, scenario.Options{
//		Policy: p,
//		Tool:   scenario.ResolveTool([]string{"python3", "fixtures/reference/pants.py"}, cwd),
//		Root:   repoRoot,          // relative scenario repos resolve here
//		Out:    "telemetry-report", // runs go to <Out>/<scenario>[/<run>]
//	}, nil)                         // nil: every scenario of the policy
//
// # One run
//
// Each run gets a temporary folder T holding the repo copy at
// T/<repo-path canary>/<repo name> (so the repo's path carries a canary) and
// a fresh empty HOME at T/<home canary>. Canary roles are planted per the
// policy's plan: env roles as environment variables, the user role as
// USER/LOGNAME/USERNAME, the repo-id role as the repo id (a random UUID, a
// valid Pants repo id) that {{repo_id}} expands to, template roles wherever
// the scenario's templates put them. The host and node roles are set inside
// a sealed network namespace (Options.Seal, see session): the namespace's
// host name is the host canary and its sink's MAC the node canary, so
// uuid.getnode() returns a known value (decimal, bare hex in both cases and
// colon hex are searched, and the hash oracle recomputes machine_id from it).
// This machine's real MACs are recorded as node canaries too, since outside a
// namespace the tool sees them; a run that was not sealed drops the host
// canary (RunResult.Notes says why).
//
// Roles listed in the scenario's vary get a fresh value per canary set:
// runs with the same set share every value (two runs in one repo), runs of
// different sets differ in those roles. Every other role has one value for
// the whole scenario.
//
// The run folder gets canaries.json (what was planted, for the judge) and
// everything session.Record writes (capture, stdout, stderr, run.json). A
// scenario with one run writes to <Out>/<scenario>, one with several runs
// to <Out>/<scenario>/<run>.
//
// # Concurrency
//
// Runs of one scenario are sequential, because repeated runs must have
// distinct times and the later ones compare against the earlier ones;
// RunAll runs up to Options.Parallel scenarios at once. A scenario that
// cannot run (tool not found, hung, crashed) carries its error in its
// Result and the others go on.
//
// # Keeping a run
//
// The temporary folders are removed after each run unless Options.Keep is
// set; then RunResult.Workdir, Argv and Env say how to rerun the tool by
// hand and RunResult.Rerun gives it as one shell line.
package scenario
