package session_test

import (
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

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
)

// sealedGuardPy refuses to go on unless the script runs in the harness's
// sealed namespace (the harness says so and the only interfaces are lo and
// the sink): the scripts below dial addresses directly, which must never
// reach a real network.
const sealedGuardPy = `
import os, sys
names = [l.split(":", 1)[0].strip() for l in open("/proc/self/net/dev").readlines()[2:]]
if os.environ.get("TELEMETRY_HARNESS_SEALED") != "1" or not all(n == "lo" or n.startswith("sink") for n in names):
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

		It("writes the escape and the DNS question to egress.json and a pcapng tshark reads", func(ctx SpecContext) {
			opts.Argv = []string{python, "-c", escapePy}

			_, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
			Expect(readFile(filepath.Join(out, session.StdoutName))).To(ContainSubstring("escape failed as it should"))
			e, err := capture.ReadEgress(out)
			Expect(err).NotTo(HaveOccurred())
			Expect(e.Sealed).To(BeTrue())
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
			Expect(err).NotTo(HaveOccurred())
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

			Expect(err).NotTo(HaveOccurred())
			Expect(run.Killed).To(ContainElement(HaveField("Reason", session.ReasonIdle)), "the daemon was stopped")
			_, ino := readMarker(marker)
			Expect(inNetns(ino)).To(BeEmpty(), "no process lives in the run's namespace")
			Expect(netnsFDs(ino)).To(BeEmpty(), "the harness holds nothing of the namespace")
		}, SpecTimeout(60*time.Second))

		It("leaves no process or namespace behind when the harness is killed", func(ctx SpecContext) {
			marker := filepath.Join(GinkgoT().TempDir(), "marker")
			harness := exec.Command("/proc/self/exe", "-test.run=^$")
			harness.Env = append(os.Environ(), childHarnessEnv+"="+marker, "TH_TEST_PYTHON="+python, "TH_TEST_OUT="+out)
			harness.Stdout, harness.Stderr = GinkgoWriter, GinkgoWriter
			Expect(harness.Start()).To(Succeed())
			pid, ino := readMarker(marker)
			Expect(inNetns(ino)).To(ContainElement(pid), "the tool runs in the namespace")

			Expect(harness.Process.Signal(syscall.SIGKILL)).To(Succeed())
			_ = harness.Wait()

			Eventually(func() []int { return inNetns(ino) }).WithTimeout(10*time.Second).Should(BeEmpty(),
				"the tool died with the harness (Pdeathsig; a daemon it forked would live on, sealed: see netwatch's doc)")
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
			Expect(err).NotTo(HaveOccurred())
			Expect(e.Sealed).To(BeFalse())
			Expect(e.Mode).To(Equal(session.SealAuto))
			Expect(e.Reason).To(ContainSubstring("simulated: user namespaces are off"))
			Expect(filepath.Join(out, capture.PcapName)).NotTo(BeAnExistingFile())
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

			Expect(err).NotTo(HaveOccurred())
			e, err := capture.ReadEgress(out)
			Expect(err).NotTo(HaveOccurred())
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

// childHarnessEnv makes the test binary a harness that records stayPy,
// sealed, until it is killed (see TestMain).
const childHarnessEnv = "TH_TEST_CHILD_HARNESS"

func runChildHarness(marker string) int {
	_, err := session.Record(context.Background(), session.Options{
		Argv: []string{os.Getenv("TH_TEST_PYTHON"), "-c", stayPy, marker, "hang"},
		Out:  os.Getenv("TH_TEST_OUT"), Seal: session.SealOn, Timeout: time.Minute,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}
