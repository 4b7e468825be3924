package proxy

import "syscall"

// socketIdle reports whether nothing is waiting on a kept upstream socket:
// a host that closed it left EOF (or a TLS alert) there. One non-blocking
// MSG_PEEK, where net/http keeps a reader goroutine per connection to learn
// the same.
func socketIdle(rc syscall.RawConn) bool {
	if rc == nil {
		return true
	}
	idle := true
	var b [1]byte
	err := rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		idle = n <= 0 && err == syscall.EAGAIN
		return true
	})
	return err == nil && idle
}
