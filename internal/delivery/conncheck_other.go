//go:build !unix

package delivery

import "net"

// closedByPeer cannot look at the socket here: a request on a connection
// the endpoint closed while idle fails its attempt, which is retried on its
// schedule.
func closedByPeer(net.Conn) bool { return false }
