package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

const relayDest = "https://bot.example/hook?token=t"

func relayHook(id int64, dest string) chatwoot.Webhook {
	return chatwoot.Webhook{ID: id, URL: chatwoot.RelayAddress{Base: "https://relay.example", AccountID: 1, Destination: dest}.String(),
		Subscriptions: []string{"message_created"}, Secret: "secret-" + strconv.FormatInt(id, 10)}
}

// relayFixture is a relay handler over River on SQLite (the uniqueness of
// delivery ids is the store's) with a registry the test fills.
type relayFixture struct {
	h        *Handler
	reg      *endpoints.Registry
	client   store.Client
	st       *store.Store
	mu       sync.Mutex
	outcomes []string
	upstream []chatwoot.Webhook // what a Refresh finds
	now      time.Time
}

func newRelayFixture(t *testing.T) *relayFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "q.db"), Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	client, err := st.NewClient(&river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := &relayFixture{reg: endpoints.NewRegistry(), client: client, st: st, now: time.Now()}
	f.upstream = []chatwoot.Webhook{relayHook(1, relayDest), {ID: 2, URL: "https://direct.example/h", Subscriptions: []string{"message_created"}, Secret: "d"}}
	f.reg.ReplaceRelayed(1, f.upstream, nil)
	f.reg.MarkReady()
	f.h = New(Options{Registry: f.reg, Queue: storeQueue{st, client, 1}, MaxAttempts: 8, Relay: RelayOptions{
		Endpoints: f.reg,
		Refresh: func(_ context.Context, account int64) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.reg.ReplaceRelayed(account, f.upstream, nil)
			return nil
		},
		Now: func() time.Time { return f.now },
		OnOutcome: func(o string) {
			f.mu.Lock()
			f.outcomes = append(f.outcomes, o)
			f.mu.Unlock()
		},
	}})
	t.Cleanup(f.h.Close)
	return f
}

// post sends what Chatwoot would: body signed with secret at ts.
func (f *relayFixture) post(dest, body, secret, deliveryID string, ts time.Time) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/accounts/1/relay?to="+url.QueryEscape(dest), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if deliveryID != "" {
		req.Header.Set(chatwoot.HeaderDelivery, deliveryID)
	}
	if secret != "" {
		chatwoot.SignatureHeaders(req.Header, secret, ts, []byte(body))
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

func (f *relayFixture) jobs(t *testing.T) []*rivertype.JobRow {
	t.Helper()
	res, err := f.client.JobList(context.Background(), river.NewJobListParams().Kinds(delivery.Kind).First(100))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

func (f *relayFixture) lastOutcome() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.outcomes) == 0 {
		return ""
	}
	return f.outcomes[len(f.outcomes)-1]
}

func TestRelayStoresOneDeliveryUnderChatwootsID(t *testing.T) {
	f := newRelayFixture(t)
	body := `{"event":"message_created","id":5,"content":"hi"}`
	const id = "0b8f1e7a-1111-4c2d-9e3f-000000000001"

	w := f.post(relayDest, body, "secret-1", id, f.now)
	var out Relayed
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.DeliveryID != id || out.Duplicate {
		t.Fatalf("relay answered %d %s; want 200 with Chatwoot's delivery id", w.Code, w.Body)
	}
	jobs := f.jobs(t)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs, want 1", len(jobs))
	}
	var args delivery.Args
	if err := json.Unmarshal(jobs[0].EncodedArgs, &args); err != nil {
		t.Fatal(err)
	}
	ds, err := f.st.ForAttempt(context.Background(), []int64{args.ID})
	if err != nil || len(ds) != 1 {
		t.Fatalf("the job's delivery: %+v %v", ds, err)
	}
	if d := ds[0]; d.UUID != id || d.WebhookID != 1 || d.Event != "message_created" || string(d.Payload) != body {
		t.Fatalf("stored %+v", d)
	}

	// Chatwoot (or anyone) repeating the delivery adds nothing.
	w = f.post(relayDest, body, "secret-1", id, f.now)
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil || !out.Duplicate || f.lastOutcome() != RelayDuplicate {
		t.Fatalf("repeat answered %d %s (%s); want 200 duplicate", w.Code, w.Body, f.lastOutcome())
	}
	if n := len(f.jobs(t)); n != 1 {
		t.Fatalf("%d jobs after a repeated delivery id, want 1", n)
	}
}

func TestRelayRefusals(t *testing.T) {
	body := `{"event":"message_created","id":5}`
	for _, tc := range []struct {
		name    string
		dest    string
		secret  string
		ts      time.Duration // from now
		body    string
		status  int
		outcome string
	}{
		{"unsigned", relayDest, "", 0, body, 401, RelayBadSignature},
		{"wrong secret", relayDest, "secret-2", 0, body, 401, RelayBadSignature},
		{"another webhook's secret", relayDest, "d", 0, body, 401, RelayBadSignature},
		{"stale", relayDest, "secret-1", -6 * time.Minute, body, 401, RelayStale},
		{"from the future", relayDest, "secret-1", 6 * time.Minute, body, 401, RelayStale},
		{"unknown destination", "https://nobody.example/h", "secret-1", 0, body, 404, RelayUnknownWebhook},
		{"a direct webhook's url", "https://direct.example/h", "d", 0, body, 404, RelayUnknownWebhook},
		{"no event", relayDest, "secret-1", 0, `{"id":5}`, 400, RelayBadRequest},
		{"not JSON", relayDest, "secret-1", 0, `{"event":`, 400, RelayBadRequest},
		{"too large", relayDest, "secret-1", 0, `{"event":"message_created","x":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, RelayTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRelayFixture(t)
			w := f.post(tc.dest, tc.body, tc.secret, "id-1", f.now.Add(tc.ts))
			if w.Code != tc.status || f.lastOutcome() != tc.outcome {
				t.Fatalf("answered %d %s (outcome %q); want %d (%s)", w.Code, w.Body, f.lastOutcome(), tc.status, tc.outcome)
			}
			if n := len(f.jobs(t)); n != 0 {
				t.Fatalf("a refused relay request queued %d deliveries", n)
			}
		})
	}
}

// TestRelayFindsAWebhookCreatedJustNow: a miss lists the account at once,
// so the first event of a new webhook is not lost.
func TestRelayFindsAWebhookCreatedJustNow(t *testing.T) {
	f := newRelayFixture(t)
	const fresh = "https://fresh.example/h"
	f.mu.Lock()
	f.upstream = append(f.upstream, relayHook(3, fresh))
	f.mu.Unlock()
	w := f.post(fresh, `{"event":"message_created"}`, "secret-3", "id-fresh", f.now)
	if w.Code != http.StatusOK {
		t.Fatalf("relay answered %d %s; want 200 after the fresh reconcile", w.Code, w.Body)
	}
	if n := len(f.jobs(t)); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
}

func TestRelayStoreFailureIs503(t *testing.T) {
	reg := endpoints.NewRegistry()
	reg.ReplaceRelayed(1, []chatwoot.Webhook{relayHook(1, relayDest)}, nil)
	reg.MarkReady()
	h := New(Options{Registry: reg, Queue: &fakeInserter{err: errors.New("disk full")}, Relay: RelayOptions{Endpoints: reg}})
	defer h.Close()
	body := `{"event":"message_created"}`
	req := httptest.NewRequest(http.MethodPost, "/v1/accounts/1/relay?to="+url.QueryEscape(relayDest), strings.NewReader(body))
	chatwoot.SignatureHeaders(req.Header, "secret-1", time.Now(), []byte(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("answered %d %s, want 503", w.Code, w.Body)
	}
}

// TestEventsFanOutToRelayedWebhooksOnly: ingest never delivers to a
// webhook Chatwoot delivers to itself.
func TestEventsFanOutToRelayedWebhooksOnly(t *testing.T) {
	f := newRelayFixture(t)
	w := post(f.h, "/v1/accounts/1/events", `{"event":"message_created"}`)
	var out Accepted
	if w.Code != http.StatusAccepted || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.Deliveries != 1 {
		t.Fatalf("ingest answered %d %s; want 1 delivery (the relayed webhook, not the direct one)", w.Code, w.Body)
	}
}

// TestReadinessCoversTheStore: /readyz answers 503 while the store's check
// fails and while its last commit failed (for failedFor), 200 otherwise.
func TestReadinessCoversTheStore(t *testing.T) {
	now := time.Unix(1000, 0)
	var down error
	checks := 0
	health := NewStoreHealth(func(context.Context) error { checks++; return down })
	health.now = func() time.Time { return now }
	reg := testRegistry()
	ins := &fakeInserter{}
	h := New(Options{Registry: reg, Queue: ins, Store: health})
	defer h.Close()
	ready := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return w.Code
	}
	if c := ready(); c != 200 {
		t.Fatalf("readyz %d with a healthy store", c)
	}
	down = errors.New("connection refused")
	if c := ready(); c != 200 || checks != 1 {
		t.Fatalf("readyz %d after %d checks: the check is cached for a second", c, checks)
	}
	now = now.Add(time.Second)
	if c := ready(); c != 503 {
		t.Fatalf("readyz %d with the store down; want 503", c)
	}
	down = nil
	now = now.Add(time.Second)
	ins.err = errors.New("disk full")
	if w := post(h, "/v1/accounts/1/events", `{"event":"message_created"}`); w.Code != 503 {
		t.Fatalf("ingest %d with the store refusing writes", w.Code)
	}
	if c := ready(); c != 503 {
		t.Fatalf("readyz %d right after a failed commit (pings answer); want 503", c)
	}
	now = now.Add(6 * time.Second)
	if c := ready(); c != 200 {
		t.Fatalf("readyz %d once the failed commit is old and the check passes; want 200 (else no traffic could prove it recovered)", c)
	}
	if up := health.Up(context.Background()); up != 1 {
		t.Fatalf("Up = %v", up)
	}
}

// TestRepeatedFailuresAreLoggedOncePerInterval: a store outage refuses
// every post; the log gets one line per interval with the count of the
// others, not one line per post.
func TestRepeatedFailuresAreLoggedOncePerInterval(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	log := hclog.New(&hclog.LoggerOptions{Output: writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })})
	h := New(Options{Registry: testRegistry(), Queue: &fakeInserter{err: errors.New("database is locked")}, Logger: log, LogEvery: time.Hour})
	defer h.Close()
	for range 200 {
		if w := post(h, "/v1/accounts/1/events", `{"event":"message_created"}`); w.Code != 503 {
			t.Fatalf("ingest %d with the store failing", w.Code)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "storing deliveries failed"); n != 1 {
		t.Fatalf("%d log lines for 200 refused posts within one interval, want 1:\n%s", n, logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
