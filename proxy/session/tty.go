package session

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ttyRows and ttyCols are the terminal's size: a tool that asks gets the
// classic 80x24, the same on every host.
const ttyRows, ttyCols = 24, 80

// newTTYOutput makes a pseudo-terminal for a command that is to see a
// terminal (Spec.TTY): child is the terminal's side (the command's stdin,
// stdout and stderr), and what the command writes there is copied to w.
// The harness's side is opened non-blocking so that Go's poller owns it and
// finish can cut a read short; the copy ends when the last holder of the
// terminal's side exits (reads then fail with EIO).
func newTTYOutput(w io.Writer) (*output, error) {
	if w == nil {
		w = io.Discard
	}
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("make terminal: open /dev/ptmx: %w", err)
	}
	master := os.NewFile(uintptr(mfd), "/dev/ptmx")
	fail := func(what string, err error) (*output, error) {
		master.Close()
		return nil, fmt.Errorf("make terminal: %s: %w", what, err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return fail("unlock", err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		return fail("terminal number", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fail("open its terminal side", err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: ttyRows, Col: ttyCols}); err != nil {
		slave.Close()
		return fail("set its size", err)
	}
	o := &output{child: slave, r: master, copied: make(chan struct{})}
	go func() {
		_, _ = io.Copy(w, master) // EIO once no process holds the terminal
		close(o.copied)
	}()
	return o, nil
}
