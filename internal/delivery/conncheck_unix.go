//go:build unix

package delivery

import (
	"net"
	"syscall"
)

// closedByPeer reports whether c's peer closed it or sent anything: one
// read of the non-blocking socket that must find nothing to read (as
// go-sql-driver/mysql checks a pooled connection).
func closedByPeer(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		// Nothing to read (EAGAIN) is an open, idle connection; an end of
		// file (no error, nothing read), a byte or an error is not.
		_, err := syscall.Read(int(fd), b[:])
		closed = err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
		return true
	})
	return closed || err != nil
}
