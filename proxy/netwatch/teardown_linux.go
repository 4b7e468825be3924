package netwatch

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Closing a sandbox (draining its capture, ending its processes) and small helpers.

// drainTimeout bounds the wait for the drain marker at Close.
const drainTimeout = time.Second

// Close kills whatever still runs in the namespace, waits until the capture
// has seen every packet sent before, closes every socket (the namespace
// vanishes with the last one) and flushes packets.pcapng and dns.jsonl. It
// returns the first error of the capture or the logs.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Sandbox) close() error {
	var errs []error
	// A helper still waiting for Go, or serving as init, exits on EOF; as
	// init it takes every process of the PID namespace with it, and it is
	// reaped only once they all are.
	s.ctl.Close()
	if s.cmd.Process != nil {
		select {
		case <-s.helperDone:
		default:
			if !s.pidns {
				_ = s.Signal(syscall.SIGKILL)
			}
			// As init, its death kills every process of the PID namespace.
			_ = s.cmd.Process.Kill()
		}
		<-s.helperDone
		s.toolExit(syscall.WaitStatus(syscall.SIGKILL), s.isReleased() && s.Pid() > 0)
		<-s.toolDone
		// Without a PID namespace, processes outside the tool's group
		// (daemons) may still live.
		for deadline := time.Now().Add(2 * time.Second); ; {
			pids, err := s.Processes()
			if err != nil || len(pids) == 0 {
				break
			}
			if time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("close namespace: processes %v survive SIGKILL", pids))
				break
			}
			_ = s.Signal(syscall.SIGKILL)
			time.Sleep(5 * time.Millisecond) // poll: reaping is the kernel's and the reaper's
		}
	}
	if s.capture != nil && s.dns != nil {
		// The marker crosses lo after every packet the tool sent.
		if _, err := s.dnsConn.WriteToUDPAddrPort(s.marker, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 53)); err == nil {
			if !s.capture.waitMarker(drainTimeout) {
				errs = append(errs, errors.New("close namespace: capture did not drain within 1s; packets.pcapng may miss the last packets"))
			}
		}
	}
	for _, l := range []net.Listener{s.proxyL, s.httpsL, s.httpL} {
		if l != nil {
			_ = l.Close() // the proxy may have closed it already
		}
	}
	if s.dnsConn != nil {
		s.dnsConn.Close()
	}
	if s.dns != nil {
		<-s.dns.done
		if _, err := s.dns.snapshot(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.capture != nil {
		if err := s.capture.close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []*os.File{s.pcapFile, s.dnsFile} {
		if f != nil {
			if err := f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", f.Name(), err))
			}
		}
	}
	for _, f := range s.nsFiles {
		if f != nil {
			f.Close()
		}
	}
	return errors.Join(errs...)
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomMAC returns a random unicast, universally administered address, the
// kind Python's uuid.getnode() prefers.
func randomMAC() net.HardwareAddr {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	b[0] &^= 0x03
	if b[0] == 0 {
		b[0] = 0x04 // avoid 00:..., which some tools treat as unset
	}
	return b
}

// tailBuffer keeps the last tailMax bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 2048

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailMax {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
