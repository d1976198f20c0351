package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/netguard"
)

// self is what names this daemon: its listener and its public url. No
// relayed webhook may make it deliver to either.
type self struct {
	publicURL string
	public    *url.URL
	listener  netip.AddrPort
}

func newSelf(publicURL string, ln net.Addr) *self {
	s := &self{}
	if tcp, ok := ln.(*net.TCPAddr); ok {
		s.listener = tcp.AddrPort()
	}
	if publicURL == "" {
		publicURL = "http://" + ln.String()
		if s.listener.Addr().IsUnspecified() {
			publicURL = fmt.Sprintf("http://localhost:%d", s.listener.Port())
		}
	}
	s.publicURL = strings.TrimRight(publicURL, "/")
	s.public, _ = url.Parse(s.publicURL) // checked by ParseFlags
	return s
}

// hosts are the names the local API answers to besides IP literals and
// localhost.
func (s *self) hosts() []string {
	var out []string
	if h := s.public.Hostname(); h != "" {
		out = append(out, strings.ToLower(h))
	}
	return out
}

// origin is the public url's origin, trusted for cross-origin requests.
func (s *self) origin() string { return s.public.Scheme + "://" + s.public.Host }

// refuse names a destination that is this daemon: its public url's host
// and port, or an address of its listener (localhost included).
func (s *self) refuse(g *netguard.Guard) endpoints.Refuse {
	publicHost, publicPort := hostPort(s.public)
	return func(dest string) string {
		u, err := url.Parse(dest)
		if err != nil {
			return ""
		}
		host, port := hostPort(u)
		if host == publicHost && port == publicPort {
			return fmt.Sprintf("its destination is this daemon's --public-url (%s): delivering there would loop; point the webhook at the receiver", s.publicURL)
		}
		if port != fmt.Sprint(s.listener.Port()) {
			return ""
		}
		loopbackListener := s.listener.Addr().IsLoopback() || s.listener.Addr().IsUnspecified()
		a, err := netip.ParseAddr(strings.Trim(host, "[]"))
		if err == nil && g.IsSelf(netip.AddrPortFrom(a, s.listener.Port())) ||
			err != nil && loopbackListener && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
			return fmt.Sprintf("its destination is this daemon's own listener (%s): delivering there would loop; point the webhook at the receiver", s.listener)
		}
		return ""
	}
}

// hostPort returns u's host, lower case, and its port, the scheme's when
// none is given.
func hostPort(u *url.URL) (host, port string) {
	host, port = strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.TrimSuffix(host, "."), port
}
