package session

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// tracker finds and watches the processes that belong to one session.
//
// A process belongs to the session when any of these holds (checked on every
// scan, until nothing new turns up):
//   - it is the command itself, or was seen before (same pid and start time);
//   - its environment holds the session marker (see marker; runs that are
//     not sealed only), which every descendant inherits unless it clears
//     its environment;
//   - it is in a process group or session created by a member (the command's
//     own group, or one made by setsid/setpgid in a daemonising child);
//   - its parent is a member.
//
// Several sessions may run in one harness process: the harness is a child
// subreaper for all of them, so a reparented orphan's parent says nothing,
// and the marker, group and session ids do the attribution. Only a process
// that clears its environment, leaves the group and the session, and whose
// parent dies before the next scan, escapes; no real tool was seen doing all
// three.
type tracker struct {
	proc    string
	self    procStat
	marker  string
	mainPID int
	members map[int]*member
	pgids   map[int]bool
	sids    map[int]bool
	// unsure is set by a scan that met an orphan of the harness whose
	// environment could not be read yet (mid-exec), or a member it could
	// not watch; the caller scans again after recheckDelay.
	unsure bool
	tries  map[int]int
	// born is set when a scan adopts a new live member; the idle check
	// clears it at the start of each window.
	born bool
	// extra, when set, lists pids that belong to the session whatever
	// their ancestry (every process in a sealed namespace); extraPIDs is
	// its answer at the last scan.
	extra     func() ([]int, error)
	extraPIDs map[int]bool
	// exits receives the pid of a member whose pidfd reported its exit.
	exits chan int
	// openPidfd is unix.PidfdOpen (tests put a reaper in between).
	openPidfd func(pid, flags int) (int, error)
	done      chan struct{}
}

type member struct {
	stat    procStat
	argv    []string
	pidfd   *os.File // nil once the exit has been seen
	cpuBase uint64   // CPU ticks at the start of the current idle window
}

func newTracker(proc, marker string, mainPID int) (*tracker, error) {
	self, err := readStat(proc, os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("read own process facts: %w", err)
	}
	t := &tracker{
		proc: proc, self: self, marker: marker, mainPID: mainPID,
		members: map[int]*member{},
		pgids:   map[int]bool{mainPID: true},
		sids:    map[int]bool{},
		tries:   map[int]int{},
		exits:   make(chan int),
		done:    make(chan struct{}),

		openPidfd: unix.PidfdOpen,
	}
	return t, nil
}

// scan reads /proc, adopts new members, reaps members that are zombies
// reparented to the harness, and returns the members still alive.
func (t *tracker) scan() ([]*member, error) {
	pids, err := listPIDs(t.proc)
	if err != nil {
		return nil, err
	}
	t.unsure = false
	if t.extra != nil {
		more, err := t.extra()
		if err != nil {
			return nil, err
		}
		t.extraPIDs = make(map[int]bool, len(more))
		for _, pid := range more {
			t.extraPIDs[pid] = true
		}
	}
	stats := make(map[int]procStat, len(pids))
	for _, pid := range pids {
		if pid == t.self.pid {
			continue
		}
		if s, err := readStat(t.proc, pid); err == nil {
			stats[pid] = s
		}
	}
	in := map[int]bool{}
	for grew := true; grew; {
		grew = false
		for pid, s := range stats {
			if in[pid] || !t.belongs(s, in) {
				continue
			}
			in[pid] = true
			grew = true
			if s.pgrp != t.self.pgrp && s.pgrp > 1 {
				t.pgids[s.pgrp] = true
			}
			if s.sid != t.self.sid && s.sid > 1 {
				t.sids[s.sid] = true
			}
		}
	}
	// Members that vanished from /proc are gone for good.
	for pid, m := range t.members {
		if s, ok := stats[pid]; !ok || s.start != m.stat.start || !in[pid] {
			t.forget(m)
		}
	}
	var live []*member
	for pid := range in {
		s := stats[pid]
		m, ok := t.members[pid]
		if !ok || m.stat.start != s.start {
			m = &member{stat: s, argv: readArgv(t.proc, pid), cpuBase: s.cpu}
			if !s.zombie() {
				if !t.watch(m) {
					// Gone since /proc was read and reaped (a PID
					// namespace's init reaps at once), or no pidfd could
					// be had: no pidfd will report it, so counting it live
					// would wait for an event that never comes. Look
					// again soon instead.
					t.unsure = true
					continue
				}
				t.born = true
			}
			t.members[pid] = m
		}
		m.stat = s
		if s.zombie() {
			t.forget(m)
			// The command itself is reaped by os/exec; an orphan reparented
			// to the harness is ours to reap.
			if s.ppid == t.self.pid && pid != t.mainPID {
				var ws unix.WaitStatus
				_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
			}
			continue
		}
		live = append(live, m)
	}
	return live, nil
}

func (t *tracker) belongs(s procStat, in map[int]bool) bool {
	if m, ok := t.members[s.pid]; ok && m.stat.start == s.start {
		return true
	}
	if s.pid == t.mainPID || in[s.ppid] || t.extraPIDs[s.pid] {
		return true
	}
	if s.pgrp != t.self.pgrp && t.pgids[s.pgrp] {
		return true
	}
	if s.sid != t.self.sid && t.sids[s.sid] {
		return true
	}
	if s.zombie() || t.marker == "" {
		// No marker: a sealed run, whose namespace names its members.
		return false
	}
	found, unknown := hasEnv(t.proc, s.pid, t.marker)
	if unknown && s.ppid == t.self.pid && t.tries[s.pid] < maxRechecks {
		// An orphan of some session, caught mid-exec: look again soon. A
		// process started with an empty environment stays unknown; it is
		// given up on after maxRechecks.
		t.tries[s.pid]++
		t.unsure = true
	}
	return found
}

// watch opens a pidfd for m and reports its exit on t.exits. The pidfd is
// non-blocking, so os.File parks the waiting goroutine in the runtime poller
// instead of holding a thread. It returns false when m is already gone
// (reaped, its pid possibly reused).
func (t *tracker) watch(m *member) bool {
	fd, err := t.openPidfd(m.stat.pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return false
	}
	if s, err := readStat(t.proc, m.stat.pid); err != nil || s.start != m.stat.start {
		unix.Close(fd) // the pid was reused between the scan and the open
		return false
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("pidfd %d", m.stat.pid))
	m.pidfd = f
	pid := m.stat.pid
	go func() {
		rc, err := f.SyscallConn()
		if err != nil {
			return
		}
		err = rc.Read(func(fd uintptr) bool {
			p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, _ := unix.Poll(p, 0)
			return n > 0
		})
		if err != nil {
			return // closed by forget or close
		}
		select {
		case t.exits <- pid:
		case <-t.done:
		}
	}()
	return true
}

func (t *tracker) forget(m *member) {
	if m.pidfd != nil {
		m.pidfd.Close()
		m.pidfd = nil
	}
}

// signal sends sig to every live member and to their process groups (never
// the harness's own group). A member with a pidfd is signalled through it,
// so a reused pid is never hit.
func (t *tracker) signal(live []*member, sig unix.Signal) {
	groups := map[int]bool{}
	for _, m := range live {
		if m.pidfd != nil {
			_ = unix.PidfdSendSignal(int(m.pidfd.Fd()), sig, nil, 0)
		} else {
			_ = unix.Kill(m.stat.pid, sig)
		}
		if g := m.stat.pgrp; g > 1 && g != t.self.pgrp {
			groups[g] = true
		}
	}
	for g := range groups {
		_ = unix.Kill(-g, sig)
	}
}

// resetCPU starts a new idle window for the live members.
func (t *tracker) resetCPU(live []*member) {
	t.born = false
	for _, m := range live {
		if s, err := readStat(t.proc, m.stat.pid); err == nil && s.start == m.stat.start {
			m.stat = s
		}
		m.cpuBase = m.stat.cpu
	}
}

// idleSince reports whether the session stayed idle since resetCPU: no new
// process appeared and the live members used at most maxTicks of CPU.
func (t *tracker) idleSince(maxTicks uint64) (bool, error) {
	live, err := t.scan()
	if err != nil {
		return false, err
	}
	return !t.born && t.cpuSince(live) <= maxTicks, nil
}

// cpuSince returns the CPU ticks the live members used since their window
// started.
func (t *tracker) cpuSince(live []*member) uint64 {
	var used uint64
	for _, m := range live {
		s, err := readStat(t.proc, m.stat.pid)
		if err != nil || s.start != m.stat.start {
			continue
		}
		m.stat = s
		if s.cpu > m.cpuBase {
			used += s.cpu - m.cpuBase
		}
	}
	return used
}

// errStuck is returned when processes survive SIGKILL (uninterruptible
// sleep) past the kill wait.
var errStuck = errors.New("processes survived SIGKILL")

// stop ends every live member: SIGTERM, then SIGKILL after grace to what is
// left (members found meanwhile included). It returns what it killed.
func (t *tracker) stop(reason string, grace time.Duration) ([]capture.Killed, error) {
	live, err := t.scan()
	if err != nil {
		return nil, err
	}
	var killed []capture.Killed
	seen := map[int]bool{}
	note := func(live []*member) {
		for _, m := range live {
			if !seen[m.stat.pid] {
				seen[m.stat.pid] = true
				killed = append(killed, capture.Killed{PID: m.stat.pid, Argv: m.argv, Reason: reason})
			}
		}
	}
	note(live)
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGKILL} {
		if len(live) == 0 {
			break
		}
		note(live)
		t.signal(live, sig)
		wait := grace
		if sig == unix.SIGKILL {
			wait = killWait
		}
		if live, err = t.waitGone(wait); err != nil {
			return killed, err
		}
	}
	if len(live) > 0 {
		return killed, fmt.Errorf("%w: %d still alive %s after the kill", errStuck, len(live), killWait)
	}
	return killed, nil
}

// killWait bounds the wait after SIGKILL.
const killWait = 5 * time.Second

// waitGone waits until no member lives or d passes; it returns the live
// members.
func (t *tracker) waitGone(d time.Duration) ([]*member, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		live, err := t.scan()
		if err != nil || len(live) == 0 {
			return live, err
		}
		select {
		case <-t.exits:
		case <-t.recheck():
		case <-timer.C:
			return t.scan()
		}
	}
}

// recheckDelay is how soon a scan is repeated after it met an orphan whose
// environment was unreadable (execve takes well under a millisecond).
const recheckDelay = 5 * time.Millisecond

// maxRechecks bounds the rechecks per process (20 × 5 ms).
const maxRechecks = 20

// recheck returns a channel that fires after recheckDelay when the last scan
// was unsure, else nil (never fires).
func (t *tracker) recheck() <-chan time.Time {
	if !t.unsure {
		return nil
	}
	return time.After(recheckDelay)
}

// close stops the watchers.
func (t *tracker) close() {
	close(t.done)
	for _, m := range t.members {
		t.forget(m)
	}
}
