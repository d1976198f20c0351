package netguard

import (
	"errors"
	"net/netip"
	"testing"
)

func TestGuard(t *testing.T) {
	allow, err := ParseCIDRs([]string{"127.0.0.0/8", "10.1.2.3, fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	strict, permissive := NewGuard(nil), NewGuard(allow)
	tests := []struct {
		addr              string
		strict, permitted bool // allowed by the strict guard / by the one with allow-cidrs
	}{
		{"93.184.216.34", true, true},
		{"2606:4700::1111", true, true},
		{"127.0.0.1", false, true},
		{"127.1.2.3", false, true},
		{"::1", false, false},
		{"::ffff:127.0.0.1", false, true}, // IPv4-mapped loopback is loopback
		{"10.0.0.1", false, false},
		{"10.1.2.3", false, true},
		{"172.16.5.4", false, false},
		{"192.168.1.1", false, false},
		{"169.254.169.254", false, false}, // cloud metadata
		{"100.64.0.1", false, false},      // CGNAT
		{"0.0.0.0", false, false},
		{"224.0.0.1", false, false},
		{"255.255.255.255", false, false},
		{"198.18.0.1", false, false},
		{"192.0.2.10", false, false},
		{"fe80::1", false, false},
		{"fd12::1", false, true},
		{"fc00::1", false, false},
		{"ff02::1", false, false},
		{"::", false, false},
		{"64:ff9b::7f00:1", false, false}, // NAT64 of 127.0.0.1
		{"2002:7f00:1::", false, false},   // 6to4 of 127.0.0.1
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			check := func(g *Guard, want bool) {
				err := g.Check(a)
				var blocked *ErrBlockedAddress
				if want && err != nil || !want && !errors.As(err, &blocked) {
					t.Errorf("Check(%s) = %v, want allowed=%v", a, err, want)
				}
			}
			check(strict, tt.strict)
			check(permissive, tt.permitted)
		})
	}
}

func TestGuardControl(t *testing.T) {
	g := NewGuard(nil)
	if err := g.Control("tcp4", "127.0.0.1:80", nil); err == nil {
		t.Fatal("Control allowed loopback")
	}
	if err := g.Control("tcp6", "[fe80::1%eth0]:443", nil); err == nil {
		t.Fatal("Control allowed a zoned link-local address")
	}
	if err := g.Control("tcp4", "93.184.216.34:443", nil); err != nil {
		t.Fatalf("Control refused a public address: %v", err)
	}
}

// TestGuardRefusesOwnListener: even with loopback allowed, the daemon's
// own listener is never dialed, whatever name led there.
func TestGuardRefusesOwnListener(t *testing.T) {
	for _, tc := range []struct {
		listen string
		dial   string
		self   bool
	}{
		{"127.0.0.1:8787", "127.0.0.1:8787", true},
		{"127.0.0.1:8787", "127.0.0.1:4000", false},
		{"127.0.0.1:8787", "127.0.0.2:8787", false},
		{"0.0.0.0:8787", "127.0.0.1:8787", true},
		{"0.0.0.0:8787", "[::1]:8787", true},
		{"[::]:8787", "[::ffff:127.0.0.1]:8787", true},
	} {
		g := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})
		g.RefuseListener(netip.MustParseAddrPort(tc.listen))
		err := g.Control("tcp", tc.dial, nil)
		if got := errors.Is(err, ErrSelf); got != tc.self {
			t.Errorf("listening on %s, dialing %s: %v; want self=%v", tc.listen, tc.dial, err, tc.self)
		}
	}
}

func TestParseCIDRsErrors(t *testing.T) {
	for _, in := range []string{"localhost", "10.0.0.0/33", "1.2.3"} {
		if _, err := ParseCIDRs([]string{in}); err == nil {
			t.Errorf("ParseCIDRs(%q) accepted it", in)
		}
	}
}
