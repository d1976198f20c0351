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

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// fakeInserter records inserted jobs, or fails.
type fakeInserter struct {
	mu   sync.Mutex
	jobs []river.InsertManyParams
	err  error
}

func (f *fakeInserter) InsertMany(_ context.Context, p []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.jobs = append(f.jobs, p...)
	out := make([]*rivertype.JobInsertResult, len(p))
	for i := range p {
		out[i] = &rivertype.JobInsertResult{Job: &rivertype.JobRow{ID: int64(len(f.jobs) - len(p) + i + 1)}}
	}
	return out, nil
}

func (f *fakeInserter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jobs)
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

func newTestHandler(t testing.TB, reg Registry, ins Inserter) *Handler {
	h := New(Options{Registry: reg, Inserter: ins, MaxAttempts: 8})
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
	for i, p := range ins.jobs {
		a := p.Args.(delivery.Args)
		if a.Payload != body || a.EndpointID != int64(i+1) || a.Event != "message_created" || a.DeliveryID != out.DeliveryIDs[i] || p.InsertOpts.MaxAttempts != 8 {
			t.Fatalf("job %d = %+v %+v", i, a, p.InsertOpts)
		}
	}
	// No subscriber: accepted, nothing stored.
	if w := post(h, "/v1/accounts/2/events", `{"event":"message_created"}`); w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"deliveries":0`) {
		t.Fatalf("account without subscribers: %d %s", w.Code, w.Body)
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

// TestIngestIdempotencyKey runs against River over SQLite: the uniqueness is
// the store's, not the handler's.
func TestIngestIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "q.db"), Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	workers := river.NewWorkers()
	river.AddWorker(workers, delivery.NewWorker(delivery.WorkerOptions{Limiter: delivery.NewLimiter(delivery.LimiterOptions{})}))
	client, err := st.NewClient(&river.Config{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, testRegistry(), client)
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
	if len(res.Jobs) != 4 {
		t.Fatalf("%d jobs stored, want 4 (2 endpoints × 2 distinct keys)", len(res.Jobs))
	}
}

// TestIngestPlainAndIdempotentPostsTogether: concurrent posts with and
// without an Idempotency-Key share the batcher; the plain ones take River's
// InsertManyFast, the keyed ones InsertMany; every delivery is stored once
// and OnQueued counts what was committed.
func TestIngestPlainAndIdempotentPostsTogether(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "q.db"), Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client, err := st.NewClient(&river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := client.(FastInserter); !ok {
		t.Fatal("a River client should offer InsertManyFast")
	}
	var queued atomic.Int64
	h := New(Options{Registry: testRegistry(), Inserter: client, MaxAttempts: 8, OnQueued: func(n int) { queued.Add(int64(n)) }})
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
	slow := &slowInserter{fakeInserter: &fakeInserter{}, delay: 20 * time.Millisecond}
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

type slowInserter struct {
	*fakeInserter
	delay time.Duration
	calls int
}

func (s *slowInserter) InsertMany(ctx context.Context, p []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	s.calls++ // only the batcher goroutine calls
	time.Sleep(s.delay)
	return s.fakeInserter.InsertMany(ctx, p)
}

func TestIngestCloseRefusesLater(t *testing.T) {
	h := New(Options{Registry: testRegistry(), Inserter: &fakeInserter{}})
	h.Close()
	if w := post(h, "/v1/accounts/1/events", `{"event":"message_created"}`); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %d", w.Code)
	}
}

// slowFastInserter is a slow FastInserter.
type slowFastInserter struct{ slowInserter }

func (s *slowFastInserter) InsertManyFast(ctx context.Context, p []river.InsertManyParams) (int, error) {
	_, err := s.InsertMany(ctx, p)
	return len(p), err
}

// TestIngestCoalescesConcurrentPostsIntoBatches: the deliveries of posts
// committed together travel to each endpoint in batches of at most
// BatchSize, each delivery in exactly one job.
func TestIngestCoalescesConcurrentPostsIntoBatches(t *testing.T) {
	slow := &slowFastInserter{slowInserter{fakeInserter: &fakeInserter{}, delay: 20 * time.Millisecond}}
	h := New(Options{Registry: testRegistry(), Inserter: slow, MaxAttempts: 8, BatchSize: 4})
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
	stored, batches := map[string]int{}, 0
	for _, p := range slow.jobs {
		switch a := p.Args.(type) {
		case delivery.Args:
			stored[a.DeliveryID]++
		case delivery.BatchArgs:
			batches++
			if len(a.Items) < 2 || len(a.Items) > 4 {
				t.Fatalf("a batch of %d deliveries; want 2 to 4", len(a.Items))
			}
			for _, it := range a.Items {
				stored[it.DeliveryID]++
			}
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
