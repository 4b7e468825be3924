package envsweep

import (
	"slices"
	"strings"
)

// Families are well-known variables a tool may read without its code
// naming them literally (a library does): CI vendors, AI agents and IDEs,
// locale, cloud and deployment platforms. Planting them is how a sweep
// finds, say, a repository name that a CI variable would carry.
func Families() []string {
	return []string{
		// CI vendors (the ci-info and is-ci lists).
		"CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "BUILD_ID", "RUN_ID",
		"GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITHUB_REPOSITORY_OWNER", "GITHUB_SHA", "GITHUB_REF", "GITHUB_ACTOR", "GITHUB_WORKFLOW", "GITHUB_RUN_ID", "GITHUB_SERVER_URL", "GITHUB_HEAD_REF", "GITHUB_BASE_REF",
		"GITLAB_CI", "CI_PROJECT_PATH", "CI_PROJECT_URL", "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "CI_JOB_ID", "CI_SERVER_URL", "GITLAB_USER_LOGIN",
		"CIRCLECI", "CIRCLE_PROJECT_REPONAME", "CIRCLE_PROJECT_USERNAME", "CIRCLE_SHA1", "CIRCLE_BRANCH", "CIRCLE_USERNAME",
		"TRAVIS", "TRAVIS_REPO_SLUG", "TRAVIS_COMMIT", "TRAVIS_BRANCH",
		"BUILDKITE", "BUILDKITE_REPO", "BUILDKITE_COMMIT", "BUILDKITE_BRANCH", "BUILDKITE_BUILD_CREATOR",
		"JENKINS_URL", "JOB_NAME", "GIT_URL", "GIT_COMMIT", "GIT_BRANCH",
		"TF_BUILD", "BUILD_REPOSITORY_URI", "BUILD_SOURCEVERSION", "BUILD_REQUESTEDFOR", "SYSTEM_TEAMPROJECT",
		"BITBUCKET_COMMIT", "BITBUCKET_REPO_SLUG", "BITBUCKET_WORKSPACE", "BITBUCKET_BRANCH",
		"CODEBUILD_BUILD_ID", "CODEBUILD_SOURCE_REPO_URL", "CODEBUILD_RESOLVED_SOURCE_VERSION",
		"TEAMCITY_VERSION", "DRONE", "DRONE_REPO", "DRONE_COMMIT_SHA", "SEMAPHORE", "SEMAPHORE_GIT_URL", "APPVEYOR", "APPVEYOR_REPO_NAME",
		"NETLIFY", "REPOSITORY_URL", "COMMIT_REF", "HEAD", "DEPLOY_URL",
		"VERCEL", "VERCEL_ENV", "VERCEL_URL", "VERCEL_GIT_REPO_SLUG", "VERCEL_GIT_REPO_OWNER", "VERCEL_GIT_COMMIT_SHA", "VERCEL_GIT_COMMIT_AUTHOR_LOGIN", "NOW_BUILDER",
		"CF_PAGES", "CF_PAGES_URL", "RENDER", "RENDER_GIT_REPO_SLUG", "RAILWAY_ENVIRONMENT", "HEROKU_APP_NAME", "FLY_APP_NAME",
		// AI agents and editors.
		"CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CURSOR_TRACE_ID", "CURSOR_AGENT", "CODEX_SANDBOX", "CODEX_CI", "GEMINI_CLI", "AI_AGENT", "AGENT", "OPENCODE", "AIDER_MODEL", "REPL_ID", "REPLIT_USER",
		"TERM_PROGRAM", "TERM_PROGRAM_VERSION", "VSCODE_PID", "VSCODE_GIT_IPC_HANDLE", "VSCODE_CWD", "INSIDE_EMACS", "JETBRAINS_IDE", "TERMINAL_EMULATOR",
		// Editors. (Locale variables are host facts the scenario pins,
		// and a bogus locale crashes some tools: never swept.)
		"EDITOR", "VISUAL", "PAGER",
		// Cloud credentials and project names a tool might pick up.
		"AWS_PROFILE", "AWS_REGION", "AWS_ACCESS_KEY_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "AZURE_SUBSCRIPTION_ID",
		"NPM_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN",
	}
}

// Unsafe reports whether planting a random value in name would break any
// process or the harness's own contract, so the sweep never plants it:
// the harness's variables, the loader's, an interpreter's search paths,
// the shell's and temp folders, and tokens that switch a tool to another
// service (remote caches, registries).
func Unsafe(name string) bool {
	switch name {
	case "PATH", "HOME", "USER", "LOGNAME", "USERNAME", "LANG", "TZ", "TERM", "SHELL", "PWD", "OLDPWD", "IFS", "TMPDIR", "TMP", "TEMP",
		"HOSTNAME", "MAIL", "SHLVL", "_",
		"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
		"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NIX_SSL_CERT_FILE", "AWS_CA_BUNDLE",
		"NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO", "PIP_CERT", "HTTPLIB2_CA_CERTS", "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
		"NODE_OPTIONS", "NODE_PATH", "NODE_ENV", "NODE_TLS_REJECT_UNAUTHORIZED", "NODE_NO_WARNINGS", "UV_THREADPOOL_SIZE",
		"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV",
		"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
		"RUST_BACKTRACE", "RUST_LOG", "RAYON_NUM_THREADS", "GOMAXPROCS", "GODEBUG",
		"DEBUG", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES":
		return true
	}
	for _, p := range []string{"LC_", "LANGUAGE", "LD_", "DYLD_", "NODE_", "__INTERNAL", "GIT_", "npm_", "NPM_CONFIG_", "PNPM_", "YARN_", "BUN_", "COREPACK_", "TELEMETRY_HARNESS",
		"SUDO_", "SSH_", "GPG_", "DBUS_", "DISPLAY", "WAYLAND_", "MALLOC_", "GLIBC_", "PYENV_", "NVM_", "VOLTA_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	// Names that turn telemetry off, or point the tool at another service
	// or trust store, change what is being tested (the policy's own
	// scenarios cover them); a family name is kept: a token or URL a CI
	// sets is exactly what must not leave.
	if slices.Contains(Families(), name) {
		return false
	}
	for _, s := range []string{"TELEMETRY", "DO_NOT_TRACK", "_TOKEN", "_API", "_URL", "_HOST", "_PORT", "_PROXY", "_CA_", "_CERT", "_ENDPOINT"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	// A planted value is not a path: a variable naming a file or folder
	// would only test the tool's error handling.
	for _, s := range []string{"_PATH", "_DIR", "_FILE", "_BIN", "_BINARY", "_EXECUTABLE"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
