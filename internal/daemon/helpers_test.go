package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
)

// fakeChatwoot is an in-memory endpoints.Lister.
type fakeChatwoot struct {
	mu    sync.Mutex
	hooks map[int64][]chatwoot.Webhook
}

func newFakeChatwoot() *fakeChatwoot { return &fakeChatwoot{hooks: map[int64][]chatwoot.Webhook{}} }

func (f *fakeChatwoot) set(account int64, hooks ...chatwoot.Webhook) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks[account] = hooks
}

func (f *fakeChatwoot) ListWebhooks(_ context.Context, account int64) ([]chatwoot.Webhook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chatwoot.Webhook(nil), f.hooks[account]...), nil
}

func (f *fakeChatwoot) Profile(context.Context) (chatwoot.Profile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := chatwoot.Profile{ID: 1}
	for id := range f.hooks {
		p.Accounts = append(p.Accounts, chatwoot.AccountProfile{ID: id, Role: chatwoot.RoleAdministrator})
	}
	return p, nil
}

// relayed is the url Chatwoot holds for a webhook of account that goes
// through the relay to dest.
func relayed(account int64, dest string) string {
	return chatwoot.RelayAddress{Base: "http://relay.invalid", AccountID: account, Destination: dest}.String()
}

// receiver is a webhook endpoint that verifies every delivery and records
// it under its X-Chatwoot-Delivery id.
type receiver struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	secret  string
	got     map[string][]byte    // delivery id -> body
	times   map[string]time.Time // delivery id -> first arrival
	ids     []string             // delivery id of every verified request, in order
	hits    int
	bad     int
	arrived chan string
	answer  func(n int) int // status for the n-th request (1-based); default 200
}

func newReceiver(t testing.TB, secret string) *receiver {
	r := &receiver{t: t, secret: secret, got: map[string][]byte{}, times: map[string]time.Time{}, arrived: make(chan string, 1<<20)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get(chatwoot.HeaderDelivery)
	r.mu.Lock()
	err := chatwoot.Verify(r.secret, req.Header, body, 5*time.Minute, time.Now())
	r.hits++
	n := r.hits
	if err != nil || id == "" {
		r.bad++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.ids = append(r.ids, id)
	status := http.StatusOK
	if r.answer != nil {
		status = r.answer(n)
	}
	first := false
	if status/100 == 2 {
		if _, dup := r.got[id]; !dup {
			r.got[id] = body
			r.times[id] = time.Now()
			first = true
		}
	}
	r.mu.Unlock()
	w.WriteHeader(status)
	if first {
		r.arrived <- id
	}
}

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

func (r *receiver) setAnswer(f func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

// stats returns the verified requests, the distinct deliveries acknowledged
// with a 2xx, and the requests whose signature did not verify.
func (r *receiver) stats() (hits int, delivered int, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids), len(r.got), r.bad
}

func (r *receiver) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.got[id]
	return ok
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// startDaemon runs the daemon in-process on a temporary store and returns
// its ingest base URL once it is ready.
func startDaemon(t testing.TB, cw *fakeChatwoot, mutate func(*Config)) string {
	t.Helper()
	return startDaemonLogs(t, cw, testWriter{t}, mutate)
}

// startDaemonLogs is startDaemon with the logs written to logs.
func startDaemonLogs(t testing.TB, cw *fakeChatwoot, logs io.Writer, mutate func(*Config)) string {
	t.Helper()
	sched, _ := delivery.ParseSchedule("100ms,100ms,100ms")
	cfg := Config{
		Listen:              "127.0.0.1:0",
		ChatwootURL:         "http://chatwoot.invalid",
		Token:               "t",
		ReconcileInterval:   100 * time.Millisecond,
		Store:               "sqlite:" + filepath.Join(t.TempDir(), "d.db"),
		SQLiteSynchronous:   "normal",
		Retention:           time.Hour,
		Timeout:             2 * time.Second,
		Schedule:            sched,
		AllowCIDRs:          []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		EndpointConcurrency: 16,
		Workers:             1000,
		ShutdownTimeout:     10 * time.Second,
		LogFormat:           "text",
		LogLevel:            "warn",
		FetchCooldown:       5 * time.Millisecond,
		FetchPollInterval:   25 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrC := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Hooks{Lister: cw, LogOutput: logs, Listening: func(a net.Addr) { addrC <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var base string
	select {
	case a := <-addrC:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("Run ended early: %v", err)
	}
	waitReady(t, base)
	return base
}

func waitReady(t testing.TB, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", base)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
