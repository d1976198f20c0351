package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Gate is the access rule of the daemon's listener. With a Token:
//
//   - health (/healthz, /readyz) is open to everyone;
//   - ingest (POST /v1/accounts/{id}/events) is open to loopback clients
//     and needs the token from anyone else;
//   - everything else (the admin API, /metrics, /riverui/) needs the token
//     from every client, loopback included.
//
// Without a Token, health and ingest are open to everyone (as without the
// admin API), and everything else answers only loopback clients (403 to
// others): the admin API is never open to the network without a token.
//
// The token is sent as "Authorization: Bearer TOKEN", or as the password of
// HTTP Basic authentication (any user name) so that a browser can open
// River's UI; a 401 asks for Basic.
//
// "Loopback" is the TCP peer's address: behind a reverse proxy on the same
// host every client looks local, so set a token there.
type Gate struct {
	Token string
}

// Health lets everyone through.
func (Gate) Health(h http.Handler) http.Handler { return h }

// Ingest lets loopback clients through, and others with the token (or
// everyone when there is no token).
func (g Gate) Ingest(h http.Handler) http.Handler {
	if g.Token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loopback(r) || g.authorized(r) {
			h.ServeHTTP(w, r)
			return
		}
		g.deny(w, r, "ingest from a non-loopback client needs the admin token")
	})
}

// Admin lets through requests with the token; without a token, loopback
// clients.
func (g Gate) Admin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case g.Token == "" && loopback(r), g.Token != "" && g.authorized(r):
			h.ServeHTTP(w, r)
		case g.Token == "":
			writeError(w, http.StatusForbidden, "the admin API answers loopback clients only; start the daemon with --admin-token to use it from elsewhere")
		default:
			g.deny(w, r, "this route needs the admin token")
		}
	})
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
