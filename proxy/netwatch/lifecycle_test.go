package netwatch_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// orphanEnv makes the test binary a stand-in harness that starts a sandbox
// whose tool sends one escaping SYN, leaves a daemon behind and sleeps,
// prints the tool's pid and namespace identity, and waits to be killed. Its
// value is the pcapng path; with orphanNoPIDNSEnv set the sandbox has no
// PID namespace (the fallback, and the behaviour before there was one).
const (
	orphanEnv        = "NETWATCH_TEST_ORPHAN"
	orphanNoPIDNSEnv = "NETWATCH_TEST_ORPHAN_NO_PIDNS"
)

// daemonScript leaves a daemon the way real ones do: double fork, a session
// of its own, SIGHUP and SIGTERM ignored, a long sleep. Its argv is marked
// "sleep 987" so that the host can find it.
const daemonScript = `(setsid sh -c 'trap "" HUP TERM; exec sleep 987' </dev/null >/dev/null 2>&1 &)`

func runOrphan() int {
	ctx, cancel := startCtx()
	defer cancel()
	sb, err := netwatch.Start(ctx, netwatch.Options{PcapPath: os.Getenv(orphanEnv), NoPIDNamespace: os.Getenv(orphanNoPIDNSEnv) != ""})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	// An escape attempt that blocks (the SYN is dropped, connect retries for
	// minutes), in the tool's own process: the harness dies mid-run.
	script := daemonScript + "; exec 3<>/dev/tcp/198.51.100.7/443; exec sleep 60"
	if err := sb.Go(netwatch.Command{Argv: []string{"bash", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}}); err != nil {
		fmt.Println("error", err)
		return 1
	}
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", sb.Pid()), &st); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("started", sb.Pid(), st.Dev, st.Ino)
	select {} // until killed
}

// findDaemon returns the host pid of the process in the namespace whose
// command line is "sleep 987", or 0.
func findDaemon(dev, ino uint64) int {
	pids, _ := netwatch.ProcessesInNetns(dev, ino)
	for _, pid := range pids {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && string(b) == "sleep\x00987\x00" {
			return pid
		}
	}
	return 0
}

// alive reports whether pid runs (a zombie has exited).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// netnsHolders lists what still holds the network namespace with inode
// ino: processes in it, and descriptors of any process that point at it.
func netnsHolders(ino uint64) []string {
	var out []string
	procs, _ := os.ReadDir("/proc")
	want := fmt.Sprintf("net:[%d]", ino)
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + p.Name() + "/ns/net"); err == nil && l == want {
			out = append(out, "process "+p.Name())
		}
		fds, _ := os.ReadDir("/proc/" + p.Name() + "/fd")
		for _, fd := range fds {
			if l, err := os.Readlink("/proc/" + p.Name() + "/fd/" + fd.Name()); err == nil && l == want {
				out = append(out, "fd "+fd.Name()+" of "+p.Name())
			}
		}
	}
	return out
}

// openFDs counts this process's open descriptors.
func openFDs() int {
	GinkgoHelper()
	entries, err := os.ReadDir("/proc/self/fd")
	Expect(err).NotTo(HaveOccurred(), "os.ReadDir")
	return len(entries)
}

var _ = Describe("the lifetime of a sealed namespace", func() {
	BeforeEach(func() { requireNamespaces() })

	It("leaves no process and no descriptor behind after Close", func(ctx SpecContext) {
		before := openFDs()
		sb, err := netwatch.Start(ctx, netwatch.Options{})
		Expect(err).NotTo(HaveOccurred(), "netwatch.Start")
		DeferCleanup(sb.Close)
		Expect(sb.Go(netwatch.Command{Argv: []string{"sleep", "30"}, Env: []string{"PATH=/usr/bin:/bin"}})).To(Succeed())
		Expect(sb.Processes()).To(ConsistOf(sb.Pid()), "the tool runs in the namespace")

		Expect(sb.Close()).To(Succeed())
		Expect(sb.Processes()).To(BeEmpty(), "Close kills everything in the namespace")
		ws, ok := sb.ExitStatus()
		Expect(ok).To(BeTrue(), "the tool's end is known")
		Expect(ws.Signal()).To(Equal(syscall.SIGKILL), "Close killed it")
		Expect(openFDs()).To(Equal(before), "every socket of the namespace is closed, so the namespace is gone")
	}, SpecTimeout(20*time.Second))

	It("finds a late sender that left the tool's process group, and kills it at Close", func(ctx SpecContext) {
		sb, err := netwatch.Start(ctx, netwatch.Options{})
		Expect(err).NotTo(HaveOccurred(), "netwatch.Start")
		DeferCleanup(sb.Close)
		Expect(sb.Go(netwatch.Command{
			Argv: []string{"sh", "-c", "setsid sleep 30 </dev/null >/dev/null 2>&1 & exit 0"},
			Env:  []string{"PATH=/usr/bin:/bin"},
		})).To(Succeed())
		Expect(sb.Wait()).To(Succeed())
		Eventually(sb.Processes).WithTimeout(5*time.Second).ShouldNot(BeEmpty(), "the daemon outlives the tool, in the namespace")

		Expect(sb.Close()).To(Succeed())
		Expect(sb.Processes()).To(BeEmpty())
	}, SpecTimeout(20*time.Second))

	// The proof for issue 7: without the PID namespace (the second entry,
	// which is how every sealed run behaved before) the daemon outlives the
	// killed harness; with it, it dies with the harness.
	DescribeTable("when the harness is killed",
		func(ctx SpecContext, noPIDNS bool, daemonSurvives bool) {
			if _, err := exec.LookPath("bash"); err != nil {
				Skip("bash is needed for the tool: " + err.Error())
			}
			self, err := os.Executable()
			Expect(err).NotTo(HaveOccurred(), "os.Executable")
			pcap := filepath.Join(GinkgoT().TempDir(), "packets.pcapng")
			harness := exec.Command(self)
			harness.Env = append(os.Environ(), orphanEnv+"="+pcap)
			if noPIDNS {
				harness.Env = append(harness.Env, orphanNoPIDNSEnv+"=1")
			}
			out, err := harness.StdoutPipe()
			Expect(err).NotTo(HaveOccurred(), "harness.StdoutPipe")
			Expect(harness.Start()).To(Succeed())
			DeferCleanup(func() { _ = harness.Process.Kill(); _ = harness.Wait() })

			line, err := bufio.NewReader(out).ReadString('\n')
			Expect(err).NotTo(HaveOccurred(), "bufio.NewReader")
			var pid int
			var dev, ino uint64
			_, err = fmt.Sscanf(line, "started %d %d %d", &pid, &dev, &ino)
			Expect(err).NotTo(HaveOccurred(), "the stand-in harness said: %s", strings.TrimSpace(line))
			Expect(netwatch.ProcessesInNetns(dev, ino)).To(ContainElement(pid))
			var daemon int
			Eventually(func() int { daemon = findDaemon(dev, ino); return daemon }).
				WithContext(ctx).WithTimeout(5*time.Second).ShouldNot(BeZero(), "the tool left its daemon")
			DeferCleanup(func() { _ = syscall.Kill(daemon, syscall.SIGKILL) })

			syn := And(HaveField("Interface", "sink0"), HaveField("Dst", "198.51.100.7:443"), HaveField("SYN", true))
			Eventually(readPcapngE).WithArguments(pcap).WithContext(ctx).WithTimeout(5*time.Second).
				Should(ContainElement(syn), "packets.pcapng is flushed while the run goes on")

			Expect(harness.Process.Signal(syscall.SIGKILL)).To(Succeed())
			Eventually(alive).WithArguments(pid).WithContext(ctx).WithTimeout(5*time.Second).Should(BeFalse(), "the tool dies with its harness")
			Expect(readPcapng(pcap)).To(ContainElement(syn), "the killed run's capture survives")
			if daemonSurvives {
				Expect(alive(daemon)).To(BeTrue(), "without a PID namespace nothing kills the daemon")
				Expect(netnsHolders(ino)).NotTo(BeEmpty(), "and it keeps the namespace alive")
				return
			}
			Eventually(alive).WithArguments(daemon).WithContext(ctx).WithTimeout(5*time.Second).
				Should(BeFalse(), "the daemon, a double-forked setsid process ignoring SIGHUP and SIGTERM, dies with the PID namespace")
			Eventually(netnsHolders).WithArguments(ino).WithContext(ctx).WithTimeout(5*time.Second).
				Should(BeEmpty(), "no process and no descriptor holds the namespace: it is gone")
		},
		Entry("with a PID namespace, nothing survives it", false, false, SpecTimeout(30*time.Second)),
		Entry("without one (the fallback), a daemon the tool forked outlives it", true, true, SpecTimeout(30*time.Second)),
	)
})

var _ = Describe("the tool's process in the PID namespace", func() {
	BeforeEach(func() { requireNamespaces() })

	run := func(ctx context.Context, opts netwatch.Options, script string) (*netwatch.Sandbox, string, error) {
		GinkgoHelper()
		sb, err := netwatch.Start(ctx, opts)
		Expect(err).NotTo(HaveOccurred(), "netwatch.Start")
		DeferCleanup(sb.Close)
		out, err := os.Create(filepath.Join(GinkgoT().TempDir(), "stdout"))
		Expect(err).NotTo(HaveOccurred(), "os.Create")
		defer out.Close()
		Expect(sb.Go(netwatch.Command{Argv: []string{"sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}, Stdout: out})).To(Succeed())
		werr := sb.Wait()
		b, err := os.ReadFile(out.Name())
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		return sb, string(b), werr
	}

	It("has a small pid and a /proc that shows only the namespace's processes", func(ctx SpecContext) {
		sb, out, err := run(ctx, netwatch.Options{}, `echo "self $$"; echo "parent $PPID"; ls /proc`)
		Expect(err).NotTo(HaveOccurred(), "run")
		Expect(sb.PIDNamespace()).To(BeTrue())
		var pids []int
		var self, parent int
		for _, f := range strings.Fields(out) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
		_, err = fmt.Sscanf(out, "self %d\nparent %d\n", &self, &parent)
		Expect(err).NotTo(HaveOccurred(), "the tool said: %s", out)
		Expect(parent).To(Equal(1), "the helper is init")
		// The helper's threads take the first few pids after 1.
		Expect(self).To(BeNumerically("<", 100), "a pid of the new namespace")
		Expect(self).NotTo(Equal(sb.Pid()), "the host sees another pid")
		Expect(pids[2:]).To(ConsistOf(1, self, BeNumerically(">", self)), "/proc lists init, the tool and ls, nothing of the host")
	}, SpecTimeout(20*time.Second))

	// A PID namespace is freed when its init exits, and the kernel hands its
	// inode number to the next namespace made: a sandbox that matched
	// processes by that number would see, and at Close kill, another run's.
	It("never takes another sandbox's processes for its own once its namespace emptied", func(ctx SpecContext) {
		env := []string{"PATH=/usr/bin:/bin"}
		a, err := netwatch.Start(ctx, netwatch.Options{})
		Expect(err).NotTo(HaveOccurred(), "netwatch.Start")
		DeferCleanup(a.Close)
		helper := netwatch.HelperPid(a)
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", helper))
		Expect(err).NotTo(HaveOccurred(), "os.Readlink")
		Expect(a.Go(netwatch.Command{Argv: []string{"true"}, Env: env})).To(Succeed())
		Expect(a.Wait()).To(Succeed())
		Eventually(func() error { return syscall.Kill(helper, 0) }).WithContext(ctx).WithTimeout(10*time.Second).
			Should(MatchError(syscall.ESRCH), "the helper exits once its namespace is empty")
		held := func() bool {
			fds, _ := os.ReadDir("/proc/self/fd")
			for _, fd := range fds {
				if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && l == ns {
					return true
				}
			}
			return false
		}
		Expect(held()).To(BeTrue(), "a keeps its emptied PID namespace %s, so its number cannot be another's", ns)

		b, err := netwatch.Start(ctx, netwatch.Options{})
		Expect(err).NotTo(HaveOccurred(), "netwatch.Start")
		DeferCleanup(b.Close)
		Expect(b.Go(netwatch.Command{Argv: []string{"sleep", "30"}, Env: env})).To(Succeed())
		Expect(b.Processes()).To(ConsistOf(b.Pid()))

		Expect(a.Processes()).To(BeEmpty(), "b's tool is not a's")
		Expect(a.Close()).To(Succeed())
		Expect(b.Processes()).To(ConsistOf(b.Pid()), "closing a left b's tool alone")
	}, SpecTimeout(30*time.Second))

	It("says how its helper ended when the helper died before the tool could start", func(ctx SpecContext) {
		sb, err := netwatch.Start(ctx, netwatch.Options{})
		Expect(err).NotTo(HaveOccurred(), "netwatch.Start")
		DeferCleanup(sb.Close)
		Expect(syscall.Kill(netwatch.HelperPid(sb), syscall.SIGKILL)).To(Succeed())

		err = sb.Go(netwatch.Command{Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}})

		Expect(err).To(MatchError(ContainSubstring("(helper signal: killed)")), "an unexpected end names its cause")
	}, SpecTimeout(20*time.Second))

	It("reports the tool's exit status", func(ctx SpecContext) {
		sb, _, err := run(ctx, netwatch.Options{}, "exit 7")
		var exit *netwatch.ExitError
		Expect(errors.As(err, &exit)).To(BeTrue(), "Wait's error: %v", err)
		Expect(exit.Status.ExitStatus()).To(Equal(7))
		ws, ok := sb.ExitStatus()
		Expect(ok).To(BeTrue())
		Expect(ws.ExitStatus()).To(Equal(7))
	}, SpecTimeout(20*time.Second))

	It("reports death by a signal", func(ctx SpecContext) {
		_, _, err := run(ctx, netwatch.Options{}, "kill -USR1 $$")
		Expect(err).To(MatchError("signal: user defined signal 1"))
	}, SpecTimeout(20*time.Second))

	It("gets the signals its helper gets", func(ctx SpecContext) {
		sb, err := netwatch.Start(ctx, netwatch.Options{})
		Expect(err).NotTo(HaveOccurred(), "netwatch.Start")
		DeferCleanup(sb.Close)
		Expect(sb.Go(netwatch.Command{Argv: []string{"sleep", "30"}, Env: []string{"PATH=/usr/bin:/bin"}})).To(Succeed())

		Expect(syscall.Kill(netwatch.HelperPid(sb), syscall.SIGTERM)).To(Succeed())

		Eventually(sb.Done()).WithContext(ctx).WithTimeout(5 * time.Second).Should(BeClosed())
		Expect(sb.Wait()).To(MatchError("signal: terminated"), "forwarded to the tool, which died of it")
	}, SpecTimeout(20*time.Second))

	It("sees a /sys of its own: only lo and the sink, whose address is the canary MAC", func(ctx SpecContext) {
		sb, out, err := run(ctx, netwatch.Options{}, `ls /sys/class/net; cat /sys/class/net/sink0/address`)
		Expect(err).NotTo(HaveOccurred(), "run")
		ok, why := sb.PrivateSys()
		Expect(ok).To(BeTrue(), why)
		Expect(why).To(BeEmpty())
		var names []string
		for _, i := range sb.Interfaces() {
			names = append(names, i.Name)
		}
		Expect(names).To(ContainElements("lo", "sink0"))
		lines := strings.Fields(out)
		Expect(lines).To(HaveLen(len(names)+1), "the tool said: %s", out)
		Expect(lines[:len(names)]).To(ConsistOf(names), "the namespace's interfaces, none of the host's")
		Expect(lines[len(names)]).To(Equal(sb.MAC().String()), "the canary, not a host MAC")
	}, SpecTimeout(20*time.Second))

	It("goes on with the host's /sys where sysfs cannot be mounted, and says why", func(ctx SpecContext) {
		opts := netwatch.Options{}
		netwatch.RefuseSysMount(&opts, "simulated: mnt_too_revealing")
		sb, out, err := run(ctx, opts, `ls /sys/class/net`)
		Expect(err).NotTo(HaveOccurred(), "run")
		ok, why := sb.PrivateSys()
		Expect(ok).To(BeFalse())
		Expect(why).To(Equal("mount a private sysfs on /sys: simulated: mnt_too_revealing"))
		Expect(sb.PIDNamespace()).To(BeTrue(), "the PID namespace does not depend on it")
		Expect(strings.Fields(out)).NotTo(ContainElement("sink0"), "the host's interfaces")
	}, SpecTimeout(20*time.Second))

	It("falls back to running without a PID namespace where /proc cannot be mounted, and says why", func(ctx SpecContext) {
		opts := netwatch.Options{}
		netwatch.RefuseProcMount(&opts, "simulated: mnt_too_revealing")
		sb, out, err := run(ctx, opts, `echo "$$"; exit 3`)

		ok, why := sb.PIDNamespace()
		Expect(ok).To(BeFalse())
		Expect(why).To(ContainSubstring("mount a private proc on /proc: simulated: mnt_too_revealing"))
		ok, why = sb.PrivateSys()
		Expect(ok).To(BeFalse(), "no mount namespace to mount it in")
		Expect(why).To(ContainSubstring("no mount namespace of its own"))
		Expect(strings.TrimSpace(out)).To(Equal(strconv.Itoa(sb.Pid())), "the tool is the helper, with its host pid, as before")
		var exit *netwatch.ExitError
		Expect(errors.As(err, &exit)).To(BeTrue())
		Expect(exit.Status.ExitStatus()).To(Equal(3))
	}, SpecTimeout(20*time.Second))
})
