package telemetryharness_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// actionPath is the reusable GitHub Action (composite); actionlint checks
// its metadata where the workflows use it, these tests check its scripts.
const actionPath = ".github/actions/telemetry-harness/action.yml"

type actionStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	Shell string            `yaml:"shell"`
	Run   string            `yaml:"run"`
	Uses  string            `yaml:"uses"`
	Env   map[string]string `yaml:"env"`
}

type action struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) action {
	t.Helper()
	b, err := os.ReadFile(actionPath)
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %v", actionPath, err)
	}
	return a
}

func step(t *testing.T, a action, name string) actionStep {
	t.Helper()
	for _, s := range a.Runs.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("%s: no step %q", actionPath, name)
	return actionStep{}
}

// TestActionShape checks the action's contract: its inputs, the actions
// it builds on, and that no run: script splices an expression into shell
// text (inputs reach scripts through env only: no script injection).
func TestActionShape(t *testing.T) {
	a := readAction(t)
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using = %q, want composite", a.Runs.Using)
	}
	for _, in := range []string{"policy", "tool", "args", "version"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("input %q missing", in)
		}
	}
	uses := map[string]bool{}
	for _, s := range a.Runs.Steps {
		if s.Uses != "" {
			uses[strings.Split(s.Uses, "@")[0]] = true
		}
		if s.Run != "" {
			if s.Shell != "bash" {
				t.Errorf("step %q: shell %q, want bash", s.Name, s.Shell)
			}
			if strings.Contains(s.Run, "${{") {
				t.Errorf("step %q: an expression inside run: (pass it through env)", s.Name)
			}
		}
	}
	for _, u := range []string{"actions/setup-go", "actions/upload-artifact", "github/codeql-action/upload-sarif"} {
		if !uses[u] {
			t.Errorf("no step uses %s", u)
		}
	}
	wf, err := os.ReadFile(".github/workflows/compliance.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(wf), "uses: ./.github/actions/telemetry-harness") {
		t.Error("compliance.yml does not use the action itself, so CI would not prove it")
	}
}

// TestActionShellcheck runs shellcheck on every run: script.
func TestActionShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not found (bash .ci/run installs it)")
	}
	for _, s := range readAction(t).Runs.Steps {
		if s.Run == "" {
			continue
		}
		cmd := exec.Command(sc, "-s", "bash", "-")
		cmd.Stdin = strings.NewReader(s.Run)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck, step %q: %v\n%s", s.Name, err, out)
		}
	}
}

// runStep runs one step's script as the runner would (bash -e -o
// pipefail), with its env and the runner's files, and returns the output
// and step-output files' contents and the exit code.
func runStep(t *testing.T, s actionStep, env map[string]string, path string) (outputs, summary string, code int) {
	t.Helper()
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + path + string(os.PathListSeparator) + os.Getenv("PATH"), "GITHUB_OUTPUT=" + out, "GITHUB_STEP_SUMMARY=" + sum, "RUNNER_TEMP=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	b, err := cmd.CombinedOutput()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("step %q: %v\n%s", s.Name, err, b)
	}
	o, _ := os.ReadFile(out)
	m, _ := os.ReadFile(sum)
	return string(o), string(m), code
}

// TestActionExitCodes runs the run, summary and fail steps against a stub
// harness for every exit code: the code reaches the step output, the
// summary says what it means, and the job fails by it.
func TestActionExitCodes(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	a := readAction(t)
	meanings := map[string]string{"0": "compliant", "1": "incomplete or harness error", "2": "usage error", "3": "violations found"}
	for code, meaning := range meanings {
		t.Run("exit "+code, func(t *testing.T) {
			bin := t.TempDir()
			stub := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$STUB_ARGS\"\nmkdir -p \"$REPORT_DIR\"\necho '# report' > \"$REPORT_DIR/report.md\"\nexit " + code + "\n"
			if err := os.WriteFile(filepath.Join(bin, "telemetry-harness"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			argsFile := filepath.Join(t.TempDir(), "args")
			report := filepath.Join(t.TempDir(), "rep")
			outputs, _, rc := runStep(t, step(t, a, "Run telemetry-harness"), map[string]string{
				"POLICY": "my policy.yaml", "TOOL": "./bin/tool --flag", "ARGS": "--scenario opt-in  --timeout 2m",
				"REPORT_DIR": report, "STUB_ARGS": argsFile}, bin)
			if rc != 0 {
				t.Fatalf("the run step itself failed (exit %d): it must record the code, not fail", rc)
			}
			if !strings.Contains(outputs, "exit-code="+code+"\n") {
				t.Fatalf("step outputs %q lack exit-code=%s", outputs, code)
			}
			got, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Join([]string{"run", "--out", report, "--policy", "my policy.yaml", "--tool", "./bin/tool --flag", "--scenario", "opt-in", "--timeout", "2m"}, "\n") + "\n"
			if string(got) != want {
				t.Fatalf("harness argv:\n%s\nwant:\n%s", got, want)
			}

			_, summary, rc := runStep(t, step(t, a, "Write the job summary"), map[string]string{"CODE": code, "REPORT_DIR": report}, bin)
			if rc != 0 || !strings.Contains(summary, "exit "+code+", "+meaning) || !strings.Contains(summary, "# report") {
				t.Fatalf("summary step (exit %d) wrote:\n%s", rc, summary)
			}
			_, _, rc = runStep(t, step(t, a, "Fail by the exit code"), map[string]string{"CODE": code}, bin)
			if want := map[string]int{"0": 0, "1": 1, "2": 2, "3": 3}[code]; rc != want {
				t.Fatalf("fail step exited %d, want %d", rc, want)
			}
		})
	}
	t.Run("no run at all", func(t *testing.T) {
		_, summary, _ := runStep(t, step(t, a, "Write the job summary"), map[string]string{"CODE": "", "REPORT_DIR": t.TempDir()}, t.TempDir())
		if !strings.Contains(summary, "did not run") {
			t.Fatalf("summary: %s", summary)
		}
		if _, _, rc := runStep(t, step(t, a, "Fail by the exit code"), map[string]string{"CODE": ""}, t.TempDir()); rc == 0 {
			t.Fatal("a harness that never ran must fail the job")
		}
	})
}
