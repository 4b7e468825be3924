package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
)

// sealedGuardPy refuses to go on unless the script runs in the harness's
// sealed namespace (the only interfaces are lo and the sink; the harness
// sets no variable that would say so): the scripts below dial addresses directly, which must never
// reach a real network.
const sealedGuardPy = `
import os, sys
names = [l.split(":", 1)[0].strip() for l in open("/proc/self/net/dev").readlines()[2:]]
if not names or not all(n == "lo" or n.startswith("sink") for n in names):
    sys.exit("refusing: not in a sealed namespace (%s)" % names)
`

// escapePy looks the endpoint up and dials a hard-coded address directly.
const escapePy = sealedGuardPy + `
import socket
socket.getaddrinfo("spire.bugout.dev", 443, proto=socket.IPPROTO_TCP)
try:
    socket.create_connection(("198.51.100.7", 443), timeout=0.3)
except OSError as e:
    print("escape failed as it should:", type(e).__name__, flush=True)
`

// lateDirectPy leaves a daemon behind that clears its environment (no
// session marker, no proxy variables), leaves the process group and the
// session, waits for the command to exit and then posts straight to the
// endpoint: only the namespace says it belongs to the run.
const lateDirectPy = sealedGuardPy + `
import time
code = r'''
import http.client, os, ssl, sys, time
main = int(sys.argv[2])
while os.path.exists("/proc/%d" % main):
    time.sleep(0.01)
time.sleep(0.3)
c = http.client.HTTPSConnection("spire.bugout.dev", 443, timeout=10, context=ssl.create_default_context(cafile=sys.argv[1]))
c.request("POST", "/late", body=b"late-direct")
c.getresponse().read()
'''
bundle, main = os.environ["REQUESTS_CA_BUNDLE"], os.getpid()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execve(sys.executable, [sys.executable, "-c", code, bundle, str(main)], {})
    os._exit(0)
os.wait()
`

// stayPy writes "pid netns-inode" to argv[1]; with argv[2] "exit" it
// leaves a daemon that sleeps and exits, with "hang" it sleeps itself.
const stayPy = `
import os, sys, time
ino = os.stat("/proc/self/ns/net").st_ino
if sys.argv[2] == "exit" and os.fork() == 0:
    os.setsid()
    time.sleep(1000)
    os._exit(0)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %d" % (os.getpid(), ino))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
if sys.argv[2] == "hang":
    time.sleep(1000)
`

// daemonPy writes "pid netns-inode" to argv[1] (the pid as the tool sees
// it), leaves a daemon the way real ones do (double fork, a session of its
// own, SIGHUP and SIGTERM ignored, then "sleep 988", which the host can
// find by its command line) and, with argv[2] "hang", sleeps itself; with
// "exit" it exits 7 at once, and the daemon writes the time to argv[1].done
// 0.5 s after it saw the tool gone from its /proc, then exits.
const daemonPy = `
import os, signal, sys, time
ino, main = os.stat("/proc/self/ns/net").st_ino, os.getpid()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if sys.argv[2] == "hang":
            os.execv("/bin/sleep", ["sleep", "988"])
        while os.path.exists("/proc/%d" % main):
            time.sleep(0.01)
        time.sleep(0.5)
        with open(sys.argv[1] + ".done", "w") as f:
            f.write(repr(time.time()))
        os._exit(0)
    os._exit(0)
os.wait()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %d" % (main, ino))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
if sys.argv[2] == "hang":
    time.sleep(1000)
sys.exit(7)
`

// findSleep988 returns the host pid of the daemon of daemonPy in the
// network namespace with inode ino, or 0.
func findSleep988(ino uint64) int {
	for _, pid := range inNetns(ino) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && string(b) == "sleep\x00988\x00" {
			return pid
		}
	}
	return 0
}

// inNetns lists the pids of processes in the network namespace with inode
// ino.
func inNetns(ino uint64) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name()+"/ns/net", &st) == nil && st.Ino == ino {
			pids = append(pids, pid)
		}
	}
	return pids
}

// netnsFDs lists this process's descriptors that hold the namespace.
func netnsFDs(ino uint64) []string {
	var out []string
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == fmt.Sprintf("net:[%d]", ino) {
			out = append(out, e.Name())
		}
	}
	return out
}

func readMarker(path string) (pid int, ino uint64) {
	GinkgoHelper()
	var b []byte
	Eventually(func() error {
		var err error
		b, err = os.ReadFile(path)
		return err
	}).WithTimeout(20 * time.Second).Should(Succeed())
	_, err := fmt.Sscanf(string(b), "%d %d", &pid, &ino)
	Expect(err).NotTo(HaveOccurred(), "marker %q", b)
	return pid, ino
}

var _ = Describe("sealed Record", func() {
	var (
		opts session.Options
		out  string
	)

	BeforeEach(func() {
		out = filepath.Join(GinkgoT().TempDir(), "run")
		opts = session.Options{Out: out, Dir: GinkgoT().TempDir(), Timeout: 20 * time.Second, Seal: session.SealOn}
	})

	Context("where namespaces can be made", func() {
		BeforeEach(func() {
			if err := netwatch.Available(); err != nil {
				Skip("sealed network namespaces cannot be made here: " + err.Error())
			}
		})

		It("gives the tool a world that names nothing of the harness: its environment, pid 1's command line and environment", func(ctx SpecContext) {
			// Every process the tool can see in its PID namespace, with
			// what it can read of each; a tool that behaves only when it
			// is tested looks here.
			opts.Argv = []string{"sh", "-c", `for d in /proc/[0-9]*; do tr '\0' ' ' < $d/cmdline; echo; tr '\0' '\n' < $d/environ 2>/dev/null; done`}
			var stdout bytes.Buffer
			opts.Stdout = &stdout
			_, err := session.Record(ctx, opts)
			Expect(err).NotTo(HaveOccurred(), "session.Record")
			seen := strings.ToLower(stdout.String())
			Expect(seen).To(ContainSubstring("init --init-netns"), "pid 1 (the helper) was read")
			Expect(seen).To(ContainSubstring("https_proxy="), "the tool's own environment was read")
			Expect(seen).NotTo(Or(ContainSubstring("harness"), ContainSubstring("telemetry"), ContainSubstring("sealed")))
		}, SpecTimeout(30*time.Second))

		It("writes the escape and the DNS question to egress.json and a pcapng tshark reads", func(ctx SpecContext) {
			opts.Argv = []string{python, "-c", escapePy}

			_, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
			Expect(readFile(filepath.Join(out, session.StdoutName))).To(ContainSubstring("escape failed as it should"))
			e, err := capture.ReadEgress(out)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
			Expect(e.Sealed).To(BeTrue())
			Expect(e.Contained).To(HaveValue(BeTrue()), "the helper was the PID namespace's init")
			Expect(e.ContainReason).To(BeEmpty())
			Expect(e.PrivateSys).To(HaveValue(BeTrue()), "sysfs of its own: %s", e.SysReason)
			Expect(e.Flows).To(ContainElement(And(HaveField("Kind", capture.FlowEscape), HaveField("Server", "198.51.100.7:443"), HaveField("SYN", true))))
			Expect(e.DNS).To(ContainElement(HaveField("Name", "spire.bugout.dev")))
			Expect(readFile(filepath.Join(out, capture.DNSLogName))).To(ContainSubstring(`"name":"spire.bugout.dev"`))
			GinkgoWriter.Printf("sealed setup %s, teardown %s\n", e.Setup, e.Teardown)

			tshark, err := exec.LookPath("tshark")
			if err != nil {
				Skip("tshark is not installed: packets.pcapng not checked with it")
			}
			cmd := exec.CommandContext(ctx, tshark, "-r", filepath.Join(out, capture.PcapName), "-Y", "ip.dst == 198.51.100.7 && tcp.flags.syn == 1")
			cmd.Env = append(os.Environ(), "HOME="+GinkgoT().TempDir()) // tshark writes its profile there
			b, err := cmd.CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), "tshark -r: %s", b)
			Expect(string(b)).To(ContainSubstring("198.51.100.7"), "tshark decodes the SYN")
		}, SpecTimeout(60*time.Second))

		It("records a late sender that cleared its environment and left the session, found through the namespace", func(ctx SpecContext) {
			opts.Argv = []string{python, "-c", lateDirectPy}

			run, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
			exs, err := capture.Load(out)
			Expect(err).NotTo(HaveOccurred(), "capture.Load")
			Expect(exs).To(HaveLen(1))
			Expect(exs[0].Path).To(Equal(capture.PathTransparent), "no proxy variable left: it went straight to the endpoint")
			Expect(exs[0].URL).To(Equal("https://spire.bugout.dev/late"))
			Expect(string(exs[0].Body.Raw)).To(Equal("late-direct"))
			Expect(exs[0].Time).To(BeTemporally(">", run.MainExit))
			Expect(run.End).To(BeTemporally(">=", exs[0].Time))
		}, SpecTimeout(60*time.Second))

		It("leaves no process or namespace behind, a daemon stopped as idle included", func(ctx SpecContext) {
			marker := filepath.Join(GinkgoT().TempDir(), "marker")
			opts.Argv = []string{python, "-c", stayPy, marker, "exit"}
			opts.IdleStop = 300 * time.Millisecond

			run, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "session.Record")
			Expect(run.Killed).To(ContainElement(HaveField("Reason", session.ReasonIdle)), "the daemon was stopped")
			_, ino := readMarker(marker)
			Expect(inNetns(ino)).To(BeEmpty(), "no process lives in the run's namespace")
			Expect(netnsFDs(ino)).To(BeEmpty(), "the harness holds nothing of the namespace")
		}, SpecTimeout(60*time.Second))

		// The proof for issue 7. Before the PID namespace the daemon lived
		// on after the harness was SIGKILLed (sealed, until it exited).
		It("leaves no process or namespace behind when the harness is killed, a daemon the tool forked included", func(ctx SpecContext) {
			marker := filepath.Join(GinkgoT().TempDir(), "marker")
			harness := exec.Command("/proc/self/exe", "-test.run=^$")
			// The killed harness cannot remove its temporary folders (the
			// session CA's certificates): they go with the spec's.
			harness.Env = append(os.Environ(), childHarnessEnv+"="+marker, "TH_TEST_PYTHON="+python, "TH_TEST_OUT="+out, "TMPDIR="+GinkgoT().TempDir())
			harness.Stdout, harness.Stderr = GinkgoWriter, GinkgoWriter
			Expect(harness.Start()).To(Succeed())
			DeferCleanup(func() { _ = harness.Process.Kill(); _ = harness.Wait() })
			_, ino := readMarker(marker)
			var daemon int
			Eventually(func() int { daemon = findSleep988(ino); return daemon }).WithTimeout(10*time.Second).
				ShouldNot(BeZero(), "the daemon runs in the namespace")
			DeferCleanup(func() { _ = syscall.Kill(daemon, syscall.SIGKILL) })

			Expect(harness.Process.Signal(syscall.SIGKILL)).To(Succeed())
			_ = harness.Wait()

			Eventually(gone).WithArguments(daemon).WithTimeout(10*time.Second).Should(BeTrue(),
				"the daemon (double fork, setsid, SIGHUP and SIGTERM ignored) died with the harness: the helper was its PID namespace's init")
			Eventually(func() []int { return inNetns(ino) }).WithTimeout(10*time.Second).Should(BeEmpty(), "nothing lives in the namespace")
			Expect(netnsFDs(ino)).To(BeEmpty())
		}, SpecTimeout(60*time.Second))

		It("records the tool's exit code, and its exit as MainExit while its daemon goes on", func(ctx SpecContext) {
			marker := filepath.Join(GinkgoT().TempDir(), "marker")
			opts.Argv = []string{python, "-c", daemonPy, marker, "exit"}

			run, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
			Expect(run.ExitCode).To(Equal(7))
			Expect(run.Signal).To(BeEmpty())
			var done float64
			_, err = fmt.Sscan(readFile(marker+".done"), &done)
			Expect(err).NotTo(HaveOccurred(), "fmt.Sscan")
			daemonEnd := time.Unix(0, int64(done*1e9))
			Expect(run.MainExit).To(BeTemporally("<", daemonEnd), "MainExit is the tool's exit, not the namespace's end")
			Expect(run.End).To(BeTemporally(">=", daemonEnd), "the run waited for the daemon")
			saved, err := capture.ReadRun(out)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadRun")
			Expect(saved.ExitCode).To(Equal(7), "run.json")
		}, SpecTimeout(60*time.Second))

		It("says in egress.json that the tool was not contained, and why, when it ran without a PID namespace", func(ctx SpecContext) {
			opts.StartSandbox = func(ctx context.Context, o netwatch.Options) (*netwatch.Sandbox, error) {
				o.NoPIDNamespace = true // as where the kernel refuses one
				return netwatch.Start(ctx, o)
			}
			opts.Argv = []string{"true"}

			_, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "session.Record")
			e, err := capture.ReadEgress(out)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
			Expect(e.Sealed).To(BeTrue(), "still sealed: egress was observed")
			Expect(e.Contained).To(HaveValue(BeFalse()))
			Expect(e.ContainReason).To(Equal("switched off (NoPIDNamespace)"))
			Expect(readFile(filepath.Join(out, capture.EgressName))).To(ContainSubstring(`"contained": false`), "written, not omitted")
			Expect(e.PrivateSys).To(HaveValue(BeFalse()), "no mount namespace for a sysfs of its own")
			Expect(e.SysReason).To(ContainSubstring("no mount namespace of its own"))
		}, SpecTimeout(60*time.Second))

		It("shows the tool a /sys with only lo and the sink, whose address is the canary MAC", func(ctx SpecContext) {
			opts.MAC = net.HardwareAddr{0x1c, 0xbe, 0x99, 0x1a, 0x14, 0x14}
			opts.Argv = []string{"sh", "-c", "ls /sys/class/net; cat /sys/class/net/sink0/address"}

			_, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
			e, err := capture.ReadEgress(out)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
			Expect(e.PrivateSys).To(HaveValue(BeTrue()), e.SysReason)
			if strings.HasSuffix(e.Sink, "(veth)") {
				Skip("the sink is a veth pair here, whose peer is listed too (netwatch's spec covers that)")
			}
			Expect(strings.Fields(readFile(filepath.Join(out, session.StdoutName)))).To(Equal([]string{"lo", "sink0", "1c:be:99:1a:14:14"}))
		}, SpecTimeout(60*time.Second))

		It("writes the proxy's TLS secrets to sslkeys.log, with which tshark decrypts packets.pcapng", func(ctx SpecContext) {
			opts.Argv = []string{python, "-c", postPy + sealedGuardPy + `
import http.client, ssl
req = urllib.request.Request("https://spire.bugout.dev/humbug/reports?via=proxy", data=b"{}", method="POST")
urllib.request.urlopen(req, timeout=10).read()
c = http.client.HTTPSConnection("spire.bugout.dev", 443, timeout=10, context=ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"]))
c.request("POST", "/direct", body=b"{}")
c.getresponse().read()
`}

			_, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
			keys := filepath.Join(out, capture.KeyLogName)
			st, err := os.Stat(keys)
			Expect(err).NotTo(HaveOccurred(), "os.Stat")
			Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o600)))
			Expect(readFile(keys)).To(MatchRegexp(`(?m)^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]+$`))
			exs, err := capture.Load(out)
			Expect(err).NotTo(HaveOccurred(), "capture.Load")
			Expect(exs).To(HaveLen(2))

			tshark, err := exec.LookPath("tshark")
			if err != nil {
				Skip("tshark is not installed: sslkeys.log not checked with it")
			}
			e, err := capture.ReadEgress(out)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
			_, port, err := net.SplitHostPort(e.Proxy)
			Expect(err).NotTo(HaveOccurred(), "net.SplitHostPort")
			uris := func(keylog ...string) []string {
				GinkgoHelper()
				// The proxy listens on a random port: tshark's heuristics
				// find the CONNECT there today; -d says it outright, so
				// that the spec does not rest on them.
				args := []string{"-r", filepath.Join(out, capture.PcapName), "-d", "tcp.port==" + port + ",http"}
				if len(keylog) > 0 {
					args = append(args, "-o", "tls.keylog_file:"+keylog[0])
				}
				cmd := exec.CommandContext(ctx, tshark, append(args, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri")...)
				cmd.Env = append(os.Environ(), "HOME="+GinkgoT().TempDir()) // tshark writes its profile there
				b, err := cmd.Output()
				Expect(err).NotTo(HaveOccurred(), "tshark -r")
				return strings.Fields(string(b))
			}
			Expect(uris(keys)).To(ConsistOf("spire.bugout.dev:443", "/humbug/reports?via=proxy", "/direct"),
				"the CONNECT, and both decrypted requests: through the proxy's tunnel and to the transparent listener")
			Expect(uris()).To(Equal([]string{"spire.bugout.dev:443"}), "without the key log only the CONNECT is readable")
		}, SpecTimeout(60*time.Second))

		It("writes no key log when asked not to", func(ctx SpecContext) {
			opts.NoKeyLog = true
			opts.Argv = []string{python, "-c", postPy + "\npost(b'{}')\n"}

			_, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
			Expect(filepath.Join(out, capture.KeyLogName)).NotTo(BeAnExistingFile())
		}, SpecTimeout(60*time.Second))

		It("records a tool killed by a signal as such", func(ctx SpecContext) {
			opts.Argv = []string{python, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGUSR1)"}

			run, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "session.Record")
			Expect(run.Signal).To(Equal("SIGUSR1"))
			Expect(run.ExitCode).To(Equal(-1))
		}, SpecTimeout(60*time.Second))

		It("shows the tool a small pid and a /proc of the namespace only", func(ctx SpecContext) {
			opts.Argv = []string{python, "-c", "import os; print(os.getpid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"}

			_, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "session.Record")
			var pid int
			var rest string
			_, err = fmt.Sscanf(readFile(filepath.Join(out, session.StdoutName)), "%d %s", &pid, &rest)
			Expect(err).NotTo(HaveOccurred(), "fmt.Sscanf")
			Expect(pid).To(BeNumerically("<", 100))
			Expect(readFile(filepath.Join(out, session.StdoutName))).To(Equal(fmt.Sprintf("%d [1, %d]\n", pid, pid)), "init and the tool, nothing of the host")
		}, SpecTimeout(60*time.Second))

		It("kills the tool and its daemon at the timeout", func(ctx SpecContext) {
			marker := filepath.Join(GinkgoT().TempDir(), "marker")
			opts.Argv = []string{python, "-c", daemonPy, marker, "hang"}
			opts.Timeout, opts.KillGrace = 3*time.Second, 200*time.Millisecond

			run, err := session.Record(ctx, opts)

			Expect(err).To(MatchError(session.ErrTimeout))
			Expect(run.TimedOut).To(BeTrue())
			Expect(run.Signal).To(Equal("SIGTERM"), "the tool died of the first signal")
			Expect(run.Killed).To(ContainElements(
				HaveField("Argv", ContainElement(daemonPy)),
				HaveField("Argv", Equal([]string{"sleep", "988"})),
			), "the tool and its daemon")
			_, ino := readMarker(marker)
			Expect(inNetns(ino)).To(BeEmpty())
		}, SpecTimeout(60*time.Second))
	})

	Context("where namespaces cannot be made", func() {
		unavailable := func(context.Context, netwatch.Options) (*netwatch.Sandbox, error) {
			return nil, fmt.Errorf("%w: simulated: user namespaces are off", netwatch.ErrUnavailable)
		}

		It("records with the proxy alone under auto and says why in egress.json", func(ctx SpecContext) {
			opts.Seal, opts.StartSandbox = session.SealAuto, unavailable
			opts.Argv = []string{python, "-c", postPy + "\npost(b'{}')\n"}

			run, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
			Expect(run.Exchanges).To(BeEquivalentTo(1), "the proxy still records")
			e, err := capture.ReadEgress(out)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
			Expect(e.Sealed).To(BeFalse())
			Expect(e.Mode).To(Equal(session.SealAuto))
			Expect(e.Reason).To(ContainSubstring("simulated: user namespaces are off"))
			Expect(e.Contained).To(BeNil(), "containment means nothing without a seal")
			Expect(filepath.Join(out, capture.PcapName)).NotTo(BeAnExistingFile())
			Expect(filepath.Join(out, capture.KeyLogName)).NotTo(BeAnExistingFile(), "nothing to decrypt")
		}, SpecTimeout(40*time.Second))

		It("starts nothing under on", func(ctx SpecContext) {
			opts.StartSandbox = unavailable
			opts.Argv = []string{python, "-c", "open('started', 'w')"}

			_, err := session.Record(ctx, opts)

			Expect(err).To(MatchError(session.ErrSealUnavailable))
			Expect(errors.Is(err, netwatch.ErrUnavailable)).To(BeTrue(), "the reason is kept: %v", err)
			Expect(filepath.Join(opts.Dir, "started")).NotTo(BeAnExistingFile())
		})

		It("says so under off", func(ctx SpecContext) {
			opts.Seal = session.SealOff
			opts.Argv = []string{"true"}

			_, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "session.Record")
			e, err := capture.ReadEgress(out)
			Expect(err).NotTo(HaveOccurred(), "capture.ReadEgress")
			Expect(e).To(HaveField("Sealed", false))
			Expect(e.Reason).To(ContainSubstring("switched off"))
		})

		It("rejects an unknown mode before starting anything", func(ctx SpecContext) {
			opts.Seal = "maybe"
			opts.Argv = []string{"true"}
			_, err := session.Record(ctx, opts)
			Expect(err).To(MatchError(ContainSubstring(`seal mode "maybe": want auto, on or off`)))
		})
	})
})

// childHarnessEnv makes the test binary a harness that records daemonPy,
// sealed, until it is killed (see TestMain).
const childHarnessEnv = "TH_TEST_CHILD_HARNESS"

func runChildHarness(marker string) int {
	_, err := session.Record(context.Background(), session.Options{
		Argv: []string{os.Getenv("TH_TEST_PYTHON"), "-c", daemonPy, marker, "hang"},
		Out:  os.Getenv("TH_TEST_OUT"), Seal: session.SealOn, Timeout: time.Minute,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}

var _ = Describe("HideOutput", func() {
	It("covers the output folder only when nothing the tool needs lives under it", func() {
		out := filepath.Join(GinkgoT().TempDir(), "out")
		Expect(session.HideOutput(out, "/srv/repo", "/home/x")).To(Equal([]string{out}))
		Expect(session.HideOutput(out, filepath.Join(out, "work"))).To(BeEmpty(), "the tool's folder is under it")
		Expect(session.HideOutput(out, out)).To(BeEmpty())
		Expect(session.HideOutput(os.TempDir())).To(BeEmpty(), "the temporary folder holds the CA bundle")
		Expect(session.HideOutput(out+"-sibling", out)).To(Equal([]string{out + "-sibling"}), "a sibling is not under it")
	})
})
