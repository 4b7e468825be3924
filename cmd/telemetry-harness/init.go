package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/shlex"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
	"github.com/telemetry-harness/telemetry-harness/suites/draft"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
	"github.com/telemetry-harness/telemetry-harness/suites/scenario"
)

const initUsage = `init --tool "CMD ARGS" [--opt-in ENV=VAL]... [--opt-in-file PATH:CONTENT]... [--opt-out ENV=VAL]... [--opt-out-file PATH:CONTENT]... [--repo DIR] [--runs N] [--out policy.yaml] [--force] [--keep-runs DIR] [--seal auto|on|off] [--timeout DUR] [--settle DUR] [--idle-stop DUR] [-- TOOL-ARGS...]`

// initOptions are the flags of init.
type initOptions struct {
	Tool            string
	Args            []string
	OptIn, OptOut   draft.Setup
	HasOptOut       bool
	Repo            string
	Runs            int
	Out             string
	Force           bool
	KeepRuns        string
	Name            string
	Seal            string
	Timeout, Settle time.Duration
	IdleStop        time.Duration
}

func initCommand() command {
	opts := initOptions{Runs: 2, Out: "policy.yaml", Repo: "."}
	return command{name: "init", usage: initUsage,
		short: "record the tool with telemetry on and write a draft policy (endpoint, fields, canaries, clauses, probable leaks)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&opts.Tool, "tool", "", "the tool command, split like a shell (never run by one); required")
			fs.Func("opt-in", "ENV=VAL that switches telemetry on (repeatable)", envFlag(&opts.OptIn))
			fs.Func("opt-in-file", `PATH:CONTENT appended to PATH in the repo copy to switch telemetry on (repeatable; \n is a newline; {{repo_id}} plants a repo id canary)`, fileFlag(&opts.OptIn))
			fs.Func("opt-out", "ENV=VAL that switches telemetry off (repeatable)", func(s string) error { opts.HasOptOut = true; return envFlag(&opts.OptOut)(s) })
			fs.Func("opt-out-file", "PATH:CONTENT appended to PATH to switch telemetry off (repeatable)", func(s string) error { opts.HasOptOut = true; return fileFlag(&opts.OptOut)(s) })
			fs.StringVar(&opts.Repo, "repo", opts.Repo, "folder the tool runs in (copied fresh for every run)")
			fs.IntVar(&opts.Runs, "runs", opts.Runs, "how many runs to record")
			fs.StringVar(&opts.Out, "out", opts.Out, "the draft policy file to write")
			fs.BoolVar(&opts.Force, "force", false, "replace --out if it exists")
			fs.StringVar(&opts.KeepRuns, "keep-runs", "", "keep the recorded run folders here (default: a temporary folder, removed)")
			fs.StringVar(&opts.Name, "name", "", "the tool's name in the draft (default: from --tool)")
			fs.StringVar(&opts.Seal, "seal", session.SealAuto, "seal mode of the runs: auto, on, off")
			fs.DurationVar(&opts.Timeout, "timeout", 0, "kill a run still going after this long (default 60s)")
			fs.DurationVar(&opts.Settle, "settle", 0, "grace period after the tool and its descendants end")
			fs.DurationVar(&opts.IdleStop, "idle-stop", 0, "stop descendants idle this long after the tool exits (0: never)")
		},
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			opts.Args = args
			switch {
			case strings.TrimSpace(opts.Tool) == "":
				return usageError(stderr, "init needs --tool, the command that runs the tool", initUsage)
			case opts.Runs < 1 || opts.Runs > 20:
				return usageError(stderr, fmt.Sprintf("--runs %d: give 1 to 20", opts.Runs), initUsage)
			}
			if err := session.CheckSeal(opts.Seal); err != nil {
				return usageError(stderr, "--"+err.Error(), initUsage)
			}
			return runInit(ctx, opts, stdout, stderr)
		}}
}

func envFlag(s *draft.Setup) func(string) error {
	return func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return fmt.Errorf("%q is not ENV=VALUE (e.g. MYTOOL_TELEMETRY=1)", v)
		}
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[k] = val
		return nil
	}
}

func fileFlag(s *draft.Setup) func(string) error {
	return func(v string) error {
		path, content, ok := strings.Cut(v, ":")
		if !ok || path == "" {
			return fmt.Errorf("%q is not PATH:CONTENT (e.g. 'pants.toml:[anonymous-telemetry]\\nenabled = true')", v)
		}
		if filepath.IsAbs(path) || slices.Contains(strings.Split(filepath.ToSlash(path), "/"), "..") {
			return fmt.Errorf("%q: the path must be inside the repo (relative, without ..)", path)
		}
		// Shell quoting keeps \n literal; a config file needs real lines.
		content = strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`).Replace(content)
		if !strings.HasPrefix(content, "\n") {
			content = "\n" + content // never glued to an existing last line
		}
		if !strings.HasSuffix(content, "\n") {
			content += "\n"
		}
		s.Files = append(s.Files, policy.File{Path: filepath.ToSlash(path), Mode: "append", Content: content})
		return nil
	}
}

// Standard roles init plants in every run; more come from the templates
// the user writes ({{repo_id}}, {{canary.ROLE}}).
func standardCanaries() []policy.CanaryPlan {
	return []policy.CanaryPlan{
		{Role: "user", Plant: policy.PlantUser, Env: []string{"USER", "LOGNAME", "USERNAME"}, Note: "the user name"},
		{Role: "host", Plant: policy.PlantHostname, Note: "the host name (only inside a sealed namespace)"},
		{Role: "node", Plant: policy.PlantNode, Note: "the MAC address, as uuid.getnode() and friends return it (the canary inside a sealed namespace)"},
		{Role: "home", Plant: policy.PlantHomeDir, Note: "the fresh HOME folder's name"},
		{Role: "repo-path", Plant: policy.PlantRepoDir, Note: "a folder name in the repo copy's path"},
		{Role: "workdir", Plant: policy.PlantWorkdir, Note: "the repo copy's absolute path (a tool may hash it)"},
		{Role: "env-value", Plant: policy.PlantEnv, Env: []string{"PROJECT_DEPLOY_TOKEN"}, Note: "a secret-looking environment variable of the user's"},
	}
}

var templateRe = regexp.MustCompile(`\{\{\s*([^}]*?)\s*\}\}`)

// initPlan is the canary plan and roles of the runs: the standard roles,
// a repo id when a template asks for one, and every {{canary.ROLE}} the
// user wrote (planted where the template puts it).
func initPlan(opts initOptions) ([]policy.CanaryPlan, []string, error) {
	plans := standardCanaries()
	var texts []string
	for _, s := range []draft.Setup{opts.OptIn, opts.OptOut} {
		for _, f := range s.Files {
			texts = append(texts, f.Path, f.Content)
		}
		for _, v := range s.Env {
			texts = append(texts, v)
		}
	}
	texts = append(texts, opts.Args...)
	has := func(role string) bool {
		return slices.ContainsFunc(plans, func(p policy.CanaryPlan) bool { return p.Role == role })
	}
	for _, t := range texts {
		for _, m := range templateRe.FindAllStringSubmatch(t, -1) {
			name := m[1]
			switch {
			case name == "repo_id":
				if !has("repo-id") {
					plans = append(plans, policy.CanaryPlan{Role: "repo-id", Plant: policy.PlantRepoID, Note: "the raw repo id the opt-in writes with {{repo_id}}"})
				}
			case strings.HasPrefix(name, "canary."):
				role := strings.TrimPrefix(name, "canary.")
				if !regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`).MatchString(role) {
					return nil, nil, fmt.Errorf("template {{%s}}: a role is lower-case words joined by - (e.g. {{canary.cmdline-arg}})", name)
				}
				if !has(role) {
					plans = append(plans, policy.CanaryPlan{Role: role, Plant: policy.PlantTemplate, Note: "where your template puts it"})
				}
			default:
				return nil, nil, fmt.Errorf("unknown template {{%s}}: use {{repo_id}} or {{canary.ROLE}}", name)
			}
		}
	}
	var roles []string
	for _, p := range plans {
		roles = append(roles, p.Role)
	}
	return plans, roles, nil
}

// splitWords puts the leading plain words (goals, subcommands) in goals
// and the rest in args, as the scenario format writes them.
func splitWords(words []string) (goals, args []string) {
	plain := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
	i := 0
	for i < len(words) && plain.MatchString(words[i]) {
		i++
	}
	return words[:i], words[i:]
}

// toolName guesses the tool's name from its words: the script after an
// interpreter, else the program, without extension.
func guessToolName(words []string) string {
	name := filepath.Base(words[0])
	interp := regexp.MustCompile(`^(python[0-9.]*|node|nodejs|ruby|perl|sh|bash|npx|deno|bun|java)$`)
	if interp.MatchString(name) && len(words) > 1 && !strings.HasPrefix(words[1], "-") {
		name = filepath.Base(words[1])
	}
	name = strings.TrimSuffix(name, filepath.Ext(name))
	if name == "" {
		return "tool"
	}
	return name
}

func runInit(ctx context.Context, opts initOptions, stdout, stderr io.Writer) int {
	started := time.Now()
	if _, err := os.Stat(opts.Out); err == nil && !opts.Force {
		return harnessError(stderr, fmt.Errorf("%s exists: choose another --out, or --force to replace it", opts.Out))
	}
	repo, err := filepath.Abs(opts.Repo)
	if err != nil {
		return harnessError(stderr, err)
	}
	if st, err := os.Stat(repo); err != nil || !st.IsDir() {
		return harnessError(stderr, fmt.Errorf("--repo %s: not a folder; give the folder the tool runs in", opts.Repo))
	}
	words, err := shlex.Split(opts.Tool)
	if err != nil || len(words) == 0 {
		return usageError(stderr, fmt.Sprintf("--tool %q: cannot split it into words: %v", opts.Tool, err), initUsage)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return harnessError(stderr, err)
	}
	tool := scenario.ResolveTool(words, cwd)
	if _, err := exec.LookPath(tool[0]); err != nil {
		return harnessError(stderr, fmt.Errorf("tool %q not found: install it, or give its full path in --tool", tool[0]))
	}
	plans, roles, err := initPlan(opts)
	if err != nil {
		return usageError(stderr, err.Error(), initUsage)
	}
	goals, args := splitWords(opts.Args)
	name := opts.Name
	if name == "" {
		name = guessToolName(words)
	}

	runsDir := opts.KeepRuns
	if runsDir == "" {
		if runsDir, err = os.MkdirTemp("", "telemetry-harness-init-"); err != nil {
			return harnessError(stderr, fmt.Errorf("make a folder for the runs: %w", err))
		}
		defer os.RemoveAll(runsDir)
	}
	env := map[string]string{"TZ": "UTC"}
	for k, v := range opts.OptIn.Env {
		env[k] = v
	}
	sc := policy.Scenario{Name: "init", Repo: repo, Canaries: roles, Files: opts.OptIn.Files, Env: env, Goals: goals, Args: args,
		Expect: policy.Expect{Reports: policy.ReportsSome, Exit: policy.ExitAny}}
	for i := 1; i <= opts.Runs; i++ {
		sc.Runs = append(sc.Runs, policy.Run{Name: fmt.Sprintf("run-%d", i), Set: "a"})
	}
	// The recording policy is in memory only: the runner reads its canary
	// plan and the scenario; the endpoint is not known yet, and the sink
	// answers every host alike.
	rec := &policy.Policy{Version: 1, Tool: policy.Tool{Name: name}, Canaries: plans, Scenarios: []policy.Scenario{sc}}
	fmt.Fprintf(stderr, "%s: init: recording %d run(s) of %s in a copy of %s (seal %s), planting %s\n",
		toolName, opts.Runs, strings.Join(append(slices.Clone(tool), opts.Args...), " "), repo, opts.Seal, strings.Join(roles, ", "))
	res, runErr := scenario.Run(ctx, scenario.Options{Policy: rec, Tool: tool, Root: cwd, Out: runsDir, Settle: opts.Settle,
		Timeout: opts.Timeout, IdleStop: opts.IdleStop, Parallel: 1, Seal: opts.Seal, Log: stderr}, &rec.Scenarios[0])
	if res == nil {
		return harnessError(stderr, runErr)
	}
	var dirs []string
	for _, r := range res.Runs {
		if _, err := os.Stat(filepath.Join(r.Dir, capture.JSONLName)); err == nil {
			dirs = append(dirs, r.Dir)
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "%s: init: some runs failed: %v\n", toolName, runErr)
		if len(dirs) == 0 || errors.Is(runErr, session.ErrNotFound) {
			return harnessError(stderr, errors.New("init: nothing recorded to draft from"))
		}
	}

	outAbs, err := filepath.Abs(opts.Out)
	if err != nil {
		return harnessError(stderr, err)
	}
	repoRel := repo
	// A repo near the draft is written relative to it (the loader resolves
	// it so), one far away absolute.
	if rel, err := filepath.Rel(filepath.Dir(outAbs), repo); err == nil && !strings.HasPrefix(rel, "../..") {
		repoRel = filepath.ToSlash(rel)
	}
	in := draft.Input{ToolName: name, Dirs: dirs, Repo: repoRel, Goals: goals, Args: args, OptIn: opts.OptIn,
		Canaries: plans, Roles: roles}
	if opts.HasOptOut {
		in.OptOut = &opts.OptOut
	}
	d, err := draft.Infer(in)
	if err != nil {
		return harnessError(stderr, err)
	}
	if err := os.WriteFile(opts.Out, d.YAML, 0o644); err != nil {
		return harnessError(stderr, fmt.Errorf("write the draft: %w (choose a writable --out)", err))
	}
	for _, l := range d.Leaks {
		fmt.Fprintf(stderr, "%s: %s (%d request(s))\n", toolName, l, l.Requests)
	}
	for _, n := range d.Notes {
		fmt.Fprintf(stderr, "%s: note: %s\n", toolName, n)
	}
	ep := d.Policy.Endpoint
	formats := 0
	for _, f := range d.Policy.Fields {
		if f.Format != "" || f.Pattern != "" || len(f.Enum) > 0 {
			formats++
		}
	}
	fmt.Fprintf(stdout, "wrote %s: endpoint %s %s://%s%s, %d header(s), %d field(s) (%d with a format, pattern or enum), %d other destination(s), %d canary role(s), %d probable leak(s), sealed %t (%s)\n",
		opts.Out, ep.Method, ep.Scheme, ep.Host, ep.Path, len(ep.Headers.Allowed), len(d.Policy.Fields), formats, len(d.Others), len(roles), len(d.Leaks), d.Sealed,
		time.Since(started).Round(time.Millisecond))
	fmt.Fprintf(stdout, "next: replace every TODO with the page's words, then\n  %s run --policy %s --tool %s\n", toolName, opts.Out, shellQuote(opts.Tool))
	return exitOK
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
