package session_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
)

// daemonSh starts a daemon that leaves the command's process group and
// session (setsid), so only the session marker ties it to the run. The
// command writes the daemon's pid to $1 and exits at once; the daemon prints
// to the inherited stdout, sleeps $2 seconds (or spins the CPU for them when
// $3 is "busy"), then writes $1.done. Plain sh keeps it cheap under load.
const daemonSh = `
setsid sh -c '
  echo late output from the daemon
  if [ "$3" = busy ]; then timeout "$2" sh -c "while :; do :; done"; else sleep "$2"; fi
  echo late > "$1.done"
' daemon "$1" "$2" "$3" &
echo $! > "$1"
`

func daemonArgv(pidfile, secs string, mode ...string) []string {
	return append([]string{"sh", "-c", daemonSh, "sh", pidfile, secs}, mode...)
}

// fakeConns is a proxy with a settable number of open connections.
type fakeConns struct {
	mu      sync.Mutex
	n       int
	changed chan struct{}
}

func newFakeConns(n int) *fakeConns { return &fakeConns{n: n, changed: make(chan struct{})} }

func (f *fakeConns) OpenConns() (int, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, f.changed
}

func (f *fakeConns) set(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n = n
	close(f.changed)
	f.changed = make(chan struct{})
}

func readPID(path string) int {
	GinkgoHelper()
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "daemon pid file %s", path)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	Expect(err).NotTo(HaveOccurred(), "strconv.Atoi")
	return pid
}

// doneTime is when the daemon of pidfile finished (its ".done" file).
func doneTime(pidfile string) time.Time {
	GinkgoHelper()
	st, err := os.Stat(pidfile + ".done")
	Expect(err).NotTo(HaveOccurred(), "the daemon finished before recording ended")
	return st.ModTime()
}

// gone reports whether pid no longer exists, not even as a zombie.
func gone(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return os.IsNotExist(err)
}

// markerName is the shape of the session marker's name: two made-up
// words, like a user's own variable.
const markerName = `^[BDFGKLMNPRSTVZ][AEIOU][BDFGKLMNPRSTVZ][AEIOU][BDFGKLMNPRSTVZ][AEIOU]_[BDFGKLMNPRSTVZ][AEIOU][BDFGKLMNPRSTVZ][AEIOU][BDFGKLMNPRSTVZ][AEIOU]`

var _ = Describe("Supervise", func() {
	var (
		dir  string
		env  []string
		spec session.Spec
		out  *bytes.Buffer
	)

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		out = &bytes.Buffer{}
		spec = session.Spec{
			Dir: dir, Env: env, ID: fmt.Sprintf("test-%d-%d", GinkgoParallelProcess(), time.Now().UnixNano()),
			Stdout: out, Timeout: 20 * time.Second,
		}
	})

	It("waits for a detached child that outlives the command, and ends as soon as it exits", func(ctx SpecContext) {
		pidfile := filepath.Join(dir, "daemon.pid")
		spec.Argv = daemonArgv(pidfile, "0.5")

		run, err := session.Supervise(ctx, spec, nil)

		Expect(err).NotTo(HaveOccurred(), "session.Supervise")
		Expect(run.ExitCode).To(Equal(0))
		finished := doneTime(pidfile)
		Expect(finished).To(BeTemporally(">", run.MainExit), "the daemon outlived the command")
		Expect(run.End).To(BeTemporally(">=", finished), "recording went on until the daemon finished")
		Expect(run.End).To(BeTemporally("<", finished.Add(time.Second)), "recording ended promptly once the daemon exited")
		Expect(run.Killed).To(BeEmpty())
		Expect(out.String()).To(ContainSubstring("late output from the daemon"))
		Expect(gone(readPID(pidfile))).To(BeTrue(), "the reparented daemon was reaped")
	}, SpecTimeout(30*time.Second))

	It("ends right after the command when nothing outlives it", func(ctx SpecContext) {
		spec.Argv = []string{"sh", "-c", "echo hello; exit 3"}

		run, err := session.Supervise(ctx, spec, nil)

		Expect(err).NotTo(HaveOccurred(), "session.Supervise")
		Expect(run.ExitCode).To(Equal(3))
		Expect(run.End.Sub(run.MainExit)).To(BeNumerically("<", time.Second), "ends on the exit event, not after a polling period")
		Expect(out.String()).To(Equal("hello\n"))
		// The marker looks like a user's variable: nothing names the harness.
		Expect(run.EnvKeys).To(ContainElement(MatchRegexp(markerName)))
		for _, k := range run.EnvKeys {
			Expect(strings.ToUpper(k)).NotTo(Or(ContainSubstring("HARNESS"), ContainSubstring("TELEMETRY")))
		}
	}, SpecTimeout(30*time.Second))

	It("kills a command that never exits at the timeout and says so", func(ctx SpecContext) {
		spec.Argv = []string{"sleep", "1000"}
		spec.Timeout = 300 * time.Millisecond

		run, err := session.Supervise(ctx, spec, nil)

		Expect(err).To(MatchError(session.ErrTimeout))
		Expect(run.TimedOut).To(BeTrue())
		Expect(run.Signal).To(Equal("SIGTERM"))
		Expect(run.ExitCode).To(Equal(-1))
		Expect(run.Killed).To(ConsistOf(And(
			HaveField("Reason", session.ReasonTimeout),
			HaveField("Argv", Equal([]string{"sleep", "1000"})),
		)))
		Expect(run.End.Sub(run.Start)).To(BeNumerically("<", 3*time.Second))
	}, SpecTimeout(30*time.Second))

	It("kills a detached daemon at the timeout", func(ctx SpecContext) {
		pidfile := filepath.Join(dir, "daemon.pid")
		spec.Argv = daemonArgv(pidfile, "1000")
		spec.Timeout = 3 * time.Second

		run, err := session.Supervise(ctx, spec, nil)

		Expect(err).To(MatchError(session.ErrTimeout))
		pid := readPID(pidfile)
		Expect(run.ExitCode).To(Equal(0), "the command itself exited normally")
		Expect(run.Killed).To(ContainElement(HaveField("PID", pid)), "the daemon and its sleep were killed")
		Expect(run.Killed).To(HaveEach(HaveField("Reason", session.ReasonTimeout)))
		Expect(gone(pid)).To(BeTrue(), "the killed daemon was reaped")
	}, SpecTimeout(30*time.Second))

	It("stops a daemon that stays idle with --idle-stop, recording it as idle", func(ctx SpecContext) {
		pidfile := filepath.Join(dir, "daemon.pid")
		spec.Argv = daemonArgv(pidfile, "1000")
		spec.IdleStop = 300 * time.Millisecond

		run, err := session.Supervise(ctx, spec, nil)

		Expect(err).NotTo(HaveOccurred(), "session.Supervise")
		Expect(run.TimedOut).To(BeFalse())
		Expect(run.Killed).To(ContainElement(HaveField("PID", readPID(pidfile))))
		Expect(run.Killed).To(HaveEach(HaveField("Reason", session.ReasonIdle)))
		Expect(run.End.Sub(run.MainExit)).To(BeNumerically("<", 3*time.Second))
	}, SpecTimeout(30*time.Second))

	It("leaves a busy daemon alone with --idle-stop", func(ctx SpecContext) {
		pidfile := filepath.Join(dir, "daemon.pid")
		spec.Argv = daemonArgv(pidfile, "0.8", "busy")
		spec.IdleStop = 200 * time.Millisecond

		run, err := session.Supervise(ctx, spec, nil)

		Expect(err).NotTo(HaveOccurred(), "session.Supervise")
		Expect(run.Killed).To(BeEmpty())
		Expect(filepath.Join(dir, "daemon.pid.done")).To(BeAnExistingFile())
	}, SpecTimeout(30*time.Second))

	It("keeps recording while a proxy connection is open", func(ctx SpecContext) {
		conns := newFakeConns(1)
		spec.Argv = []string{"true"}
		done := make(chan *capture.RunFacts, 1)
		go func() {
			defer GinkgoRecover()
			run, err := session.Supervise(ctx, spec, conns)
			Expect(err).NotTo(HaveOccurred(), "session.Supervise")
			done <- run
		}()

		Consistently(done, 300*time.Millisecond).ShouldNot(Receive(), "the connection is still open")
		closed := time.Now()
		conns.set(0)
		var run *capture.RunFacts
		Eventually(done, 2*time.Second).Should(Receive(&run))
		Expect(run.End.Sub(closed)).To(BeNumerically("<", time.Second), "ends on the connection-closed event")
	}, SpecTimeout(30*time.Second))

	It("waits a settle window of quiet before it ends", func(ctx SpecContext) {
		spec.Argv = []string{"true"}
		spec.Settle = 400 * time.Millisecond

		run, err := session.Supervise(ctx, spec, newFakeConns(0))

		Expect(err).NotTo(HaveOccurred(), "session.Supervise")
		Expect(run.End.Sub(run.MainExit)).To(BeNumerically(">=", 400*time.Millisecond))
	}, SpecTimeout(30*time.Second))

	It("attributes orphans to their own session when sessions run concurrently", func(ctx SpecContext) {
		slow, fast := spec, spec
		slow.ID += "-slow"
		fast.ID += "-fast"
		slow.Stdout, fast.Stdout = nil, nil
		slow.Argv = daemonArgv(filepath.Join(dir, "slow.pid"), "2")
		fast.Argv = daemonArgv(filepath.Join(dir, "fast.pid"), "0.1")
		var wg sync.WaitGroup
		runs := make([]*capture.RunFacts, 2)
		for i, s := range []session.Spec{slow, fast} {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				run, err := session.Supervise(ctx, s, nil)
				Expect(err).NotTo(HaveOccurred(), "session.Supervise")
				runs[i] = run
			}()
		}
		wg.Wait()

		slowDone := doneTime(filepath.Join(dir, "slow.pid"))
		Expect(runs[0].End).To(BeTemporally(">=", slowDone), "the slow session waited for its daemon")
		Expect(runs[1].End).To(BeTemporally(">=", doneTime(filepath.Join(dir, "fast.pid"))), "the fast session waited for its daemon")
		Expect(runs[1].End).To(BeTemporally("<", slowDone), "the fast session did not wait for the other's daemon")
	}, SpecTimeout(30*time.Second))

	It("reports a command that is not found in PATH before starting anything", func(ctx SpecContext) {
		spec.Argv = []string{"no-such-command-xyz"}

		run, err := session.Supervise(ctx, spec, nil)

		Expect(err).To(MatchError(ContainSubstring(`command "no-such-command-xyz" not found in PATH`)))
		Expect(run).To(BeNil())
	})

	It("gives the command exactly the environment it was given, plus a marker random per session", func(ctx SpecContext) {
		spec.Argv = []string{"cat", "/proc/self/environ"}
		markers := map[string]bool{}
		for range 2 {
			out.Reset()
			_, err := session.Supervise(ctx, spec, nil)

			Expect(err).NotTo(HaveOccurred(), "session.Supervise")
			seen := strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00")
			Expect(seen).To(HaveLen(len(env) + 1))
			Expect(seen).To(ContainElements(env))
			extra := slices.DeleteFunc(seen, func(kv string) bool { return slices.Contains(env, kv) })
			Expect(extra).To(ConsistOf(MatchRegexp(markerName + `=[A-Za-z0-9]{24}$`)))
			Expect(extra[0]).NotTo(ContainSubstring(spec.ID))
			markers[extra[0]] = true
		}
		Expect(markers).To(HaveLen(2), "name and value change per session")
	}, SpecTimeout(30*time.Second))

	It("stops everything when the context is cancelled", func(sctx SpecContext) {
		spec.Argv = []string{"sleep", "1000"}
		ctx, cancel := context.WithCancel(sctx)
		time.AfterFunc(200*time.Millisecond, cancel)

		run, err := session.Supervise(ctx, spec, nil)

		Expect(err).To(MatchError(session.ErrInterrupted))
		Expect(run.Killed).To(ConsistOf(HaveField("Reason", session.ReasonInterrupted)))
	}, SpecTimeout(30*time.Second))
})
