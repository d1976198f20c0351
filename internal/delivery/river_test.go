package delivery

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// newTestRiver runs River over a temporary SQLite store with w as the
// delivery worker, configured as the daemon configures it.
func newTestRiver(t *testing.T, w *Worker, schedule Schedule, start bool) store.Client {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "q.db"), Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	w.opts.Schedule = schedule
	var c store.Client
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	river.AddWorker(workers, NewBatchWorker(w, func(ctx context.Context, ps []river.InsertManyParams) error {
		_, err := c.InsertMany(ctx, ps)
		return err
	}))
	c, err = st.NewClient(&river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 100}},
		Workers:              workers,
		FetchCooldown:        5 * time.Millisecond,
		FetchPollInterval:    20 * time.Millisecond,
		JobTimeout:           w.JobTimeout(),
		RescueStuckJobsAfter: w.JobTimeout() + 10*time.Second,
		RetryPolicy:          &RetryPolicy{Schedule: schedule},
		MaxAttempts:          schedule.MaxAttempts(),
		TestOnly:             true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if start {
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if start {
			_ = c.Stop(stop)
		}
		_ = st.Close()
	})
	return c
}

func insertDelivery(t *testing.T, c store.Client, reg *endpoints.Registry, id string, maxAttempts int, opts func(*river.InsertOpts)) *rivertype.JobRow {
	t.Helper()
	ep, _ := reg.Lookup(endpoints.Key{AccountID: 1, ID: 7})
	p := InsertParams(NewDelivery{Endpoint: ep, Event: "message_created", Payload: []byte(`{"event":"message_created"}`), DeliveryID: id, MaxAttempts: maxAttempts})
	if opts != nil {
		opts(p.InsertOpts)
	}
	res, err := c.InsertMany(context.Background(), []river.InsertManyParams{p})
	if err != nil {
		t.Fatal(err)
	}
	return res[0].Job
}

func waitJobState(t *testing.T, c store.Client, id int64, want rivertype.JobState, within time.Duration) *rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, err := c.JobGet(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s after %s, want %s (errors: %v)", id, j.State, within, want, j.Errors)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRiverRetriesUnderOneDeliveryID(t *testing.T) {
	srv := newEndpointServer(t, 500, 500, 200)
	f := newWorkerFixture(t, srv.URL)
	sched := Schedule{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
	c := newTestRiver(t, f.worker, sched, true)
	job := insertDelivery(t, c, f.reg, "0b8f2c51-6c1f-4d0c-9d52-5f3a1c0e7b21", sched.MaxAttempts(), nil)
	done := waitJobState(t, c, job.ID, rivertype.JobStateCompleted, 10*time.Second)
	got := srv.requests()
	if len(got) != 3 || done.Attempt != 3 || len(done.Errors) != 2 {
		t.Fatalf("requests %d, attempt %d, errors %d; want 3 attempts, 2 recorded failures", len(got), done.Attempt, len(done.Errors))
	}
	for _, r := range got {
		if r.Header.Get(chatwoot.HeaderDelivery) != "0b8f2c51-6c1f-4d0c-9d52-5f3a1c0e7b21" {
			t.Fatalf("attempt with delivery id %q", r.Header.Get(chatwoot.HeaderDelivery))
		}
	}
}

func TestRiverHonoursRetryAfter(t *testing.T) {
	srv := newEndpointServer(t, 429, 200)
	srv.headers["Retry-After"] = "2"
	f := newWorkerFixture(t, srv.URL)
	// The first retry is due in 50ms by the schedule, and 5s are left in it.
	sched := Schedule{50 * time.Millisecond, 5 * time.Second}
	c := newTestRiver(t, f.worker, sched, true)
	start := time.Now()
	job := insertDelivery(t, c, f.reg, "5d1b6c0e-1111-4f00-8c00-000000000001", sched.MaxAttempts(), nil)
	waitJobState(t, c, job.ID, rivertype.JobStateCompleted, 10*time.Second)
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Fatalf("retried after %s; the endpoint asked for Retry-After: 2 (the schedule alone says 50ms)", took)
	}
}

// TestRiverRetryAfterNeverShortensTheSchedule: an endpoint answering 503
// with Retry-After: 1 gets its attempts at the schedule's pace, not one a
// second; a Retry-After past what the schedule has left is capped, and the
// attempt's recorded error says so.
func TestRiverRetryAfterNeverShortensTheSchedule(t *testing.T) {
	srv := newEndpointServer(t, 503, 503, 200)
	srv.headers["Retry-After"] = "1"
	f := newWorkerFixture(t, srv.URL)
	sched := Schedule{1500 * time.Millisecond, 1500 * time.Millisecond}
	c := newTestRiver(t, f.worker, sched, true)
	start := time.Now()
	job := insertDelivery(t, c, f.reg, "5d1b6c0e-1111-4f00-8c00-000000000002", sched.MaxAttempts(), nil)
	done := waitJobState(t, c, job.ID, rivertype.JobStateCompleted, 15*time.Second)
	// Two retries of 1.5s ±20% each: at least 2.4s, where Retry-After alone would say 2s.
	if took := time.Since(start); took < 2400*time.Millisecond || len(srv.requests()) != 3 {
		t.Fatalf("3 attempts in %s (%d requests); Retry-After: 1 must not bring the schedule's 1.5s retries forward", took, len(srv.requests()))
	}
	if len(done.Errors) != 2 || strings.Contains(done.Errors[0].Error, "capped") {
		t.Fatalf("errors %+v", done.Errors)
	}

	long := newEndpointServer(t, 503, 200)
	long.headers["Retry-After"] = "3600"
	f = newWorkerFixture(t, long.URL)
	sched = Schedule{100 * time.Millisecond, 200 * time.Millisecond}
	c = newTestRiver(t, f.worker, sched, true)
	job = insertDelivery(t, c, f.reg, "5d1b6c0e-1111-4f00-8c00-000000000003", sched.MaxAttempts(), nil)
	done = waitJobState(t, c, job.ID, rivertype.JobStateCompleted, 15*time.Second)
	if len(done.Errors) != 1 || !strings.Contains(done.Errors[0].Error, "Retry-After of 1h0m0s is past the 300ms the retry schedule has left") {
		t.Fatalf("an hour's Retry-After with 300ms of schedule left: errors %+v; want the retry within the schedule, the cap in the attempt log", done.Errors)
	}
}

func TestRiverDeadDeliveryIsKeptAndReplayable(t *testing.T) {
	srv := newEndpointServer(t, 500, 500, 500, 200)
	f := newWorkerFixture(t, srv.URL)
	sched := Schedule{50 * time.Millisecond, 50 * time.Millisecond}
	c := newTestRiver(t, f.worker, sched, true)
	job := insertDelivery(t, c, f.reg, "5d1b6c0e-1111-4f00-8c00-000000000002", sched.MaxAttempts(), nil)
	dead := waitJobState(t, c, job.ID, rivertype.JobStateDiscarded, 10*time.Second)
	if dead.Attempt != 3 || len(srv.requests()) != 3 {
		t.Fatalf("dead after %d attempts and %d requests, want 3", dead.Attempt, len(srv.requests()))
	}
	if _, err := c.JobRetry(context.Background(), job.ID); err != nil {
		t.Fatal(err)
	}
	waitJobState(t, c, job.ID, rivertype.JobStateCompleted, 10*time.Second)
	if got := srv.requests(); len(got) != 4 || got[3].Header.Get(chatwoot.HeaderDelivery) != got[0].Header.Get(chatwoot.HeaderDelivery) {
		t.Fatal("a replayed delivery must keep its delivery id")
	}
}

func TestCancelPending(t *testing.T) {
	srv := newEndpointServer(t, 200)
	f := newWorkerFixture(t, srv.URL)
	f.reg.Replace(1, []chatwoot.Webhook{
		{ID: 7, URL: srv.URL, Subscriptions: []string{"message_created"}, Secret: "s"},
		{ID: 8, URL: srv.URL, Subscriptions: []string{"message_created"}, Secret: "s"},
	})
	c := newTestRiver(t, f.worker, Schedule{time.Second}, false)
	later := func(o *river.InsertOpts) { o.ScheduledAt = time.Now().Add(time.Hour) }
	a := insertDelivery(t, c, f.reg, "a0000000-0000-4000-8000-000000000001", 2, later)
	b := insertDelivery(t, c, f.reg, "a0000000-0000-4000-8000-000000000002", 2, nil)
	ep8, _ := f.reg.Lookup(endpoints.Key{AccountID: 1, ID: 8})
	res, err := c.InsertMany(context.Background(), []river.InsertManyParams{InsertParams(NewDelivery{Endpoint: ep8, Event: "message_created", Payload: []byte("{}"), DeliveryID: "a0000000-0000-4000-8000-000000000003", MaxAttempts: 2})})
	if err != nil {
		t.Fatal(err)
	}
	n, err := CancelPending(context.Background(), c, endpoints.Key{AccountID: 1, ID: 7})
	if err != nil || n != 2 {
		t.Fatalf("CancelPending = %d, %v; want 2", n, err)
	}
	for _, id := range []int64{a.ID, b.ID} {
		waitJobState(t, c, id, rivertype.JobStateCancelled, time.Second)
	}
	waitJobState(t, c, res[0].Job.ID, rivertype.JobStateAvailable, time.Second) // other endpoint untouched
}
