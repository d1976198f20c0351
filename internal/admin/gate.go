package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Gate is the access rule of the daemon's listener.
//
//   - The relay route (Gate.Open) is open to every client: Chatwoot is on
//     another host and cannot send a token; Chatwoot's signature, checked
//     by the route itself, is its authentication.
//   - Health (/healthz, /readyz) is open to every client, for load
//     balancers.
//   - Everything else — ingest, the admin API, /metrics, /riverui/ — is
//     local: it refuses, from any client, a Host that is not one of the
//     daemon's own names (DNS rebinding), a cross-origin browser request
//     (CSRF: Origin or Sec-Fetch-Site, through net/http's
//     CrossOriginProtection), and a POST whose Content-Type is not
//     application/json (which a page cannot send without a CORS preflight
//     the daemon never answers; River's UI, whose own pages post
//     text/plain, is let through on Sec-Fetch-Site: same-origin, which
//     only the browser sets). Then, with a Token, ingest needs it from
//     non-loopback clients and the rest from every client; without one,
//     both answer loopback clients only.
//
// The token is sent as "Authorization: Bearer TOKEN", or as the password of
// HTTP Basic authentication (any user name) so that a browser can open
// River's UI; a 401 asks for Basic.
//
// "Loopback" is the TCP peer's address: behind a reverse proxy on the same
// host every client looks local, so set a token there.
type Gate struct {
	Token string
	// Hosts are the names (without port) the daemon answers to besides IP
	// literals and localhost: its --public-url's and its listener's.
	Hosts []string
	// TrustedOrigins may make cross-origin requests (the --public-url's
	// origin, when pages are served through it).
	TrustedOrigins []string
}

// Open lets everyone through: the route authenticates by itself.
func (Gate) Open(h http.Handler) http.Handler { return h }

// Health lets everyone through.
func (Gate) Health(h http.Handler) http.Handler { return h }

// Ingest lets through local requests from loopback clients, and from
// others with the token.
func (g Gate) Ingest(h http.Handler) http.Handler {
	return g.local(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case loopback(r), g.Token != "" && g.authorized(r):
			h.ServeHTTP(w, r)
		case g.Token == "":
			writeError(w, http.StatusForbidden, "ingest answers loopback clients only; start the daemon with --admin-token to post events from other hosts (Chatwoot itself posts to the relay route, which needs no token)")
		default:
			g.deny(w, r, "ingest from a non-loopback client needs the admin token")
		}
	}))
}

// Admin lets through local requests with the token; without a token,
// those of loopback clients.
func (g Gate) Admin(h http.Handler) http.Handler {
	return g.local(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case g.Token == "" && loopback(r), g.Token != "" && g.authorized(r):
			h.ServeHTTP(w, r)
		case g.Token == "":
			writeError(w, http.StatusForbidden, "the admin API answers loopback clients only; start the daemon with --admin-token to use it from elsewhere")
		default:
			g.deny(w, r, "this route needs the admin token")
		}
	}))
}

// local refuses what a web page or a rebinding DNS name could send.
func (g Gate) local(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range g.TrustedOrigins {
		_ = cop.AddTrustedOrigin(o) // scheme://host of the --public-url ParseFlags checked
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host := hostname(r.Host); !g.ownHost(host) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("Host %q is not one of the daemon's names (its listener, --public-url, localhost or an IP address); "+
				"reach it by one of those, or set --public-url to the name clients use", host))
			return
		}
		if err := cop.Check(r); err != nil {
			writeError(w, http.StatusForbidden, "cross-origin request refused: a web page may not call the daemon's local API")
			return
		}
		// River's UI posts text/plain from the daemon's own pages; a browser
		// says so in Sec-Fetch-Site, which no page can forge.
		if r.Method == http.MethodPost && r.Header.Get("Sec-Fetch-Site") != "same-origin" {
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "POST needs Content-Type: application/json")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// ownHost: IP literals cannot be rebound; names must be the daemon's own.
func (g Gate) ownHost(host string) bool {
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	for _, h := range g.Hosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func (g Gate) deny(w http.ResponseWriter, r *http.Request, why string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="terraform-provider-chatwoot daemon", charset="UTF-8"`)
	msg := why + `: send "Authorization: Bearer TOKEN" (or the token as the Basic password)`
	if r.Header.Get("Authorization") != "" {
		msg = "wrong admin token; " + msg
	}
	writeError(w, http.StatusUnauthorized, msg)
}

// authorized compares in constant time, over digests so that the length
// of the token does not leak either.
func (g Gate) authorized(r *http.Request) bool {
	got := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		got = strings.TrimSpace(h[7:])
	} else if _, p, ok := r.BasicAuth(); ok {
		got = p
	}
	if got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(g.Token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func loopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
