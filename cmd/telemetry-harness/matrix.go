package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/versions"
)

const matrixUsage = `matrix --policy FILE --install 'CMD {dir} ...{version}' --tool 'CMD {dir}...' (--versions V1,V2,... | --range RANGE --package PKG) [--scenario NAME]... [--out DIR] [--cache DIR] [--parallel N] [--timeout DUR] [--npm CMD] [-- RUN-FLAGS...]`

const bisectUsage = `bisect --good V1 --bad V2 [--clause ID] --policy FILE --install '...' --tool '...' [--versions V1,...,V2 | --package PKG] [--scenario NAME]... [--out DIR] [--cache DIR] [--parallel N] [--timeout DUR] [--npm CMD] [-- RUN-FLAGS...]`

// versionFlags are the flags matrix and bisect share.
type versionFlags struct {
	spec     versions.Spec
	list     string
	rng      string
	pkg      string
	npm      string
	parallel int
	timeout  string
}

func (f *versionFlags) register(fs *flag.FlagSet, out string) {
	fs.StringVar(&f.spec.Policy, "policy", "", "policy file every version is judged against (required)")
	fs.StringVar(&f.spec.Install, "install", "", "install command template; {dir} is the version's cache folder, {version} the version (required)")
	fs.StringVar(&f.spec.Tool, "tool", "", "tool command template for run --tool; {dir} and {version} as in --install (required)")
	fs.StringVar(&f.list, "versions", "", "comma-separated versions, e.g. 15.0.0,15.1.0")
	fs.StringVar(&f.rng, "range", "", "semver range over the registry's versions of --package, e.g. '>=13 <=16.4.6'")
	fs.StringVar(&f.pkg, "package", "", "npm package whose published versions --range (or bisect) resolves")
	fs.StringVar(&f.npm, "npm", "npm", "npm command used to list published versions")
	fs.Func("scenario", "scenario to run (repeatable; default: all, or for bisect those that exercise --clause)", func(s string) error {
		f.spec.Scenarios = append(f.spec.Scenarios, s)
		return nil
	})
	f.spec.Out = out
	fs.StringVar(&f.spec.Out, "out", out, "output folder: one report folder per version, logs/, and the summary")
	fs.StringVar(&f.spec.Cache, "cache", "", "install cache, one folder per version (default: the user cache folder)")
	fs.IntVar(&f.parallel, "parallel", 1, "scenarios run at once within a version (versions always run one at a time)")
	fs.StringVar(&f.timeout, "timeout", "", "run --timeout for each version (e.g. 5m for a build)")
}

// finish validates the flags and fills the spec; rest are the words after
// the flags (run flags after --).
func (f *versionFlags) finish(rest []string, stderr io.Writer) error {
	for _, a := range rest {
		if !strings.HasPrefix(a, "-") {
			return fmt.Errorf("unexpected argument %q (run flags go after --)", a)
		}
		f.spec.RunArgs = append(f.spec.RunArgs, a)
	}
	f.spec.RunArgs = append([]string{"--parallel", fmt.Sprint(f.parallel)}, f.spec.RunArgs...)
	if f.timeout != "" {
		f.spec.RunArgs = append(f.spec.RunArgs, "--timeout", f.timeout)
	}
	if f.spec.Cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("no user cache folder (%w): give --cache", err)
		}
		name := f.pkg
		if name == "" {
			name = "default"
		}
		f.spec.Cache = filepath.Join(base, "telemetry-harness", "versions", name)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this binary to run each version: %w", err)
	}
	f.spec.Self = self
	f.spec.Log = stderr
	return f.spec.Check()
}

// resolve lists the versions: --versions, else --range over the registry.
func (f *versionFlags) resolve(ctx context.Context) ([]string, error) {
	switch {
	case f.list != "" && f.rng != "":
		return nil, errors.New("give --versions or --range, not both")
	case f.list != "":
		return versions.List(f.list)
	case f.rng != "":
		all, err := versions.Registry(ctx, f.npm, f.pkg)
		if err != nil {
			return nil, err
		}
		return versions.InRange(all, f.rng)
	}
	return nil, errors.New("give --versions V1,V2,... or --range RANGE with --package PKG")
}

func matrixCommand() command {
	var f versionFlags
	return command{name: "matrix", usage: matrixUsage,
		short: "run the policy once per version of the tool (installed once into a cache); writes a clause x version table and the payload diff of neighbouring versions",
		flags: func(fs *flag.FlagSet) { f.register(fs, "telemetry-matrix") },
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			if err := f.finish(args, stderr); err != nil {
				return usageError(stderr, err.Error(), matrixUsage)
			}
			vs, err := f.resolve(ctx)
			if err != nil {
				return usageError(stderr, err.Error(), matrixUsage)
			}
			if err := prepareOut(f.spec.Out); err != nil {
				return harnessError(stderr, err)
			}
			fmt.Fprintf(stderr, "%s: matrix of %d versions (%s) on %s, output in %s\n", toolName, len(vs), strings.Join(vs, ", "), f.spec.Policy, f.spec.Out)
			m, err := f.spec.RunMatrix(ctx, vs)
			if err != nil {
				return harnessError(stderr, err)
			}
			if err := m.WriteAll(f.spec.Out); err != nil {
				return harnessError(stderr, err)
			}
			if err := m.WriteText(stdout); err != nil {
				return harnessError(stderr, err)
			}
			fmt.Fprintf(stderr, "%s: matrix in %s: matrix.txt, matrix.md, matrix.html, matrix.json; one report folder per version\n", toolName, f.spec.Out)
			// Like run: violations anywhere is exit 3; a matrix where no
			// version ran says so with 1.
			ran, violated := 0, false
			for _, r := range m.Versions {
				if r.Skipped == "" {
					ran++
					violated = violated || r.Verdict == "violations"
				}
			}
			switch {
			case ran == 0:
				return harnessError(stderr, errors.New("no version could run here (see the skipped reasons)"))
			case violated:
				return exitViolations
			}
			return exitOK
		}}
}
