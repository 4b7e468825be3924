package session_test

import (
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
)

var _ = Describe("pinned host facts", func() {
	// A harness running on a CI runner in a German locale and zone.
	parent := []string{"PATH=/usr/bin:/bin", "LANG=de_DE.UTF-8", "LC_MESSAGES=de_DE.UTF-8", "TZ=Europe/Berlin", "TERM=dumb",
		"CI=true", "GITHUB_ACTIONS=true", "BUILD_NUMBER=7", "HOME=/root"}
	build := func(o session.EnvOptions) (map[string]string, error) {
		o.ProxyURL, o.Bundle, o.Home, o.Parent = "http://127.0.0.1:1", "/b/bundle.pem", "/h", parent
		env, err := session.BuildEnv(o)
		m := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		return m, err
	}

	It("hides the harness's CI variables and locale from a plain machine", func() {
		env, err := build(session.EnvOptions{Host: &capture.Host{}})
		Expect(err).NotTo(HaveOccurred(), "build")
		for _, k := range []string{"CI", "GITHUB_ACTIONS", "BUILD_NUMBER", "LC_MESSAGES"} {
			Expect(env).NotTo(HaveKey(k))
		}
		Expect(env).To(HaveKeyWithValue("LANG", "C.UTF-8"))
		Expect(env).To(HaveKeyWithValue("LC_ALL", "C.UTF-8"))
		Expect(env).To(HaveKeyWithValue("TZ", "UTC"))
		Expect(env).To(HaveKeyWithValue("TERM", "xterm-256color"))
	})

	It("gives a CI scenario its vendor's set only", func() {
		env, err := build(session.EnvOptions{Host: &capture.Host{CI: capture.CIGitLab, Locale: "fr_FR.UTF-8", Timezone: "America/Lima"}})
		Expect(err).NotTo(HaveOccurred(), "build")
		Expect(env).To(HaveKeyWithValue("CI", "true"))
		Expect(env).To(HaveKeyWithValue("GITLAB_CI", "true"))
		Expect(env).NotTo(HaveKey("GITHUB_ACTIONS"))
		Expect(env).NotTo(HaveKey("BUILD_NUMBER"))
		Expect(env).To(HaveKeyWithValue("LC_ALL", "fr_FR.UTF-8"))
		Expect(env).To(HaveKeyWithValue("TZ", "America/Lima"))
	})

	It("copies the harness's locale and zone as before when nothing is pinned", func() {
		env, err := build(session.EnvOptions{})
		Expect(err).NotTo(HaveOccurred(), "build")
		Expect(env).To(HaveKeyWithValue("TZ", "Europe/Berlin"))
		Expect(env).To(HaveKeyWithValue("LANG", "de_DE.UTF-8"))
		Expect(env).NotTo(HaveKey("CI"))
	})

	It("refuses an entry or a pass-env that contradicts the pinned facts, and accepts one that repeats them", func() {
		_, err := build(session.EnvOptions{Host: &capture.Host{}, Extra: []string{"TZ=Asia/Tokyo"}})
		Expect(err).To(MatchError(`environment entry TZ=Asia/Tokyo: the pinned host facts decide TZ ("UTC"); set it in the scenario's host block instead`))
		_, err = build(session.EnvOptions{Host: &capture.Host{}, PassEnv: []string{"CI"}})
		Expect(err).To(MatchError(ContainSubstring("pass-env CI: the pinned host facts decide CI")))
		_, err = build(session.EnvOptions{Host: &capture.Host{}, Extra: []string{"TZ=UTC"}})
		Expect(err).NotTo(HaveOccurred(), "build")
	})

	It("gives the tool a terminal when asked, and records the facts in run.json", func(ctx SpecContext) {
		out := GinkgoT().TempDir()
		run, err := session.Record(ctx, session.Options{
			Argv: []string{python, "-c", `import os, sys; print("tty", os.isatty(0), os.isatty(1), os.isatty(2), os.get_terminal_size(1).columns)`},
			Out:  out, Seal: session.SealOff, Host: &capture.Host{TTY: true},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(readFile(filepath.Join(out, session.StdoutName))).To(ContainSubstring("tty True True True 80"))
		Expect(run.Host).NotTo(BeNil())
		Expect(run.Host.TTY).To(BeTrue())
		Expect(run.Host.Container).To(Equal(capture.ContainerNone))
		Expect(run.Host.NotApplied).To(ConsistOf(ContainSubstring("the run was not sealed (sealing was switched off (seal off))")))
		saved, err := capture.ReadRun(out)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadRun")
		Expect(saved.Host).To(Equal(run.Host))
	}, SpecTimeout(30*time.Second))

	It("gives no terminal by default", func(ctx SpecContext) {
		out := GinkgoT().TempDir()
		_, err := session.Record(ctx, session.Options{
			Argv: []string{python, "-c", `import os; print("tty", os.isatty(0), os.isatty(1), os.isatty(2))`},
			Out:  out, Seal: session.SealOff, Host: &capture.Host{},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(readFile(filepath.Join(out, session.StdoutName))).To(ContainSubstring("tty False False False"))
	}, SpecTimeout(30*time.Second))

	It("rejects an unknown container kind before starting anything", func(ctx SpecContext) {
		out := filepath.Join(GinkgoT().TempDir(), "run")
		_, err := session.Record(ctx, session.Options{Argv: []string{"true"}, Out: out, Host: &capture.Host{Container: "lxc"}})
		Expect(err).To(MatchError(`record: host container "lxc": want one of none, docker, podman`))
	})
})
