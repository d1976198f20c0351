package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/netguard"
)

// The signature was computed outside Go with upstream's formula:
//
//	printf '%s' '1714000000.{"event":"message_created","id":42,"content":"<b>Hi & bye</b>"}' |
//	  openssl dgst -sha256 -hmac 'whsec-delivery' -hex
const (
	vectorSecret = "whsec-delivery"
	vectorBody   = `{"event":"message_created","id":42,"content":"<b>Hi & bye</b>"}`
	vectorTS     = 1714000000
	vectorSig    = "sha256=d87393bc9035b66ecef46dc22cd51537dd59b6fd5a35853814d0839ace81d178"
)

func TestSenderHeadersMatchUpstream(t *testing.T) {
	var got http.Header
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotBody = r.Header.Clone(), mustRead(t, r.Body)
	}))
	defer srv.Close()
	s := NewSender(SenderOptions{UserAgent: "terraform-provider-chatwoot/test", Now: func() time.Time { return time.Unix(vectorTS, 0) }})
	resp, err := s.Send(context.Background(), Request{URL: srv.URL, Secret: vectorSecret, DeliveryID: "1b0e4bb8-8f5c-4b0a-9f0e-8a8f8b3c2d11", Body: []byte(vectorBody)})
	if err != nil || !resp.OK() {
		t.Fatalf("Send = %+v, %v", resp, err)
	}
	want := map[string]string{
		"Content-Type":         "application/json",
		"Accept":               "application/json",
		"User-Agent":           "terraform-provider-chatwoot/test",
		"X-Chatwoot-Delivery":  "1b0e4bb8-8f5c-4b0a-9f0e-8a8f8b3c2d11",
		"X-Chatwoot-Timestamp": "1714000000",
		"X-Chatwoot-Signature": vectorSig,
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Get(k), v)
		}
	}
	if string(gotBody) != vectorBody {
		t.Errorf("body = %q, want the bytes given", gotBody)
	}
	if err := chatwoot.Verify(vectorSecret, got, gotBody, 0, time.Time{}); err != nil {
		t.Errorf("chatwoot.Verify: %v", err)
	}
}

// TestSenderSignsEachWithItsSecret: attempts of endpoints with different
// secrets, sent at once, are each signed with their own (the Sender keeps
// a Signer per secret), also once it has dropped the Signers it kept.
func TestSenderSignsEachWithItsSecret(t *testing.T) {
	var bad atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := mustRead(t, r.Body)
		if err := chatwoot.Verify(r.URL.Query().Get("secret"), r.Header, body, time.Minute, time.Now()); err != nil {
			bad.Add(1)
		}
	}))
	defer srv.Close()
	s := NewSender(SenderOptions{})
	send := func(secret string, i int) error {
		url := srv.URL + "/?secret=" + secret
		resp, err := s.Send(context.Background(), Request{URL: url, Secret: secret, DeliveryID: "d", Body: fmt.Appendf(nil, `{"i":%d}`, i)})
		if err == nil && !resp.OK() {
			err = fmt.Errorf("answered %d", resp.Status)
		}
		return err
	}
	var wg sync.WaitGroup
	for _, secret := range []string{"alpha", "beta", "gamma"} {
		wg.Go(func() {
			for i := range 50 {
				if err := send(secret, i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range maxSigners + 1 {
		s.signer(strconv.Itoa(i))
	}
	if err := send("alpha", 0); err != nil {
		t.Fatal(err)
	}
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of 151 attempts signed with another secret", n)
	}
	kept := 0
	s.signers.Range(func(any, any) bool { kept++; return true })
	if kept > maxSigners {
		t.Fatalf("the Sender keeps %d Signers; at most %d", kept, maxSigners)
	}
}

// TestSenderSignatureOpenSSL checks a fresh signature (real clock) against
// openssl when the machine has it.
func TestSenderSignatureOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	h := sentHeaders(t, Request{Secret: "s3cr3t", DeliveryID: "d", Body: []byte(vectorBody)})
	cmd := exec.Command("openssl", "dgst", "-sha256", "-hmac", "s3cr3t", "-hex")
	cmd.Stdin = strings.NewReader(h.Get(chatwoot.HeaderTimestamp) + "." + vectorBody)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(out))
	if want := "sha256=" + fields[len(fields)-1]; h.Get(chatwoot.HeaderSignature) != want {
		t.Fatalf("signature %s, openssl says %s", h.Get(chatwoot.HeaderSignature), want)
	}
}

func TestSenderNoSecretNoSignature(t *testing.T) {
	h := sentHeaders(t, Request{DeliveryID: "d", Body: []byte("{}")})
	if h.Get(chatwoot.HeaderSignature) != "" || h.Get(chatwoot.HeaderTimestamp) != "" || h.Get(chatwoot.HeaderDelivery) != "d" {
		t.Fatalf("headers without a secret = %v; upstream signs only when the webhook has a secret", h)
	}
}

func TestSenderRedirectIsNotFollowed(t *testing.T) {
	var followed atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	resp, err := NewSender(SenderOptions{}).Send(context.Background(), Request{URL: srv.URL, DeliveryID: "d", Body: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OK() || resp.Status != http.StatusTemporaryRedirect || followed.Load() {
		t.Fatalf("redirect: status %d ok=%v followed=%v; want 307 reported as a failure, not followed", resp.Status, resp.OK(), followed.Load())
	}
}

func TestSenderGuardRefusesLoopbackBeforeConnecting(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	// localhost resolves to loopback: the guard sees the resolved address.
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	_, err := NewSender(SenderOptions{Guard: netguard.NewGuard(nil)}).Send(context.Background(), Request{URL: url, DeliveryID: "d", Body: []byte("{}")})
	var blocked *netguard.ErrBlockedAddress
	if !errors.As(err, &blocked) || hits.Load() != 0 {
		t.Fatalf("Send to loopback = %v (hits %d), want ErrBlockedAddress and no request", err, hits.Load())
	}
	allowed := netguard.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	if _, err := NewSender(SenderOptions{Guard: allowed}).Send(context.Background(), Request{URL: url, DeliveryID: "d", Body: []byte("{}")}); err != nil || hits.Load() != 1 {
		t.Fatalf("Send with --allow-cidr 127.0.0.0/8 = %v (hits %d)", err, hits.Load())
	}
}

func TestSenderTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := NewSender(SenderOptions{Timeout: 200 * time.Millisecond}).Send(context.Background(), Request{URL: srv.URL, DeliveryID: "d", Body: []byte("{}")})
	if err == nil || !strings.Contains(err.Error(), "no answer within the attempt's timeout (200ms)") || time.Since(start) > 2*time.Second {
		t.Fatalf("Send to a hanging endpoint = %v after %s, want a timeout after 200ms", err, time.Since(start))
	}
}

func TestSenderRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, strings.Repeat("slow down ", 100))
	}))
	defer srv.Close()
	resp, err := NewSender(SenderOptions{}).Send(context.Background(), Request{URL: srv.URL, DeliveryID: "d", Body: []byte("{}")})
	if err != nil || resp.Status != 429 || !resp.HasRetry || resp.RetryAfter != 7*time.Second || len(resp.Snippet) > 205 {
		t.Fatalf("Send = %+v, %v; want 429 with Retry-After 7s and a short snippet", resp, err)
	}
}

// sentHeaders are the headers an endpoint receives for req, sent by a new
// Sender.
func sentHeaders(t *testing.T, req Request) http.Header {
	t.Helper()
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	defer srv.Close()
	req.URL = srv.URL
	if resp, err := NewSender(SenderOptions{}).Send(context.Background(), req); err != nil || !resp.OK() {
		t.Fatalf("Send = %+v, %v", resp, err)
	}
	return <-got
}

func mustRead(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSenderIdleConnectionClosedByEndpoint: an endpoint that closes
// keep-alive connections idle for 50ms (as Node and Apache do after 5s)
// still gets the next attempt, on a new connection, over HTTP and TLS.
func TestSenderIdleConnectionClosedByEndpoint(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) {
			var conns atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			srv.Config.IdleTimeout = 50 * time.Millisecond
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			s := NewSender(SenderOptions{})
			if tls {
				srv.StartTLS()
				s.client.TLSConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
			} else {
				srv.Start()
			}
			defer srv.Close()
			send := func() {
				t.Helper()
				if resp, err := s.Send(context.Background(), Request{URL: srv.URL, DeliveryID: "d", Body: []byte("{}")}); err != nil || !resp.OK() {
					t.Fatalf("Send = %+v, %v", resp, err)
				}
			}
			send()
			send() // at once: the same connection
			if n := conns.Load(); n != 1 {
				t.Fatalf("%d connections for two attempts in a row; want the first reused", n)
			}
			time.Sleep(idleCheckAfter + 100*time.Millisecond)
			send()
			if n := conns.Load(); n != 2 {
				t.Fatalf("%d connections; want a new one after the endpoint closed the idle one", n)
			}
		})
	}
}

// TestSenderStopsWaitingWhenCancelled: a cancelled attempt returns at
// once, not at its timeout.
func TestSenderStopsWaitingWhenCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := NewSender(SenderOptions{Timeout: time.Minute}).Send(ctx, Request{URL: srv.URL, DeliveryID: "d", Body: []byte("{}")})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("Send cancelled after 50ms = %v after %s; want context.Canceled at once", err, time.Since(start))
	}
}

// TestSenderSnippet: an attempt keeps the start of the answer's body,
// however it is framed, and the connection serves the next attempt.
func TestSenderSnippet(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		chunked    bool
		want       string
	}{
		{name: "empty", body: "", want: ""},
		{name: "short", body: "  not here ", want: "not here"},
		{name: "short, chunked", body: "not here", chunked: true, want: "not here"},
		{name: "the snippet's length", body: strings.Repeat("x", snippetLimit), want: strings.Repeat("x", 200) + "…"},
		{name: "longer, chunked", body: strings.Repeat("y", 3*snippetLimit), chunked: true, want: strings.Repeat("y", 200) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if !tc.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(tc.body)))
				}
				w.WriteHeader(http.StatusNotFound)
				if tc.chunked {
					w.(http.Flusher).Flush() // the header out without a Content-Length: the body is chunked
				}
				_, _ = io.WriteString(w, tc.body)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			s := NewSender(SenderOptions{})
			for range 2 {
				resp, err := s.Send(context.Background(), Request{URL: srv.URL, DeliveryID: "d", Body: []byte("{}")})
				if err != nil || resp.Status != http.StatusNotFound || resp.Snippet != tc.want {
					t.Fatalf("Send = %+v, %v; want 404 with the snippet %q", resp, err, tc.want)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("two attempts took %d connections; want 1", n)
			}
		})
	}
}

// TestSenderLongAnswer: a 2xx with a body of 1 MiB is a success; the
// attempt keeps the start of it, and the next attempt goes through.
func TestSenderLongAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("ok ", 1<<20/3))
	}))
	defer srv.Close()
	s := NewSender(SenderOptions{})
	for range 2 {
		resp, err := s.Send(context.Background(), Request{URL: srv.URL, DeliveryID: "d", Body: []byte("{}")})
		if err != nil || !resp.OK() || !strings.HasPrefix(resp.Snippet, "ok ok") || len(resp.Snippet) > 205 {
			t.Fatalf("Send = %+v, %v; want 200 with the start of its body", resp, err)
		}
	}
}

// TestSenderEndpointClosedEveryPooledConnection: an endpoint that dropped
// all of its connections (a restart) while 20 sat idle in the pool still
// gets the next attempt: each stale one is found and closed, then a new
// one is dialed.
func TestSenderEndpointClosedEveryPooledConnection(t *testing.T) {
	const conns = 20
	var arrived sync.WaitGroup
	arrived.Add(conns)
	release := make(chan struct{})
	var hold atomic.Bool
	hold.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		if hold.Load() {
			arrived.Done()
			<-release
		}
	}))
	defer srv.Close()
	s := NewSender(SenderOptions{})
	send := func() error {
		resp, err := s.Send(context.Background(), Request{URL: srv.URL, DeliveryID: "d", Body: []byte("{}")})
		if err == nil && !resp.OK() {
			err = fmt.Errorf("status %d", resp.Status)
		}
		return err
	}
	errs := make(chan error, conns)
	for range conns { // all in flight at once: 20 connections
		go func() { errs <- send() }()
	}
	arrived.Wait()
	hold.Store(false)
	close(release)
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	srv.CloseClientConnections()
	time.Sleep(idleCheckAfter + 100*time.Millisecond)
	if err := send(); err != nil {
		t.Fatalf("Send after the endpoint closed all %d pooled connections: %v", conns, err)
	}
}
