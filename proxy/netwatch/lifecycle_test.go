package netwatch_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// orphanEnv makes the test binary a stand-in harness that starts a sandbox
// whose tool sends one escaping SYN and sleeps, prints the tool's pid and
// namespace identity, and waits to be killed. Its value is the pcapng path.
const orphanEnv = "NETWATCH_TEST_ORPHAN"

func runOrphan() int {
	ctx, cancel := startCtx()
	defer cancel()
	sb, err := netwatch.Start(ctx, netwatch.Options{PcapPath: os.Getenv(orphanEnv)})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	// An escape attempt that blocks (the SYN is dropped, connect retries for
	// minutes), in the tool's own process: the harness dies mid-run.
	script := "exec 3<>/dev/tcp/198.51.100.7/443; exec sleep 60"
	if err := sb.Go(netwatch.Command{Argv: []string{"bash", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}}); err != nil {
		fmt.Println("error", err)
		return 1
	}
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", sb.Process().Pid), &st); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("started", sb.Process().Pid, st.Dev, st.Ino)
	select {} // until killed
}

// openFDs counts this process's open descriptors.
func openFDs() int {
	GinkgoHelper()
	entries, err := os.ReadDir("/proc/self/fd")
	Expect(err).NotTo(HaveOccurred())
	return len(entries)
}

var _ = Describe("the lifetime of a sealed namespace", func() {
	BeforeEach(func() { requireNamespaces() })

	It("leaves no process and no descriptor behind after Close", func(ctx SpecContext) {
		before := openFDs()
		sb, err := netwatch.Start(ctx, netwatch.Options{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sb.Close)
		Expect(sb.Go(netwatch.Command{Argv: []string{"sleep", "30"}, Env: []string{"PATH=/usr/bin:/bin"}})).To(Succeed())
		Expect(sb.Processes()).To(ConsistOf(sb.Process().Pid), "the tool runs in the namespace")

		Expect(sb.Close()).To(Succeed())
		Expect(sb.Processes()).To(BeEmpty(), "Close kills everything in the namespace")
		Expect(sb.ProcessState()).NotTo(BeNil(), "the tool was reaped")
		Expect(openFDs()).To(Equal(before), "every socket of the namespace is closed, so the namespace is gone")
	}, SpecTimeout(20*time.Second))

	It("finds a late sender that left the tool's process group, and kills it at Close", func(ctx SpecContext) {
		sb, err := netwatch.Start(ctx, netwatch.Options{})
		Expect(err).NotTo(HaveOccurred())
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

	It("dies with a harness that is killed, and leaves the packets captured so far", func(ctx SpecContext) {
		if _, err := exec.LookPath("bash"); err != nil {
			Skip("bash is needed for the tool: " + err.Error())
		}
		self, err := os.Executable()
		Expect(err).NotTo(HaveOccurred())
		pcap := filepath.Join(GinkgoT().TempDir(), "packets.pcapng")
		harness := exec.Command(self)
		harness.Env = append(os.Environ(), orphanEnv+"="+pcap)
		out, err := harness.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		Expect(harness.Start()).To(Succeed())
		DeferCleanup(func() { _ = harness.Process.Kill(); _ = harness.Wait() })

		line, err := bufio.NewReader(out).ReadString('\n')
		Expect(err).NotTo(HaveOccurred())
		var pid int
		var dev, ino uint64
		_, err = fmt.Sscanf(line, "started %d %d %d", &pid, &dev, &ino)
		Expect(err).NotTo(HaveOccurred(), "the stand-in harness said: %s", strings.TrimSpace(line))
		Expect(netwatch.ProcessesInNetns(dev, ino)).To(ConsistOf(pid))

		syn := And(HaveField("Interface", "sink0"), HaveField("Dst", "198.51.100.7:443"), HaveField("SYN", true))
		Eventually(readPcapngE).WithArguments(pcap).WithContext(ctx).WithTimeout(5*time.Second).
			Should(ContainElement(syn), "packets.pcapng is flushed while the run goes on")

		Expect(harness.Process.Signal(syscall.SIGKILL)).To(Succeed())
		Eventually(func() ([]int, error) { return netwatch.ProcessesInNetns(dev, ino) }).
			WithContext(ctx).WithTimeout(5*time.Second).Should(BeEmpty(), "Pdeathsig kills the tool with its harness")
		Expect(readPcapng(pcap)).To(ContainElement(syn), "the killed run's capture survives")
	}, SpecTimeout(20*time.Second))
})
