package scenario

import (
	"fmt"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
)

// Rerunning a kept run by hand: the shell lines and the environment without the run's proxy.

// Rerun returns a shell line that runs the tool again by hand, in its kept
// working folder with its environment (see Env).
func (r *RunResult) Rerun() string {
	var b strings.Builder
	b.WriteString("cd ")
	b.WriteString(quote(r.Workdir))
	b.WriteString(" && env -i")
	for _, kv := range r.Env {
		b.WriteString(" ")
		b.WriteString(quote(kv))
	}
	for _, w := range r.Argv {
		b.WriteString(" ")
		b.WriteString(quote(w))
	}
	return b.String()
}

// RerunRecorded is a shell line that reruns the tool by hand the safe way:
// under `<harness> record` (sink mode, so nothing reaches the real
// endpoint), in the kept repo copy, with the run's environment (HOME
// excepted: record always gives a fresh one). Rerun, without the proxy,
// would let a real tool send a real report.
func (r *RunResult) RerunRecorded(harness, out string) string {
	var b strings.Builder
	b.WriteString("cd ")
	b.WriteString(quote(r.Workdir))
	b.WriteString(" && env -i")
	var pass []string
	for _, kv := range r.Env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" {
			continue
		}
		b.WriteString(" ")
		b.WriteString(quote(kv))
		if k != "PATH" && k != "LANG" && k != "TZ" && k != "TERM" {
			pass = append(pass, k)
		}
	}
	b.WriteString(" ")
	b.WriteString(quote(harness))
	b.WriteString(" record --out ")
	b.WriteString(quote(out))
	for _, k := range pass {
		b.WriteString(" --pass-env ")
		b.WriteString(quote(k))
	}
	b.WriteString(" --")
	for _, w := range r.Argv {
		b.WriteString(" ")
		b.WriteString(quote(w))
	}
	return b.String()
}

// rerunEnv is the tool's environment without the variables that pointed at
// the run's proxy and CA bundle.
func rerunEnv(sb *sandbox, passEnv []string, host *capture.Host) ([]string, error) {
	env, err := session.BuildEnv(session.EnvOptions{ProxyURL: "-", Bundle: "-", Home: sb.home, User: sb.user, Extra: sb.env, PassEnv: passEnv, Host: host})
	if err != nil {
		return nil, fmt.Errorf("build environment: %w", err)
	}
	drop := map[string]bool{"SSL_CERT_DIR": true}
	for _, list := range [][]string{session.ProxyVariables(), session.NoProxyVariables(), session.CAVariables()} {
		for _, k := range list {
			drop[k] = true
		}
	}
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return out, nil
}
