package session

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStat is what /proc/PID/stat tells about one process.
type procStat struct {
	pid, ppid, pgrp, sid int
	state                byte
	// cpu is utime+stime in clock ticks (USER_HZ, 100 on Linux).
	cpu uint64
	// start is the start time in ticks since boot; with pid it names a
	// process uniquely, so a reused pid is never taken for the old process.
	start uint64
}

// zombie reports whether the process has exited (and waits to be reaped).
func (s procStat) zombie() bool { return s.state == 'Z' || s.state == 'X' || s.state == 'x' }

// readStat parses /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so the fields are counted from its last ')'.
func readStat(proc string, pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", proc, pid))
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("parse %s/%d/stat: no command name", proc, pid)
	}
	f := strings.Fields(string(b[i+2:]))
	// After the name: state(0) ppid(1) pgrp(2) session(3) ... utime(11)
	// stime(12) ... starttime(19).
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("parse %s/%d/stat: %d fields", proc, pid, len(f))
	}
	s := procStat{pid: pid, state: f[0][0]}
	ints := []*int{&s.ppid, &s.pgrp, &s.sid}
	for k, p := range ints {
		if *p, err = strconv.Atoi(f[1+k]); err != nil {
			return procStat{}, fmt.Errorf("parse %s/%d/stat field %d: %w", proc, pid, 5+k, err)
		}
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	s.start, err = strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err != nil {
		return procStat{}, fmt.Errorf("parse %s/%d/stat: bad times", proc, pid)
	}
	s.cpu = ut + st
	return s, nil
}

// listPIDs returns the numeric entries of /proc.
func listPIDs(proc string) ([]int, error) {
	d, err := os.Open(proc)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if p, err := strconv.Atoi(n); err == nil && p > 0 {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// hasEnv reports whether the initial environment of pid holds the exact
// entry kv ("KEY=VALUE"). unknown is true when the environment could not be
// read or was empty: a process in the middle of execve shows an empty
// environment for a moment, so "not found" is not yet an answer then.
func hasEnv(proc string, pid int, kv string) (found, unknown bool) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/environ", proc, pid))
	if err != nil || len(b) == 0 {
		return false, true
	}
	for _, e := range bytes.Split(b, []byte{0}) {
		if string(e) == kv {
			return true, false
		}
	}
	return false, false
}

// readArgv returns the command line of pid, or nil.
func readArgv(proc string, pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/cmdline", proc, pid))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}
