package netwatch

import (
	"encoding/json"
	"errors"

	"golang.org/x/sys/unix"
)

// The helper's control socket: JSON messages with file descriptors attached.

// sendJSON sends v as one SEQPACKET message, with fds attached if any.
func sendJSON(fd int, v any, fds []int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(fd, b, oob, nil, 0)
}

// parseRights returns the descriptors in a control message buffer.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		rights, err := unix.ParseUnixRights(&m)
		if err != nil {
			return nil, err
		}
		fds = append(fds, rights...)
	}
	return fds, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// recvmsg is unix.Recvmsg retried when a signal interrupts it: the helper
// waits on the control socket for as long as the run lasts.
func recvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, from unix.Sockaddr, err error) {
	for {
		n, oobn, recvflags, from, err = unix.Recvmsg(fd, p, oob, flags)
		if !errors.Is(err, unix.EINTR) {
			return n, oobn, recvflags, from, err
		}
	}
}
