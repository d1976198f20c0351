package delivery

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// endpointServer answers each request with the next status of a script
// (the last one repeats; 0 hangs up without an answer) and records what
// it got, and when.
type endpointServer struct {
	*httptest.Server
	mu      sync.Mutex
	script  []int
	headers map[string]string // extra response headers
	got     []*http.Request
	at      []time.Time
	bodies  [][]byte
}

func newEndpointServer(t *testing.T, script ...int) *endpointServer {
	s := &endpointServer{script: script, headers: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, r)
		s.at = append(s.at, time.Now())
		s.bodies = append(s.bodies, body)
		status := s.script[min(len(s.got), len(s.script))-1]
		for k, v := range s.headers {
			w.Header().Set(k, v)
		}
		s.mu.Unlock()
		if status == 0 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "https://elsewhere.example/")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

// firstAt is when the first request of delivery id came.
func (s *endpointServer) firstAt(id string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.got {
		if r.Header.Get(chatwoot.HeaderDelivery) == id {
			return s.at[i]
		}
	}
	return time.Time{}
}

func (s *endpointServer) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.got...)
}

type workerFixture struct {
	records  *fakeRecords
	reg      *endpoints.Registry
	worker   *Worker
	limiter  *Limiter
	disabled []endpoints.Endpoint
}

func newWorkerFixture(t *testing.T, url string) *workerFixture {
	f := &workerFixture{records: newFakeRecords(), reg: endpoints.NewRegistry(), limiter: NewLimiter(LimiterOptions{PerEndpoint: 2})}
	f.reg.Replace(1, []chatwoot.Webhook{{ID: 7, URL: url, Subscriptions: []string{"message_created"}, Secret: "s1"}})
	f.worker = NewWorker(WorkerOptions{
		Records:    f.records,
		Endpoints:  f.reg,
		Sender:     NewSender(SenderOptions{Timeout: time.Second}),
		Limiter:    f.limiter,
		Schedule:   testSchedule,
		OnDisabled: func(_ context.Context, ep endpoints.Endpoint) { f.disabled = append(f.disabled, ep) },
	})
	return f
}

// testSchedule has 1h10m1s of retries left after the first failure.
var testSchedule = Schedule{time.Second, 10 * time.Minute, time.Hour}

// newJob is the job of a new delivery at its attempt-th attempt.
func (f *workerFixture) newJob(attempt int) *river.Job[Args] {
	return f.jobFor(f.records.add("message_created", attempt-1, 4).ID, attempt)
}

// jobFor is the job of stored delivery id at River's attempt-th attempt.
func (f *workerFixture) jobFor(id int64, attempt int) *river.Job[Args] {
	return &river.Job[Args]{
		JobRow: &rivertype.JobRow{ID: 100 + id, Attempt: attempt, MaxAttempts: 4, Metadata: []byte(`{}`), Tags: []string{EndpointTag(endpoints.Key{AccountID: 1, ID: 7})}},
		Args:   Args{ID: id},
	}
}

func TestWorkerOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantErr    bool // retried on the schedule (or Retry-After)
		wantCancel bool
		wantText   string
		wantRetry  time.Duration // from Retry-After; 0 = the schedule decides
		wantDisabl bool
		attempt    int // the attempt that fails; default 1
	}{
		{name: "200 delivered", status: 200},
		{name: "204 delivered", status: 204},
		{name: "500 retried", status: 500, wantErr: true, wantText: "answered 500"},
		{name: "302 is a failure", status: 302, wantErr: true, wantText: "never follow redirects"},
		{name: "404 retried", status: 404, wantErr: true},
		{name: "410 cancels and disables", status: 410, wantCancel: true, wantDisabl: true},
		{name: "429 honours Retry-After", status: 429, retryAfter: "3", wantErr: true, wantRetry: 3 * time.Second},
		{name: "503 honours Retry-After", status: 503, retryAfter: "120", wantErr: true, wantRetry: 2 * time.Minute},
		{name: "429 without Retry-After", status: 429, wantErr: true},
		{name: "Retry-After 0 waits a second", status: 429, retryAfter: "0", wantErr: true, wantRetry: time.Second},
		// Retry-After never brings an attempt forward: at least the schedule's 10m (±20%) after a second failure.
		{name: "Retry-After shorter than the schedule", status: 503, retryAfter: "1", attempt: 2, wantErr: true, wantRetry: 10 * time.Minute},
		// Nor postpones it past the schedule's end: capped at what is left (1h10m1s), saying so.
		{name: "Retry-After past the schedule's end", status: 503, retryAfter: "86400", wantErr: true, wantText: "past the 1h10m1s the retry schedule has left", wantRetry: time.Hour + 10*time.Minute + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newEndpointServer(t, tt.status)
			if tt.retryAfter != "" {
				srv.headers["Retry-After"] = tt.retryAfter
			}
			f := newWorkerFixture(t, srv.URL)
			job := f.newJob(max(tt.attempt, 1))
			err := f.worker.Work(context.Background(), job)
			var cancel *river.JobCancelError
			switch {
			case tt.wantCancel:
				if !errors.As(err, &cancel) {
					t.Fatalf("Work = %v, want JobCancel", err)
				}
			case tt.wantErr:
				if err == nil || errors.As(err, &cancel) || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("Work = %v, want a retryable error containing %q", err, tt.wantText)
				}
			default:
				if err != nil {
					t.Fatalf("Work = %v, want success", err)
				}
			}
			next := f.worker.NextRetry(job)
			if tt.wantErr && tt.wantRetry == 0 {
				// The schedule's delay after this failure, ±20%.
				want := testSchedule[max(tt.attempt, 1)-1]
				if d := time.Until(next); d < want*4/5-100*time.Millisecond || d > want*6/5 {
					t.Fatalf("NextRetry in %s, want the schedule's %s", d, want)
				}
			}
			if !tt.wantErr && !next.IsZero() {
				t.Fatalf("NextRetry = %s after a delivery that is done", next)
			}
			// The outcome is recorded, with its attempt, before Work returns.
			d := f.records.get(job.Args.ID)
			wantState := map[bool]string{true: "failed", false: "succeeded"}[tt.wantErr]
			if tt.wantCancel {
				wantState = "cancelled"
			}
			if as := f.records.attempts(d.ID); d.State != wantState || d.Attempts != max(tt.attempt, 1) || d.LastStatus != tt.status ||
				len(as) != 1 || as[0].Status != tt.status || as[0].Duration <= 0 || d.JobID != job.ID {
				t.Fatalf("recorded %+v with attempts %+v; want state %s", d, as, wantState)
			}
			if tt.wantRetry > 0 {
				// max(the schedule's delay ±20%, Retry-After): within 20% of the want.
				if d := time.Until(next); d < tt.wantRetry*4/5-time.Second || d > tt.wantRetry*6/5 {
					t.Fatalf("NextRetry in %s, want %s (Retry-After bounded by the schedule)", d, tt.wantRetry)
				}
				// The endpoint is held back: another delivery to it is snoozed, not sent.
				err := f.worker.Work(context.Background(), f.newJob(1))
				var snooze *river.JobSnoozeError
				if hold := min(tt.wantRetry, retryAfterOf(tt.retryAfter)); !errors.As(err, &snooze) || snooze.Duration < hold-time.Second {
					t.Fatalf("Work during Retry-After = %v, want a snooze of about %s", err, hold)
				}
				if n := len(srv.requests()); n != 1 {
					t.Fatalf("endpoint got %d requests during its Retry-After, want 1", n)
				}
			}
			_, status := f.reg.Lookup(endpoints.Key{AccountID: 1, ID: 7})
			if (status == endpoints.Disabled) != tt.wantDisabl || len(f.disabled) != map[bool]int{true: 1}[tt.wantDisabl] {
				t.Fatalf("after %d: registry status %s, OnDisabled calls %d", tt.status, status, len(f.disabled))
			}
		})
	}
}

// retryAfterOf is the hold an endpoint asked for: its Retry-After seconds, at least 1s.
func retryAfterOf(header string) time.Duration {
	n, _ := strconv.Atoi(header)
	return max(time.Duration(n)*time.Second, time.Second)
}

func TestWorkerDisabledEndpointGetsNothingUntilItChanges(t *testing.T) {
	srv := newEndpointServer(t, 410, 200)
	f := newWorkerFixture(t, srv.URL)
	_ = f.worker.Work(context.Background(), f.newJob(1))
	err := f.worker.Work(context.Background(), f.newJob(1))
	if !errors.Is(err, ErrEndpointDisabled) || len(srv.requests()) != 1 {
		t.Fatalf("second Work = %v after %d requests; want ErrEndpointDisabled without a request", err, len(srv.requests()))
	}
	// Ingest still stores its deliveries: kept for recover once enabled.
	if eps, _ := f.reg.Subscribers(1, "message_created"); len(eps) != 1 {
		t.Fatalf("a disabled endpoint's deliveries are not kept: %v", eps)
	}
	// The webhook changes upstream (new url): enabled again.
	f.reg.Replace(1, []chatwoot.Webhook{{ID: 7, URL: srv.URL + "/v2", Subscriptions: []string{"message_created"}, Secret: "s1"}})
	if err := f.worker.Work(context.Background(), f.newJob(1)); err != nil {
		t.Fatalf("Work after the webhook changed = %v", err)
	}
	if got := srv.requests(); got[len(got)-1].URL.Path != "/v2" {
		t.Fatalf("delivered to %s, want the new url", got[len(got)-1].URL.Path)
	}
}

func TestWorkerUsesCurrentURLAndSecretAndSameDeliveryID(t *testing.T) {
	srv := newEndpointServer(t, 500, 200)
	f := newWorkerFixture(t, srv.URL+"/old")
	job := f.newJob(1)
	if err := f.worker.Work(context.Background(), job); err == nil {
		t.Fatal("first attempt should fail")
	}
	f.reg.Replace(1, []chatwoot.Webhook{{ID: 7, URL: srv.URL + "/new", Subscriptions: []string{"message_created"}, Secret: "s2"}})
	time.Sleep(1100 * time.Millisecond) // a new second: a fresh timestamp and signature
	if err := f.worker.Work(context.Background(), f.jobFor(job.Args.ID, 2)); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	got := srv.requests()
	if got[0].URL.Path != "/old" || got[1].URL.Path != "/new" {
		t.Fatalf("paths %s, %s; want the url current at each attempt", got[0].URL.Path, got[1].URL.Path)
	}
	if got[0].Header.Get(chatwoot.HeaderDelivery) != got[1].Header.Get(chatwoot.HeaderDelivery) {
		t.Fatal("X-Chatwoot-Delivery changed between attempts of one delivery")
	}
	if got[0].Header.Get(chatwoot.HeaderSignature) == got[1].Header.Get(chatwoot.HeaderSignature) {
		t.Fatal("the signature was not computed afresh")
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if err := chatwoot.Verify("s1", got[0].Header, srv.bodies[0], 0, time.Time{}); err != nil {
		t.Fatalf("first attempt not signed with the secret of its time: %v", err)
	}
	if err := chatwoot.Verify("s2", got[1].Header, srv.bodies[1], 0, time.Time{}); err != nil {
		t.Fatalf("second attempt not signed with the current secret: %v", err)
	}
}

func TestWorkerCancelsRemovedOrUnsubscribed(t *testing.T) {
	srv := newEndpointServer(t, 200)
	f := newWorkerFixture(t, srv.URL)
	f.reg.Replace(1, []chatwoot.Webhook{{ID: 7, URL: srv.URL, Subscriptions: []string{"conversation_created"}, Secret: "s1"}})
	if err := f.worker.Work(context.Background(), f.newJob(1)); !errors.Is(err, ErrUnsubscribed) {
		t.Fatalf("Work for an unsubscribed event = %v", err)
	}
	f.reg.Replace(1, nil)
	if err := f.worker.Work(context.Background(), f.newJob(1)); !errors.Is(err, ErrEndpointRemoved) {
		t.Fatalf("Work for a removed webhook = %v", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("endpoint got %d requests", n)
	}
}

func TestWorkerStoredErrorHidesQuery(t *testing.T) {
	f := newWorkerFixture(t, "http://127.0.0.1:1/hook?token=topsecret")
	err := f.worker.Work(context.Background(), f.newJob(1))
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("Work = %v; want a connection error without the url's query", err)
	}
}

// TestWorkerCancelsUntaggedJob: the endpoint's slot is taken from the
// job's tag before the store is read, so a job without one is cancelled,
// nothing sent or recorded.
func TestWorkerCancelsUntaggedJob(t *testing.T) {
	srv := newEndpointServer(t, 200)
	f := newWorkerFixture(t, srv.URL)
	job := f.newJob(1)
	job.Tags = nil
	err := f.worker.Work(context.Background(), job)
	var cancelled *river.JobCancelError
	if !errors.As(err, &cancelled) || !errors.Is(err, errUntagged) {
		t.Fatalf("Work = %v; want the job cancelled for want of its endpoint tag", err)
	}
	if len(srv.requests()) != 0 || len(f.records.outcomes) != 0 {
		t.Fatalf("%d requests, outcomes %+v", len(srv.requests()), f.records.outcomes)
	}
}
