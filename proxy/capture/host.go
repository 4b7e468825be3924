package capture

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Container kinds a run can be made to look like (Host.Container).
const (
	ContainerNone   = "none"
	ContainerDocker = "docker"
	ContainerPodman = "podman"
)

// CI vendors a run can be made to look like (Host.CI).
const (
	CINone          = "none"
	CIGeneric       = "generic"
	CIGitHubActions = "github-actions"
	CIGitLab        = "gitlab-ci"
	CICircleCI      = "circleci"
	CIJenkins       = "jenkins"
	CIBuildkite     = "buildkite"
)

// Default locale and time zone of a pinned host: a plain developer
// machine's, and the same on every runner.
const (
	DefaultLocale   = "C.UTF-8"
	DefaultTimezone = "UTC"
	DefaultTerm     = "xterm-256color"
)

// Containers and CIVendors list the allowed values, "none" first.
func Containers() []string { return []string{ContainerNone, ContainerDocker, ContainerPodman} }

// CIVendors lists the CI vendors the harness can imitate.
func CIVendors() []string {
	return []string{CINone, CIGeneric, CIGitHubActions, CIGitLab, CICircleCI, CIJenkins, CIBuildkite}
}

// ciEnv is each vendor's usual set, as tools detect it (ci-info, which
// Next.js, Astro and Turborepo's JS side use, reads the vendor variable;
// everything reads CI).
var ciEnv = map[string][]string{
	CIGeneric:       {"CI=true"},
	CIGitHubActions: {"CI=true", "GITHUB_ACTIONS=true", "GITHUB_EVENT_NAME=push", "RUNNER_OS=Linux"},
	CIGitLab:        {"CI=true", "GITLAB_CI=true"},
	CICircleCI:      {"CI=true", "CIRCLECI=true"},
	CIJenkins:       {"JENKINS_URL=http://jenkins.invalid/", "BUILD_ID=1", "BUILD_NUMBER=1"},
	CIBuildkite:     {"CI=true", "BUILDKITE=true"},
}

// ciVariables are the variables that make a tool think it runs in CI (the
// union of ci-info's vendor list, Go's and Rust's common detectors): a run
// pinned to another CI fact gets none of them from the harness's
// environment.
var ciVariables = []string{
	"CI", "CONTINUOUS_INTEGRATION", "BUILD_ID", "BUILD_NUMBER", "RUN_ID", "TASK_ID",
	"GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "RUNNER_OS", "GITLAB_CI", "CIRCLECI", "JENKINS_URL", "HUDSON_URL",
	"BUILDKITE", "TRAVIS", "APPVEYOR", "TF_BUILD", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", "BITBUCKET_COMMIT",
	"BITRISE_IO", "BUDDY_WORKSPACE_ID", "CIRRUS_CI", "CODEBUILD_BUILD_ARN", "CI_NAME", "DRONE", "DSARI",
	"GO_PIPELINE_LABEL", "NOW_BUILDER", "VERCEL", "MAGNUM", "NETLIFY", "NEVERCODE", "RENDER", "SAILCI",
	"SEMAPHORE", "SHIPPABLE", "TDDIUM", "STRIDER", "TEAMCITY_VERSION", "HEROKU_TEST_RUN_ID", "WOODPECKER",
	// The rest of ci-info 4's detectors (vendors.json: Astro's and
	// Next.js's CI test), so that an environment sweep never makes a
	// plain host look like a CI by planting one.
	"AC_APPCIRCLE", "AGOLA_GIT_REF", "ALPIC_HOST", "APPCENTER_BUILD_ID", "BUILDER_OUTPUT", "CAPAWESOME_CLOUD",
	"CF_BUILD_ID", "CF_PAGES", "CI_XCODE_PROJECT", "CM_BUILD_ID", "EARTHLY_CI", "EAS_BUILD", "GERRIT_PROJECT",
	"GITEA_ACTIONS", "HARNESS_BUILD_ID", "LAYERCI", "PROW_JOB_ID", "RELEASE_BUILD_ID", "RWX", "SCREWDRIVER",
	"VELA", "WORKERS_CI", "XCS", "bamboo_planKey",
}

// Host is the set of host facts real tools are known to branch on, as a
// scenario pins them (run.json "host"). Zero values are a plain developer
// machine: see WithDefaults.
type Host struct {
	// Container is none, docker or podman: whether /.dockerenv (docker) or
	// /run/.containerenv (podman) exists for the tool.
	Container string `json:"container"`
	// CI is none or the CI vendor whose usual variables the tool gets.
	CI string `json:"ci"`
	// TTY is whether the tool's stdin, stdout and stderr are a terminal.
	TTY bool `json:"tty"`
	// Locale is LANG and LC_ALL.
	Locale string `json:"locale"`
	// Timezone is TZ.
	Timezone string `json:"timezone"`

	// NotApplied names the facts that could not be pinned, and why (an
	// unsealed run cannot hide the host's container markers); empty when
	// every fact was applied.
	NotApplied []string `json:"not_applied,omitempty"`
	// HostShows lists the host's own container and CI facts the tool could
	// see instead (unsealed runs only).
	HostShows []string `json:"host_shows,omitempty"`
}

// WithDefaults fills the zero values: no container, no CI, no TTY,
// C.UTF-8 and UTC.
func (h Host) WithDefaults() Host {
	if h.Container == "" {
		h.Container = ContainerNone
	}
	if h.CI == "" {
		h.CI = CINone
	}
	if h.Locale == "" {
		h.Locale = DefaultLocale
	}
	if h.Timezone == "" {
		h.Timezone = DefaultTimezone
	}
	return h
}

// Check reports a value outside the known sets (after WithDefaults).
func (h Host) Check() error {
	if !slices.Contains(Containers(), h.Container) {
		return fmt.Errorf("host container %q: want one of %s", h.Container, strings.Join(Containers(), ", "))
	}
	if !slices.Contains(CIVendors(), h.CI) {
		return fmt.Errorf("host ci %q: want one of %s", h.CI, strings.Join(CIVendors(), ", "))
	}
	return nil
}

// Env is the environment the facts put in the tool's environment: LANG,
// LC_ALL, TZ, TERM (a developer's terminal emulator's, whether or not the
// tool's output is a terminal) and the CI vendor's set.
func (h Host) Env() []string {
	h = h.WithDefaults()
	out := []string{"LANG=" + h.Locale, "LC_ALL=" + h.Locale, "TZ=" + h.Timezone, "TERM=" + DefaultTerm}
	return append(out, ciEnv[h.CI]...)
}

// HostVariable reports whether a pinned host decides variable k: the
// locale variables, TZ, TERM and every CI detector's variable. A scenario's own
// environment may set one only to the value the host facts give it.
func HostVariable(k string) bool {
	return k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") || k == "TZ" || k == "TERM" || slices.Contains(ciVariables, k)
}

// ObservedHost lists the container and CI facts this machine itself
// shows: what an unsealed run's tool sees whatever the scenario pinned.
// env is the harness's environment (nil: os.Environ()).
func ObservedHost(env []string) []string {
	var out []string
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			out = append(out, f+" exists")
		}
	}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil && strings.Contains(string(b), "docker") {
		out = append(out, "/proc/self/cgroup names docker")
	}
	if env == nil {
		env = os.Environ()
	}
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); slices.Contains(ciVariables, k) {
			out = append(out, k+" is set")
		}
	}
	slices.Sort(out)
	return out
}
