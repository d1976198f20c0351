package delivery

import (
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// errStaleConn: a pooled connection the endpoint closed while it was idle.
// Nothing of the request was written to it, so the client sends it again
// on another connection (Sender's RetryIfErr).
var errStaleConn = errors.New("keep-alive connection closed by the endpoint while idle")

// idleCheckAfter is how long a connection sits unused before its next
// request first checks that the endpoint has not closed it. Shorter than
// the keep-alive timeouts servers use (Node and Apache close idle
// connections after 5s, Gunicorn after 2s); longer than a TLS handshake
// takes to be followed by its first request, whose replies (a TLS 1.3
// session ticket) may still wait unread and must not count as a close.
const idleCheckAfter = 250 * time.Millisecond

// checkedConn is a client connection that, before a request on it after
// idleCheckAfter, checks that the endpoint has not closed it (or sent
// anything: an HTTP/1.1 server says nothing on an idle connection but
// that it closes it). net/http notices such closes with a reader goroutine
// per connection; fasthttp does not, and would send the request into a
// closed connection and fail the attempt.
type checkedConn struct {
	net.Conn
	last atomic.Int64 // unix nanoseconds of the last read or write
}

func newCheckedConn(c net.Conn) *checkedConn {
	cc := &checkedConn{Conn: c}
	cc.last.Store(time.Now().UnixNano())
	return cc
}

func (c *checkedConn) Write(b []byte) (int, error) {
	if time.Now().UnixNano()-c.last.Load() > int64(idleCheckAfter) && closedByPeer(c.Conn) {
		return 0, errStaleConn
	}
	n, err := c.Conn.Write(b)
	c.last.Store(time.Now().UnixNano())
	return n, err
}

func (c *checkedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.last.Store(time.Now().UnixNano())
	return n, err
}
