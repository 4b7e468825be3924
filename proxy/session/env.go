package session

import (
	"crypto/rand"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// A marker is how Supervise attributes the processes of a run that is not
// sealed: one environment variable that every descendant inherits, so a
// reparented orphan is told apart from another session's. Its name and
// value are random per session and shaped like a user's own variable
// (KAVERO_MILASU=<24 letters and digits>): a fixed name such as
// TELEMETRY_HARNESS_SESSION would tell the tool it is being tested. The
// process tree alone (subreaper and /proc children) cannot replace it,
// because several sessions share the harness as subreaper and an orphan's
// parent is then the harness for all of them. A sealed run needs no
// marker: every process in its PID namespace belongs to it.
type marker struct{ name, value string }

// newMarker draws a fresh marker.
func newMarker() (marker, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return marker{}, fmt.Errorf("make session marker: %w", err)
	}
	const (
		consonants = "BDFGKLMNPRSTVZ"
		vowels     = "AEIOU"
		alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	)
	var name []byte
	for i := range 6 {
		if i == 3 {
			name = append(name, '_')
		}
		name = append(name, consonants[int(b[i])%len(consonants)], vowels[int(b[i+6])%len(vowels)])
	}
	v := make([]byte, 0, 24)
	for len(v) < 24 {
		var c [64]byte
		if _, err := rand.Read(c[:]); err != nil {
			return marker{}, fmt.Errorf("make session marker: %w", err)
		}
		for _, x := range c {
			// Rejection sampling keeps the 62 characters equally likely.
			if int(x) < 248 && len(v) < 24 {
				v = append(v, alnum[int(x)%len(alnum)])
			}
		}
	}
	return marker{name: string(name), value: string(v)}, nil
}

// String is the marker as an environment entry.
func (m marker) String() string { return m.name + "=" + m.value }

// ProxyVariables returns the proxy variables the harness sets, in both
// cases, because tools differ in which spelling they read.
func ProxyVariables() []string {
	return []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"}
}

// NoProxyVariables returns the variables the harness sets empty so that no
// host bypasses the proxy.
func NoProxyVariables() []string { return []string{"NO_PROXY", "no_proxy"} }

// CAVariables returns the file-valued CA variables the harness points at its
// bundle. Each replaces a client's whole trust store, and this machine (like
// many CI images) sets several of them to the system bundle, which silently
// defeats interception when inherited. SSL_CERT_DIR is set separately (to a
// folder).
func CAVariables() []string {
	return []string{
		"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "NIX_SSL_CERT_FILE",
		"AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO",
		// Not in the tool contract, but set globally on the machines we run
		// on; pointing them at the bundle costs nothing.
		"PIP_CERT", "HTTPLIB2_CA_CERTS", "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
	}
}

// defaultPath is used when the harness itself has no PATH.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// EnvOptions are the inputs of the environment given to a recorded command.
type EnvOptions struct {
	// ProxyURL is the proxy every proxy variable points at. Required.
	ProxyURL string
	// Bundle is the CA bundle file (system roots + harness CA). Required.
	Bundle string
	// CertDir is the hashed certificate folder for SSL_CERT_DIR; empty
	// means the folder holding Bundle.
	CertDir string
	// Home is HOME. Required (the session makes a fresh empty folder).
	Home string
	// User is planted as USER, LOGNAME and USERNAME; empty means they are
	// copied from the harness's environment.
	User string
	// Extra holds more KEY=VALUE entries (canary variables). They may not
	// name a variable the harness controls.
	Extra []string
	// PassEnv names harness variables to copy as they are. They may not
	// name a variable the harness controls.
	PassEnv []string
	// Parent is the harness environment to copy from; nil means
	// os.Environ().
	Parent []string
	// Host, when set, pins the host facts of the environment: LANG,
	// LC_ALL, TZ, TERM and the CI vendor's variables come from it, and no
	// other locale or CI variable reaches the tool (capture.HostVariable).
	// Extra and PassEnv may not contradict it. Nil: LANG, TZ and TERM are
	// copied from the harness, as the tool contract says.
	Host *capture.Host
}

// BuildEnv returns the environment of the tool contract: an allowlist, never
// the harness's environment wholesale. Entries are sorted by name.
func BuildEnv(o EnvOptions) ([]string, error) {
	if o.ProxyURL == "" || o.Bundle == "" || o.Home == "" {
		return nil, fmt.Errorf("build environment: proxy URL, CA bundle and HOME are required")
	}
	parent := o.Parent
	if parent == nil {
		parent = os.Environ()
	}
	pv := map[string]string{}
	for _, kv := range parent {
		if k, v, ok := strings.Cut(kv, "="); ok {
			pv[k] = v
		}
	}
	env := map[string]string{}
	// The allowlist copied from the harness's environment when set.
	for _, k := range []string{"PATH", "LANG", "TZ", "TERM"} {
		if v, ok := pv[k]; ok {
			env[k] = v
		}
	}
	if env["PATH"] == "" {
		env["PATH"] = defaultPath
	}
	for _, k := range []string{"USER", "LOGNAME", "USERNAME"} {
		if o.User != "" {
			env[k] = o.User
		} else if v, ok := pv[k]; ok {
			env[k] = v
		}
	}
	for _, k := range o.PassEnv {
		if controlled(k) {
			return nil, fmt.Errorf("pass-env %s: the harness sets this variable itself (it must point at the recording proxy); drop it", k)
		}
		if v, ok := pv[k]; ok {
			env[k] = v
		}
	}
	for _, kv := range o.Extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("extra environment entry %q: want KEY=VALUE", kv)
		}
		if controlled(k) {
			return nil, fmt.Errorf("extra environment entry %s: the harness sets this variable itself; drop it", k)
		}
		env[k] = v
	}
	if o.Host != nil {
		if err := pinHost(env, o.Host, o.Extra, o.PassEnv); err != nil {
			return nil, err
		}
	}
	env["HOME"] = o.Home
	for _, k := range ProxyVariables() {
		env[k] = o.ProxyURL
	}
	for _, k := range NoProxyVariables() {
		env[k] = ""
	}
	for _, k := range CAVariables() {
		env[k] = o.Bundle
	}
	env["SSL_CERT_DIR"] = o.CertDir
	if o.CertDir == "" {
		env["SSL_CERT_DIR"] = dirOf(o.Bundle)
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

// pinHost replaces every host-fact variable of env with the pinned ones.
// An Extra entry may repeat a pinned value (policies set TZ: UTC); one
// that differs, or a pass-env of a host-fact variable, would make the
// tool's host differ from the one run.json records, and is refused.
func pinHost(env map[string]string, h *capture.Host, extra, passEnv []string) error {
	pinned := map[string]string{}
	for _, kv := range h.Env() {
		k, v, _ := strings.Cut(kv, "=")
		pinned[k] = v
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		if capture.HostVariable(k) && pinned[k] != v {
			return fmt.Errorf("environment entry %s=%s: the pinned host facts decide %s (%q); set it in the scenario's host block instead", k, v, k, pinned[k])
		}
	}
	for _, k := range passEnv {
		if capture.HostVariable(k) {
			return fmt.Errorf("pass-env %s: the pinned host facts decide %s; set it in the scenario's host block instead", k, k)
		}
	}
	for k := range env {
		if capture.HostVariable(k) {
			delete(env, k)
		}
	}
	for k, v := range pinned {
		env[k] = v
	}
	return nil
}

// controlled reports whether the harness owns variable k.
func controlled(k string) bool {
	if k == "HOME" || k == "SSL_CERT_DIR" {
		return true
	}
	for _, list := range [][]string{ProxyVariables(), NoProxyVariables(), CAVariables()} {
		for _, c := range list {
			if c == k {
				return true
			}
		}
	}
	return false
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "."
}
