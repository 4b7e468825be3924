package netwatch_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// markerScript prints which container facts the tool sees, one per line,
// as is-docker and podman's detection read them.
const markerScript = `test -e /.dockerenv && echo dockerenv
test -e /run/.containerenv && echo containerenv
grep -q docker /proc/self/cgroup && echo cgroup-docker
grep -q docker /proc/1/cgroup && echo init-cgroup-docker
echo "cgroup $(cut -d: -f3 /proc/self/cgroup | sort -u | tr '\n' ' ')"
test -w /tmp && echo tmp-writable
cat "$1"
pwd`

var _ = Describe("the container facts a sealed run's tool sees", func() {
	BeforeEach(func() { requireNamespaces() })

	run := func(ctx context.Context, opts netwatch.Options) (*netwatch.Sandbox, []string) {
		GinkgoHelper()
		sb, err := netwatch.Start(ctx, opts)
		Expect(err).NotTo(HaveOccurred(), "netwatch.Start")
		DeferCleanup(sb.Close)
		dir := GinkgoT().TempDir()
		probe := filepath.Join(dir, "probe")
		Expect(os.WriteFile(probe, []byte("host-file-seen\n"), 0o644)).To(Succeed())
		out, err := os.Create(filepath.Join(dir, "stdout"))
		Expect(err).NotTo(HaveOccurred(), "os.Create")
		defer out.Close()
		Expect(sb.Go(netwatch.Command{Argv: []string{"sh", "-c", markerScript, "sh", probe}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir, Stdout: out})).To(Succeed())
		Expect(sb.Wait()).To(Succeed())
		b, err := os.ReadFile(out.Name())
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		return sb, strings.Split(strings.TrimSpace(string(b)), "\n")
	}

	for _, c := range []struct {
		kind       string
		want, hide []string
	}{
		{netwatch.ContainerNone, nil, []string{"dockerenv", "containerenv", "cgroup-docker", "init-cgroup-docker"}},
		{netwatch.ContainerDocker, []string{"dockerenv"}, []string{"containerenv", "cgroup-docker"}},
		{netwatch.ContainerPodman, []string{"containerenv"}, []string{"dockerenv", "cgroup-docker"}},
	} {
		It("shows "+c.kind+"'s markers only, whatever the host has, and keeps every host path", func(ctx SpecContext) {
			sb, lines := run(ctx, netwatch.Options{Container: c.kind})
			kind, notApplied := sb.ContainerFacts()
			Expect(kind).To(Equal(c.kind))
			Expect(notApplied).To(BeEmpty())
			for _, w := range c.want {
				Expect(lines).To(ContainElement(w))
			}
			for _, h := range c.hide {
				Expect(lines).NotTo(ContainElement(h))
			}
			Expect(lines).To(ContainElement("cgroup / "), "a cgroup namespace of its own: no host path")
			Expect(lines).To(ContainElement("tmp-writable"))
			Expect(lines).To(ContainElement("host-file-seen"), "host files resolve as before")
			Expect(lines[len(lines)-1]).To(HavePrefix("/"), "the working folder is the host's")
		}, SpecTimeout(20*time.Second))
	}

	It("leaves the host's root as it is when nothing is pinned", func(ctx SpecContext) {
		sb, lines := run(ctx, netwatch.Options{})
		kind, notApplied := sb.ContainerFacts()
		Expect(kind).To(BeEmpty())
		Expect(notApplied).To(BeEmpty())
		if _, err := os.Stat("/.dockerenv"); err == nil {
			Expect(lines).To(ContainElement("dockerenv"), "this host's own marker shows")
		} else {
			Expect(lines).NotTo(ContainElement("dockerenv"))
		}
	}, SpecTimeout(20*time.Second))

	It("says the container facts were not applied without a mount namespace", func(ctx SpecContext) {
		sb, lines := run(ctx, netwatch.Options{Container: netwatch.ContainerDocker, NoPIDNamespace: true})
		kind, notApplied := sb.ContainerFacts()
		Expect(kind).To(Equal(netwatch.ContainerDocker))
		Expect(notApplied).To(ContainElement(ContainSubstring("no mount namespace of its own to build the tool's root in")))
		if _, err := os.Stat("/.dockerenv"); err == nil {
			Expect(lines).To(ContainElement("dockerenv"), "the host's root, marker and all")
		} else {
			Expect(lines).NotTo(ContainElement("dockerenv"), "the host's root, without the asked-for marker")
		}
	}, SpecTimeout(20*time.Second))

	It("refuses an unknown container kind with a clear error", func(ctx SpecContext) {
		_, err := netwatch.Start(ctx, netwatch.Options{Container: "lxc"})
		Expect(err).To(MatchError(ContainSubstring(`container "lxc": want none, docker or podman`)))
	})

	It("leaves no staging folder behind in /tmp", func(ctx SpecContext) {
		before, _ := filepath.Glob(filepath.Join(os.TempDir(), "telemetry-harness-root-*"))
		run(ctx, netwatch.Options{Container: netwatch.ContainerDocker})
		after, _ := filepath.Glob(filepath.Join(os.TempDir(), "telemetry-harness-root-*"))
		Expect(after).To(ConsistOf(before))
	}, SpecTimeout(20*time.Second))
})
