package versions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/shlex"

	"github.com/telemetry-harness/telemetry-harness/reports"
	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/judge"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// Spec says how to install and run each version.
type Spec struct {
	// Self is the harness binary whose `run` judges each version.
	Self string
	// Policy is the policy file.
	Policy string
	// Install and Tool are command templates; {dir} is the version's cache
	// folder and {version} the version. Install is split like a shell and
	// run without one; Tool is handed to `run --tool`.
	Install, Tool string
	// Scenarios limit the scenarios run (all when empty).
	Scenarios []string
	// Cache holds one folder per version; Out one report folder per
	// version (Out/<version>) and the run logs (Out/logs).
	Cache, Out string
	// RunArgs are more flags for `run` (e.g. --parallel 1, --timeout 5m).
	RunArgs []string
	// Log gets one line per step; nil discards.
	Log io.Writer

	policy *policy.Policy
	mu     sync.Mutex // logf: installs run beside runs
}

// Check validates the templates before anything runs.
func (s *Spec) Check() error {
	switch {
	case s.Policy == "":
		return errors.New("--policy is required: the policy every version is judged against")
	case strings.TrimSpace(s.Install) == "":
		return errors.New("--install is required, e.g. 'npm install --prefix {dir} next@{version}'")
	case strings.TrimSpace(s.Tool) == "":
		return errors.New("--tool is required, e.g. '{dir}/node_modules/.bin/next'")
	case !strings.Contains(s.Install, "{version}"):
		return fmt.Errorf("--install %q never names {version}: every version would install the same thing", s.Install)
	case !strings.Contains(s.Install+s.Tool, "{dir}"):
		return fmt.Errorf("--install and --tool never name {dir}: each version needs its own folder")
	}
	p, err := policy.Load(s.Policy)
	if err != nil {
		return err
	}
	s.policy = p
	if _, err := shlex.Split(s.Install); err != nil {
		return fmt.Errorf("--install %q: cannot split it into words: %w", s.Install, err)
	}
	if _, err := shlex.Split(s.Tool); err != nil {
		return fmt.Errorf("--tool %q: cannot split it into words: %w", s.Tool, err)
	}
	return nil
}

func (s *Spec) logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", args...)
	}
}

// Result is one version's outcome.
type Result struct {
	Version string `json:"version"`
	// Skipped says why the version has no verdict; empty when it ran.
	Skipped string `json:"skipped,omitempty"`
	// Out is the version's report folder.
	Out string `json:"out,omitempty"`
	// Verdict is the run's overall verdict (compliant, violations,
	// incomplete).
	Verdict string          `json:"verdict,omitempty"`
	Clauses []ClauseVerdict `json:"clauses,omitempty"`
	// Note says when the version lies outside the policy's tool.versions:
	// its verdicts apply a promise text checked against other releases.
	Note string `json:"note,omitempty"`
	// Installed is true when this call installed the version (false: it
	// was in the cache already, or could not install).
	Installed bool `json:"installed"`
	// InstallTime and RunTime are wall times.
	InstallTime time.Duration `json:"install_ns"`
	RunTime     time.Duration `json:"run_ns"`
}

// ClauseVerdict is one clause of a version's report.
type ClauseVerdict struct {
	ID       string          `json:"id"`
	Verdict  judge.Verdict   `json:"verdict"`
	Findings []judge.Finding `json:"findings,omitempty"`
}

// Clause returns the verdict of clause id, or nil.
func (r *Result) Clause(id string) *ClauseVerdict {
	for i := range r.Clauses {
		if r.Clauses[i].ID == id {
			return &r.Clauses[i]
		}
	}
	return nil
}

// stampName marks a cache folder whose install finished; it holds the
// install command, so a changed template installs again.
const stampName = ".telemetry-harness-installed"

// Dir is version v's cache folder.
func (s *Spec) Dir(v string) (string, error) {
	abs, err := filepath.Abs(filepath.Join(s.Cache, v))
	if err != nil {
		return "", fmt.Errorf("cache folder: %w", err)
	}
	return abs, nil
}

// fill replaces the placeholders in each word of a template.
func fill(words []string, dir, v string) []string {
	out := make([]string, len(words))
	r := strings.NewReplacer("{dir}", dir, "{version}", v)
	for i, w := range words {
		out[i] = r.Replace(w)
	}
	return out
}

// quote makes w one word for shlex, quoting only when needed.
func quote(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\n'\"\\#") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'"'"'`) + "'"
}

func joinWords(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = quote(w)
	}
	return strings.Join(q, " ")
}

// InstallVersion installs version v into its cache folder unless the stamp says
// the same command installed it already. It returns the folder and, when
// the install failed, why (a skip reason, not an error); the error is for
// the harness's own failures.
func (s *Spec) InstallVersion(ctx context.Context, v string) (dir, skip string, installed bool, err error) {
	dir, err = s.Dir(v)
	if err != nil {
		return "", "", false, err
	}
	words, _ := shlex.Split(s.Install) // Check validated it
	cmdWords := fill(words, dir, v)
	want := joinWords(cmdWords) + "\n"
	stamp := filepath.Join(dir, stampName)
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		s.logf("%s: installed already (%s)", v, dir)
		return dir, "", false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", false, fmt.Errorf("cache folder %s: %w (choose a writable --cache)", dir, err)
	}
	logPath := filepath.Join(dir, "install.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", "", false, fmt.Errorf("install log: %w", err)
	}
	defer logf.Close()
	s.logf("%s: installing: %s", v, joinWords(cmdWords))
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, cmdWords[0], cmdWords[1:]...)
	cmd.Stdout = io.MultiWriter(logf, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", "", false, ctx.Err()
		}
		why := lastLine(tail.String())
		if why == "" {
			why = "no output"
		}
		return dir, fmt.Sprintf("install failed (%v): %s (log: %s)", err, why, logPath), false, nil
	}
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		return "", "", false, fmt.Errorf("install stamp: %w", err)
	}
	return dir, "", true, nil
}

// Run installs version v if needed and runs the policy on it into
// Out/<v>. The result is skipped (with why) when the version cannot be
// installed or run here.
func (s *Spec) Run(ctx context.Context, v string) (*Result, error) {
	return s.runInstalled(ctx, s.install(ctx, v))
}

// installed is the outcome of installing one version.
type installed struct {
	v, dir, skip string
	fresh        bool
	wall         time.Duration
	err          error
}

func (s *Spec) install(ctx context.Context, v string) installed {
	start := time.Now()
	dir, skip, fresh, err := s.InstallVersion(ctx, v)
	return installed{v: v, dir: dir, skip: skip, fresh: fresh, wall: time.Since(start), err: err}
}

// runInstalled runs the policy on a version install has been tried for.
func (s *Spec) runInstalled(ctx context.Context, in installed) (*Result, error) {
	v, dir, skip := in.v, in.dir, in.skip
	res := &Result{Version: v, Note: s.outside(v), InstallTime: in.wall, Installed: in.fresh}
	if in.err != nil {
		return nil, in.err
	}
	if skip != "" {
		res.Skipped = skip
		s.logf("%s: skipped: %s", v, skip)
		return res, nil
	}
	out, err := filepath.Abs(filepath.Join(s.Out, v))
	if err != nil {
		return nil, err
	}
	logs := filepath.Join(s.Out, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, fmt.Errorf("output folder %s: %w (choose a writable --out)", s.Out, err)
	}
	toolWords, _ := shlex.Split(s.Tool)
	args := []string{"run", "--policy", s.Policy, "--tool", joinWords(fill(toolWords, dir, v)), "--out", out}
	for _, sc := range s.Scenarios {
		args = append(args, "--scenario", sc)
	}
	args = append(args, s.RunArgs...)
	logPath := filepath.Join(logs, v+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("run log: %w", err)
	}
	defer logf.Close()
	s.logf("%s: running the policy (log: %s)", v, logPath)
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, s.Self, args...)
	cmd.Stdout = logf
	cmd.Stderr = io.MultiWriter(logf, &tail)
	start := time.Now()
	runErr := cmd.Run()
	res.RunTime = time.Since(start)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		code = ee.ExitCode()
	} else if runErr != nil {
		return nil, fmt.Errorf("run %s: %w", s.Self, runErr)
	}
	rep, err := reports.ReadJSON(filepath.Join(out, reports.JSONName))
	if err != nil {
		res.Skipped = fmt.Sprintf("run failed (exit %d): %s (log: %s)", code, lastLine(tail.String()), logPath)
		s.logf("%s: skipped: %s", v, res.Skipped)
		return res, nil
	}
	res.Out = out
	if why := cannotRun(rep, s.policy, out); why != "" {
		res.Skipped = why + " (log: " + logPath + ")"
		s.logf("%s: skipped: %s", v, res.Skipped)
		return res, nil
	}
	res.Verdict = string(rep.Verdict)
	for _, c := range rep.Clauses {
		res.Clauses = append(res.Clauses, ClauseVerdict{ID: c.ID, Verdict: c.Verdict, Findings: c.Findings})
	}
	s.logf("%s: %s (%s)", v, res.Verdict, res.RunTime.Round(time.Millisecond))
	return res, nil
}

// cannotRun says why a report holds no verdict about the version: a
// scenario failed to run, or the tool could not start (exit 126/127) or
// ended otherwise than the scenario expects (a build that fails on an
// unknown flag, an engine too new): its verdicts would judge the
// machine, not the version. The reason quotes the tool's last stderr
// line with planted values redacted.
func cannotRun(r *reports.Report, p *policy.Policy, out string) string {
	if len(r.Scenarios) == 0 {
		return "no scenario ran"
	}
	for _, sc := range r.Scenarios {
		if sc.Error != "" {
			return "could not run scenario " + sc.Name + ": " + sc.Error
		}
		expect := ""
		if p != nil {
			if ps, err := p.Scenario(sc.Name); err == nil {
				expect = ps.Expect.Exit
			}
		}
		for _, run := range sc.Runs {
			if run.TimedOut {
				return fmt.Sprintf("the tool timed out in scenario %s (raise --timeout if it is only slow here)", sc.Name)
			}
			if run.ExitCode == nil {
				continue
			}
			code := *run.ExitCode
			bad := code == 126 || code == 127 ||
				expect == "success" && code != 0 || expect == "failure" && code == 0
			if !bad {
				continue
			}
			why := fmt.Sprintf("the tool exited %d in scenario %s", code, sc.Name)
			if expect != "" && expect != "any" {
				why += " (expected " + expect + ")"
			}
			if line := stderrLine(filepath.Join(out, run.Dir)); line != "" {
				why += ": " + line
			}
			return why
		}
	}
	return ""
}

// stderrLine is the last line of a run folder's stderr, planted values
// redacted with its canaries.
func stderrLine(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "stderr"))
	if err != nil {
		return ""
	}
	line := lastLine(string(b))
	cs, err := canary.ReadFile(filepath.Join(dir, "canaries.json"))
	if err != nil {
		return line
	}
	srch, err := canary.NewSearcher(cs)
	if err != nil {
		return ""
	}
	return srch.Redact(line)
}

// ScenariosFor lists the policy's scenarios that exercise clause (all
// scenarios when clause is empty), for a bisection that runs no more than
// the clause needs. Check must have loaded the policy.
func (s *Spec) ScenariosFor(clause string) ([]string, error) {
	if s.policy == nil {
		return nil, errors.New("scenarios: the policy is not loaded (call Check first)")
	}
	if clause == "" {
		return nil, nil
	}
	if _, err := s.policy.Clause(clause); err != nil {
		return nil, fmt.Errorf("--clause: %w", err)
	}
	var out []string
	for _, sc := range s.policy.Scenarios {
		for _, c := range sc.Clauses {
			if c == clause {
				out = append(out, sc.Name)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--clause %s: no scenario of %s exercises it, so no run can judge it", clause, s.Policy)
	}
	return out, nil
}

// outside notes a version outside the policy's tool.versions range.
func (s *Spec) outside(v string) string {
	if s.policy == nil {
		return ""
	}
	c, err := s.policy.Tool.VersionRange()
	if err != nil || c == nil {
		return ""
	}
	sv, err := semver.NewVersion(v)
	if err != nil || c.Check(sv) {
		return ""
	}
	return fmt.Sprintf("outside the policy's tool.versions %q: judged by a promise text checked against other releases", s.policy.Tool.Versions)
}
