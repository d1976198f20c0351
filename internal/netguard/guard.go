// Package netguard refuses, at dial time, connections to addresses a
// webhook delivery must not reach: the non-public ranges upstream
// Chatwoot's SafeFetch refuses (unless allowed), and the daemon's own
// listener. The daemon's sender and the mock's deliveries share it.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// deniedPrefixes are the non-public ranges upstream's SafeFetch (the
// ssrf_filter gem) refuses, checked on the address actually dialed, after
// DNS, so a name that resolves (or re-resolves) to one is refused too.
var deniedPrefixes = mustPrefixes(
	"0.0.0.0/8",       // "this" network
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // carrier-grade NAT
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, cloud metadata
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, broadcast
	"::/128",          // unspecified
	"::1/128",         // loopback
	"64:ff9b::/96",    // NAT64 (reaches IPv4 space)
	"64:ff9b:1::/48",  // local-use NAT64
	"100::/64",        // discard-only
	"2001::/32",       // Teredo
	"2001:10::/28",    // ORCHID
	"2001:db8::/32",   // documentation
	"2002::/16",       // 6to4 (reaches IPv4 space)
	"fc00::/7",        // unique local
	"fe80::/10",       // link-local
	"fec0::/10",       // site-local (deprecated)
	"ff00::/8",        // multicast
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Guard refuses connections to non-public addresses unless an allowed
// prefix contains them. Its Control method is meant for net.Dialer.Control.
type Guard struct {
	allow []netip.Prefix
	// self is the daemon's own listener; its port is zero when unset.
	self      netip.AddrPort
	selfAddrs []netip.Addr // what reaches self: its address, or every local one
}

// ErrSelf is the dial error of a connection to the daemon's own listener.
var ErrSelf = errors.New("refusing to connect to this daemon's own listener: a delivery must never come back to the relay that sends it")

// RefuseListener makes the guard refuse connections to the daemon's own
// listener at addr, whatever name led there, so that no webhook can make
// the daemon deliver to itself. A listener on an unspecified address
// (0.0.0.0, ::) is reached through every local address.
func (g *Guard) RefuseListener(addr netip.AddrPort) {
	g.self = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	g.selfAddrs = []netip.Addr{g.self.Addr()}
	if g.self.Addr().IsUnspecified() {
		g.selfAddrs = append(g.selfAddrs, netip.IPv6Loopback(), netip.MustParseAddr("127.0.0.1"))
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					g.selfAddrs = append(g.selfAddrs, p.Addr().Unmap())
				}
			}
		}
	}
}

// IsSelf reports whether ap is the listener RefuseListener named.
func (g *Guard) IsSelf(ap netip.AddrPort) bool {
	if g.self.Port() == 0 || ap.Port() != g.self.Port() {
		return false
	}
	a := ap.Addr().Unmap().WithZone("")
	for _, s := range g.selfAddrs {
		if s == a {
			return true
		}
	}
	return false
}

// NewGuard returns a Guard that allows the given CIDRs despite the deny list.
func NewGuard(allow []netip.Prefix) *Guard { return &Guard{allow: allow} }

// ParseCIDRs reads --allow-cidr values; each may hold several, comma-separated.
func ParseCIDRs(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				if a, aerr := netip.ParseAddr(s); aerr == nil {
					p = netip.PrefixFrom(a, a.BitLen())
				} else {
					return nil, fmt.Errorf("%q is not a CIDR like 127.0.0.0/8 or 10.1.2.3/32", s)
				}
			}
			out = append(out, p.Masked())
		}
	}
	return out, nil
}

// ErrBlockedAddress is wrapped by dial errors the guard caused.
type ErrBlockedAddress struct{ Addr netip.Addr }

func (e *ErrBlockedAddress) Error() string {
	return fmt.Sprintf("refusing to connect to non-public address %s (allow it with --allow-cidr)", e.Addr)
}

// Check returns an *ErrBlockedAddress for addresses deliveries must not reach.
func (g *Guard) Check(a netip.Addr) error {
	a = a.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(a) {
			return nil
		}
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return &ErrBlockedAddress{a}
	}
	for _, p := range deniedPrefixes {
		if p.Contains(a) {
			return &ErrBlockedAddress{a}
		}
	}
	return nil
}

// Control checks the resolved address right before the socket connects.
func (g *Guard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		host, _, splitErr := net.SplitHostPort(address)
		if splitErr != nil {
			return fmt.Errorf("refusing to dial %q: %w", address, err)
		}
		a, perr := netip.ParseAddr(host)
		if perr != nil {
			return fmt.Errorf("refusing to dial %q: not an IP address", address)
		}
		return g.Check(a)
	}
	if g.IsSelf(ap) {
		return ErrSelf
	}
	return g.Check(ap.Addr())
}
