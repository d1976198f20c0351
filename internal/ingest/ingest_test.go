package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// fakeInserter is a Queue that keeps what it is given, telling duplicate
// delivery ids as the store does, or fails.
type fakeInserter struct {
	mu     sync.Mutex
	events []store.NewEvent
	seen   map[string]bool
	stored int
	err    error
	delay  time.Duration
	calls  int
}

func (f *fakeInserter) Enqueue(_ context.Context, evs []store.NewEvent) ([]store.Queued, error) {
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	var out []store.Queued
	for _, ev := range evs {
		f.events = append(f.events, ev)
		for _, d := range ev.Deliveries {
			q := store.Queued{UUID: d.UUID, AccountID: ev.AccountID, WebhookID: d.WebhookID, MaxAttempts: d.MaxAttempts, Duplicate: f.seen[d.UUID]}
			if !q.Duplicate {
				f.stored++
				f.seen[d.UUID] = true
				q.ID = int64(f.stored)
			}
			out = append(out, q)
		}
	}
	return out, nil
}

// count is how many deliveries were stored.
func (f *fakeInserter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stored
}

// storeQueue is the daemon's Queue: the store, with River's jobs built by
// delivery.JobsFor.
type storeQueue struct {
	st        *store.Store
	c         store.Client
	batchSize int
}

func (q storeQueue) Enqueue(ctx context.Context, evs []store.NewEvent) ([]store.Queued, error) {
	return q.st.Enqueue(ctx, q.c, evs, func(qs []store.Queued) []river.InsertManyParams { return delivery.JobsFor(qs, q.batchSize) })
}

// newStoreQueue opens a SQLite store with an insert-only River client.
func newStoreQueue(t testing.TB, batchSize int) storeQueue {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "q.db"), Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c, err := st.NewClient(&river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return storeQueue{st, c, batchSize}
}

func testRegistry() *endpoints.Registry {
	reg := endpoints.NewRegistry()
	reg.Replace(1, []chatwoot.Webhook{
		{ID: 1, URL: "https://a.example/h", Subscriptions: []string{"message_created"}, Secret: "a"},
		{ID: 2, URL: "https://b.example/h", Subscriptions: []string{"message_created", "conversation_created"}, Secret: "b"},
		{ID: 3, URL: "https://c.example/h", Subscriptions: []string{"contact_created"}, Secret: "c"},
	})
	reg.Replace(2, nil)
	reg.MarkReady()
	return reg
}

func newTestHandler(t testing.TB, reg Registry, q Queue) *Handler {
	h := New(Options{Registry: reg, Queue: q, MaxAttempts: 8})
	t.Cleanup(h.Close)
	return h
}

func post(h http.Handler, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestIngestFansOutToSubscribers(t *testing.T) {
	ins := &fakeInserter{}
	h := newTestHandler(t, testRegistry(), ins)
	body := `{"event":"message_created","id":5,"content":"<hi> & \u00e9"}`
	w := post(h, "/v1/accounts/1/events", body)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	var out Accepted
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Deliveries != 2 || len(out.DeliveryIDs) != 2 {
		t.Fatalf("answer %s", w.Body)
	}
	// One event, its payload as posted, a delivery per subscriber.
	if len(ins.events) != 1 || string(ins.events[0].Payload) != body || ins.events[0].Event != "message_created" || len(ins.events[0].Deliveries) != 2 {
		t.Fatalf("events %+v", ins.events)
	}
	for i, d := range ins.events[0].Deliveries {
		if d.WebhookID != int64(i+1) || d.UUID != out.DeliveryIDs[i] || d.MaxAttempts != 8 {
			t.Fatalf("delivery %d = %+v", i, d)
		}
	}
	// No subscriber: accepted, nothing stored.
	if w := post(h, "/v1/accounts/2/events", `{"event":"message_created"}`); w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"deliveries":0`) {
		t.Fatalf("account without subscribers: %d %s", w.Code, w.Body)
	}
}

// TestIngestDeliveryIDsAreTimeOrdered: a fresh delivery id is a UUIDv7,
// so ids made later sort after earlier ones (within a millisecond too)
// and the store's unique index on them grows at its end.
func TestIngestDeliveryIDsAreTimeOrdered(t *testing.T) {
	ins := &fakeInserter{}
	h := newTestHandler(t, testRegistry(), ins)
	var ids []string
	for range 3 {
		w := post(h, "/v1/accounts/1/events", `{"event":"message_created"}`)
		var out Accepted
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.DeliveryIDs) != 2 {
			t.Fatalf("answer %d %s", w.Code, w.Body)
		}
		ids = append(ids, out.DeliveryIDs...)
	}
	for i, id := range ids {
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 {
			t.Fatalf("delivery id %q: version %v, %v; want a UUIDv7", id, u.Version(), err)
		}
		if i > 0 && id <= ids[i-1] {
			t.Fatalf("delivery ids out of order: %q after %q", id, ids[i-1])
		}
	}
}

func TestIngestBadInputsQueueNothing(t *testing.T) {
	big := `{"event":"message_created","pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	tests := []struct {
		name   string
		path   string
		body   string
		header []string
		want   int
	}{
		{"malformed JSON", "/v1/accounts/1/events", `{"event":`, nil, 400},
		{"trailing garbage", "/v1/accounts/1/events", `{"event":"message_created"} {}`, nil, 400},
		{"not an object", "/v1/accounts/1/events", `["message_created"]`, nil, 400},
		{"a string", "/v1/accounts/1/events", `"message_created"`, nil, 400},
		{"no event", "/v1/accounts/1/events", `{"id":1}`, nil, 400},
		{"event wrong case", "/v1/accounts/1/events", `{"EVENT":"message_created"}`, nil, 400},
		{"empty event", "/v1/accounts/1/events", `{"event":""}`, nil, 400},
		{"event not a string", "/v1/accounts/1/events", `{"event":42}`, nil, 400},
		{"null event", "/v1/accounts/1/events", `{"event":null}`, nil, 400},
		{"empty body", "/v1/accounts/1/events", ``, nil, 400},
		{"not UTF-8", "/v1/accounts/1/events", "{\"event\":\"message_created\",\"c\":\"\xff\"}", nil, 400},
		{"too large", "/v1/accounts/1/events", big, nil, 413},
		{"account not reconciled", "/v1/accounts/99/events", `{"event":"message_created"}`, nil, 404},
		{"account not a number", "/v1/accounts/abc/events", `{"event":"message_created"}`, nil, 400},
		{"account zero", "/v1/accounts/0/events", `{"event":"message_created"}`, nil, 400},
		{"bad idempotency key", "/v1/accounts/1/events", `{"event":"message_created"}`, []string{"Idempotency-Key", "a b"}, 400},
		{"long idempotency key", "/v1/accounts/1/events", `{"event":"message_created"}`, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ins := &fakeInserter{}
			w := post(newTestHandler(t, testRegistry(), ins), tt.path, tt.body, tt.header...)
			if w.Code != tt.want {
				t.Fatalf("status %d %s, want %d", w.Code, w.Body, tt.want)
			}
			var e struct{ Error string }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("error body %q is not {\"error\": ...}", w.Body)
			}
			if ins.count() != 0 {
				t.Fatalf("%d jobs queued on a %d", ins.count(), w.Code)
			}
		})
	}
}

func TestIngestTooLargeWithoutContentLength(t *testing.T) {
	ins := &fakeInserter{}
	h := newTestHandler(t, testRegistry(), ins)
	body := `{"event":"message_created","pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	req := httptest.NewRequest(http.MethodPost, "/v1/accounts/1/events", struct{ *strings.Reader }{strings.NewReader(body)})
	req.ContentLength = -1
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge || ins.count() != 0 {
		t.Fatalf("chunked oversize body: %d, %d jobs", w.Code, ins.count())
	}
}

func TestIngestStoreFailureQueuesNothing(t *testing.T) {
	ins := &fakeInserter{err: errors.New("disk I/O error")}
	w := post(newTestHandler(t, testRegistry(), ins), "/v1/accounts/1/events", `{"event":"message_created"}`)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || ins.count() != 0 {
		t.Fatalf("store failure: %d %s", w.Code, w.Body)
	}
}

func TestIngestNotReady(t *testing.T) {
	reg := endpoints.NewRegistry()
	h := newTestHandler(t, reg, &fakeInserter{})
	if w := post(h, "/v1/accounts/1/events", `{"event":"message_created"}`); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("before the first reconcile: %d", w.Code)
	}
	get := func(path string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Code
	}
	if get("/healthz") != 200 || get("/readyz") != 503 {
		t.Fatal("healthz must be 200 and readyz 503 before the first reconcile")
	}
	reg.MarkReady()
	if get("/readyz") != 200 {
		t.Fatal("readyz not 200 after the first reconcile")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/accounts/1/events", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET events: %d", w.Code)
	}
}

// TestIngestIdempotencyKey runs against the SQLite store: the uniqueness is
// the store's (the delivery id's unique index), not the handler's.
func TestIngestIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	q := newStoreQueue(t, 1)
	client := q.c
	h := newTestHandler(t, testRegistry(), q)
	body := `{"event":"message_created","id":9}`

	first := post(h, "/v1/accounts/1/events", body, "Idempotency-Key", "evt-9")
	again := post(h, "/v1/accounts/1/events", body, "Idempotency-Key", "evt-9")
	other := post(h, "/v1/accounts/1/events", body, "Idempotency-Key", "evt-10")
	var a1, a2, a3 Accepted
	for _, x := range []struct {
		w   *httptest.ResponseRecorder
		out *Accepted
	}{{first, &a1}, {again, &a2}, {other, &a3}} {
		if x.w.Code != http.StatusAccepted || json.Unmarshal(x.w.Body.Bytes(), x.out) != nil {
			t.Fatalf("post: %d %s", x.w.Code, x.w.Body)
		}
	}
	if a1.Duplicate || !a2.Duplicate || a3.Duplicate {
		t.Fatalf("duplicate flags %v %v %v, want false true false", a1.Duplicate, a2.Duplicate, a3.Duplicate)
	}
	if strings.Join(a1.DeliveryIDs, ",") != strings.Join(a2.DeliveryIDs, ",") {
		t.Fatalf("repeated post got new delivery ids %v vs %v", a2.DeliveryIDs, a1.DeliveryIDs)
	}
	res, err := client.JobList(ctx, river.NewJobListParams().Kinds(delivery.Kind).First(100))
	if err != nil {
		t.Fatal(err)
	}
	if ev, ds, _, err := q.st.RecordCounts(ctx); err != nil || len(res.Jobs) != 4 || ds != 4 || ev != 2 {
		t.Fatalf("%d jobs, %d deliveries, %d events stored, want 4, 4, 2 (2 endpoints × 2 distinct keys)", len(res.Jobs), ds, ev)
	}
}

// TestIngestPlainAndIdempotentPostsTogether: concurrent posts with and
// without an Idempotency-Key share the batcher and its transactions; every
// delivery is stored once and OnQueued counts what was committed.
func TestIngestPlainAndIdempotentPostsTogether(t *testing.T) {
	ctx := context.Background()
	q := newStoreQueue(t, 1)
	client := q.c
	var queued atomic.Int64
	h := New(Options{Registry: testRegistry(), Queue: q, MaxAttempts: 8, OnQueued: func(n int) { queued.Add(int64(n)) }})
	t.Cleanup(h.Close)
	var wg sync.WaitGroup
	codes := make([]int, 60)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var hdr []string
			if i%3 == 0 {
				hdr = []string{"Idempotency-Key", fmt.Sprintf("k-%d", i%6)} // k-0 and k-3 repeat
			}
			codes[i] = post(h, "/v1/accounts/1/events", `{"event":"message_created"}`, hdr...).Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusAccepted {
			t.Fatalf("post %d answered %d", i, c)
		}
	}
	res, err := client.JobList(ctx, river.NewJobListParams().Kinds(delivery.Kind).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	// 40 plain posts and 2 distinct keys, 2 endpoints each.
	if len(res.Jobs) != 84 || queued.Load() != 84 {
		t.Fatalf("%d jobs stored, OnQueued counted %d; want 84 and 84", len(res.Jobs), queued.Load())
	}
}

// TestIngestBatchesConcurrentPosts checks that concurrent posts share
// transactions and each gets its own deliveries back.
func TestIngestBatchesConcurrentPosts(t *testing.T) {
	slow := &fakeInserter{delay: 20 * time.Millisecond}
	h := newTestHandler(t, testRegistry(), slow)
	var wg sync.WaitGroup
	ids := make([][]string, 50)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := post(h, "/v1/accounts/1/events", `{"event":"message_created"}`)
			var out Accepted
			_ = json.Unmarshal(w.Body.Bytes(), &out)
			ids[i] = out.DeliveryIDs
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, l := range ids {
		if len(l) != 2 {
			t.Fatalf("a post got %v", l)
		}
		for _, id := range l {
			if seen[id] {
				t.Fatalf("delivery id %s handed out twice", id)
			}
			seen[id] = true
		}
	}
	if slow.calls >= 50 {
		t.Fatalf("%d transactions for 50 concurrent posts; want them batched", slow.calls)
	}
	if slow.count() != 100 {
		t.Fatalf("%d jobs stored, want 100", slow.count())
	}
}

func TestIngestCloseRefusesLater(t *testing.T) {
	h := New(Options{Registry: testRegistry(), Queue: &fakeInserter{}})
	h.Close()
	if w := post(h, "/v1/accounts/1/events", `{"event":"message_created"}`); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %d", w.Code)
	}
}

// TestIngestCoalescesConcurrentPostsIntoBatches: the deliveries of posts
// committed together travel to each endpoint in batches of at most
// BatchSize, each delivery in exactly one job.
func TestIngestCoalescesConcurrentPostsIntoBatches(t *testing.T) {
	q := newStoreQueue(t, 4)
	h := New(Options{Registry: testRegistry(), Queue: q, MaxAttempts: 8})
	t.Cleanup(h.Close)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[string]bool{}
	)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out Accepted
			if w := post(h, "/v1/accounts/1/events", `{"event":"message_created"}`); w.Code != http.StatusAccepted || json.Unmarshal(w.Body.Bytes(), &out) != nil {
				t.Errorf("post: %d %s", w.Code, w.Body)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range out.DeliveryIDs {
				ids[id] = true
			}
		}()
	}
	wg.Wait()
	ctx := context.Background()
	uuidOf := map[int64]string{}
	ds, err := q.st.ListDeliveries(ctx, store.DeliveryFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		uuidOf[d.ID] = d.UUID
	}
	res, err := q.c.JobList(ctx, river.NewJobListParams().Kinds(delivery.Kinds...).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	stored, batches := map[string]int{}, 0
	for _, j := range res.Jobs {
		var a struct {
			ID  int64           `json:"id"`
			IDs delivery.IDList `json:"ids"`
		}
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		if j.Kind == delivery.BatchKind {
			batches++
			if len(a.IDs) < 2 || len(a.IDs) > 4 {
				t.Fatalf("a batch of %d deliveries; want 2 to 4", len(a.IDs))
			}
		} else {
			a.IDs = []int64{a.ID}
		}
		for _, id := range a.IDs {
			stored[uuidOf[id]]++
		}
	}
	if batches == 0 || len(ids) != 100 || len(stored) != 100 {
		t.Fatalf("%d batches, %d delivery ids answered, %d stored; want batches and 100 of each", batches, len(ids), len(stored))
	}
	for id, n := range stored {
		if n != 1 || !ids[id] {
			t.Fatalf("delivery %s stored %d times (answered: %v)", id, n, ids[id])
		}
	}
}
