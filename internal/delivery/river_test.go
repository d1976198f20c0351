package delivery

import (
	"context"
	"fmt"
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

// testRiver is River over a temporary SQLite store, with the fixture's
// worker (now on the store's records) as the daemon configures it.
type testRiver struct {
	c  store.Client
	st *store.Store
}

type storeRecords struct {
	*store.Store
	*store.Recorder
}

func newTestRiver(t *testing.T, w *Worker, schedule Schedule, start bool) *testRiver {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "q.db"), Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	rec := store.NewRecorder(st, nil)
	w.opts.Records = storeRecords{st, rec}
	w.opts.Schedule = schedule
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	river.AddWorker(workers, NewBatchWorker(w))
	c, err := st.NewClient(&river.Config{
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
		rec.Close()
		_ = st.Close()
	})
	return &testRiver{c: c, st: st}
}

// enqueue stores one event per item (to webhook 7 of account 1 unless
// webhooks says otherwise) the way ingest does, batchSize deliveries to a job.
func (r *testRiver) enqueue(t *testing.T, batchSize, maxAttempts int, events []string, uuids []string, opts func(*river.InsertOpts)) []store.Queued {
	t.Helper()
	evs := make([]store.NewEvent, len(events))
	for i, ev := range events {
		evs[i] = store.NewEvent{AccountID: 1, Event: ev, Payload: []byte(`{"event":"` + ev + `"}`), Deliveries: []store.NewDelivery{{UUID: uuids[i], WebhookID: 7, MaxAttempts: maxAttempts}}}
	}
	qs, err := r.st.Enqueue(context.Background(), r.c, evs, func(qs []store.Queued) []river.InsertManyParams {
		ps := JobsFor(qs, batchSize)
		for _, p := range ps {
			if opts != nil {
				opts(p.InsertOpts)
			}
		}
		return ps
	})
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

func (r *testRiver) insertDelivery(t *testing.T, uuid string, maxAttempts int, opts func(*river.InsertOpts)) store.Queued {
	return r.enqueue(t, 1, maxAttempts, []string{"message_created"}, []string{uuid}, opts)[0]
}

// waitState waits for delivery id to be recorded in state want.
func (r *testRiver) waitState(t *testing.T, id int64, want string, within time.Duration) store.Delivery {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		d, err := r.st.DeliveryByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.State == want {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %d is %s after %s, want %s (last error: %s)", id, d.State, within, want, d.LastError)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *testRiver) attempts(t *testing.T, id int64) []store.Attempt {
	t.Helper()
	as, err := r.st.Attempts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestRiverRetriesUnderOneDeliveryID(t *testing.T) {
	srv := newEndpointServer(t, 500, 500, 200)
	f := newWorkerFixture(t, srv.URL)
	sched := Schedule{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
	r := newTestRiver(t, f.worker, sched, true)
	q := r.insertDelivery(t, "0b8f2c51-6c1f-4d0c-9d52-5f3a1c0e7b21", sched.MaxAttempts(), nil)
	done := r.waitState(t, q.ID, store.StateSucceeded, 10*time.Second)
	as := r.attempts(t, q.ID)
	if got := srv.requests(); len(got) != 3 || done.Attempts != 3 || len(as) != 3 || as[0].Status != 500 || as[2].Status != 200 || as[2].Duration <= 0 {
		t.Fatalf("requests %d, attempts %d %+v; want 3 attempts, the last a 200 with its duration", len(got), done.Attempts, as)
	}
	for _, req := range srv.requests() {
		if req.Header.Get(chatwoot.HeaderDelivery) != "0b8f2c51-6c1f-4d0c-9d52-5f3a1c0e7b21" {
			t.Fatalf("attempt with delivery id %q", req.Header.Get(chatwoot.HeaderDelivery))
		}
	}
}

func TestRiverHonoursRetryAfter(t *testing.T) {
	srv := newEndpointServer(t, 429, 200)
	srv.headers["Retry-After"] = "2"
	f := newWorkerFixture(t, srv.URL)
	// The first retry is due in 50ms by the schedule, and 5s are left in it.
	sched := Schedule{50 * time.Millisecond, 5 * time.Second}
	r := newTestRiver(t, f.worker, sched, true)
	start := time.Now()
	q := r.insertDelivery(t, "5d1b6c0e-1111-4f00-8c00-000000000001", sched.MaxAttempts(), nil)
	r.waitState(t, q.ID, store.StateSucceeded, 10*time.Second)
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
	r := newTestRiver(t, f.worker, sched, true)
	start := time.Now()
	q := r.insertDelivery(t, "5d1b6c0e-1111-4f00-8c00-000000000002", sched.MaxAttempts(), nil)
	r.waitState(t, q.ID, store.StateSucceeded, 15*time.Second)
	// Two retries of 1.5s ±20% each: at least 2.4s, where Retry-After alone would say 2s.
	if took := time.Since(start); took < 2400*time.Millisecond || len(srv.requests()) != 3 {
		t.Fatalf("3 attempts in %s (%d requests); Retry-After: 1 must not bring the schedule's 1.5s retries forward", took, len(srv.requests()))
	}
	if as := r.attempts(t, q.ID); len(as) != 3 || strings.Contains(as[0].Error, "past the") {
		t.Fatalf("attempts %+v", as)
	}

	long := newEndpointServer(t, 503, 200)
	long.headers["Retry-After"] = "3600"
	f = newWorkerFixture(t, long.URL)
	sched = Schedule{100 * time.Millisecond, 200 * time.Millisecond}
	r = newTestRiver(t, f.worker, sched, true)
	q = r.insertDelivery(t, "5d1b6c0e-1111-4f00-8c00-000000000003", sched.MaxAttempts(), nil)
	r.waitState(t, q.ID, store.StateSucceeded, 15*time.Second)
	if as := r.attempts(t, q.ID); len(as) != 2 || !strings.Contains(as[0].Error, "Retry-After of 1h0m0s is past the 300ms the retry schedule has left") {
		t.Fatalf("an hour's Retry-After with 300ms of schedule left: attempts %+v; want the retry within the schedule, the cap in the attempt log", as)
	}
}

func TestRiverDeadDeliveryIsKeptAndReplayable(t *testing.T) {
	srv := newEndpointServer(t, 500, 500, 500, 200)
	f := newWorkerFixture(t, srv.URL)
	sched := Schedule{50 * time.Millisecond, 50 * time.Millisecond}
	r := newTestRiver(t, f.worker, sched, true)
	q := r.insertDelivery(t, "5d1b6c0e-1111-4f00-8c00-000000000002", sched.MaxAttempts(), nil)
	dead := r.waitState(t, q.ID, store.StateDead, 10*time.Second)
	if dead.Attempts != 3 || len(srv.requests()) != 3 {
		t.Fatalf("dead after %d attempts and %d requests, want 3", dead.Attempts, len(srv.requests()))
	}
	j := waitJobState(t, r.c, dead.JobID, rivertype.JobStateDiscarded, 5*time.Second)
	if j.Kind != Kind {
		t.Fatalf("job %s", j.Kind)
	}
	ok, err := r.st.Requeue(context.Background(), r.c, q.ID, []string{store.StateDead}, func(d store.Delivery) []river.InsertManyParams {
		return []river.InsertManyParams{AloneParams(d, 1, time.Time{})}
	})
	if err != nil || !ok {
		t.Fatalf("replay %v %v", ok, err)
	}
	done := r.waitState(t, q.ID, store.StateSucceeded, 10*time.Second)
	if got := srv.requests(); done.Attempts != 4 || len(got) != 4 || got[3].Header.Get(chatwoot.HeaderDelivery) != got[0].Header.Get(chatwoot.HeaderDelivery) {
		t.Fatalf("a replayed delivery must keep its delivery id (attempts %d)", done.Attempts)
	}
}

// TestRiverDeliveredIsNeverSentAgain: a job whose delivery is recorded
// succeeded (its completion lost with its daemon) completes without a request.
func TestRiverDeliveredIsNeverSentAgain(t *testing.T) {
	srv := newEndpointServer(t, 200)
	f := newWorkerFixture(t, srv.URL)
	r := newTestRiver(t, f.worker, Schedule{time.Second}, true)
	q := r.insertDelivery(t, "5d1b6c0e-1111-4f00-8c00-000000000009", 2, nil)
	r.waitState(t, q.ID, store.StateSucceeded, 10*time.Second)
	// A second job for the same delivery, as a rescued one would be.
	if _, err := r.c.InsertMany(context.Background(), []river.InsertManyParams{{Args: Args{ID: q.ID}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(srv.requests()); n != 1 {
		t.Fatalf("%d requests for a delivery recorded succeeded", n)
	}
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

func TestCancelPending(t *testing.T) {
	srv := newEndpointServer(t, 200)
	f := newWorkerFixture(t, srv.URL)
	f.reg.Replace(1, []chatwoot.Webhook{
		{ID: 7, URL: srv.URL, Subscriptions: []string{"message_created"}, Secret: "s"},
		{ID: 8, URL: srv.URL, Subscriptions: []string{"message_created"}, Secret: "s"},
	})
	r := newTestRiver(t, f.worker, Schedule{time.Second}, false)
	later := func(o *river.InsertOpts) { o.ScheduledAt = time.Now().Add(time.Hour) }
	r.insertDelivery(t, "a0000000-0000-4000-8000-000000000001", 2, later)
	r.insertDelivery(t, "a0000000-0000-4000-8000-000000000002", 2, nil)
	other, err := r.st.Enqueue(context.Background(), r.c, []store.NewEvent{{AccountID: 1, Event: "message_created", Payload: []byte("{}"),
		Deliveries: []store.NewDelivery{{UUID: "a0000000-0000-4000-8000-000000000003", WebhookID: 8, MaxAttempts: 2}}}},
		func(qs []store.Queued) []river.InsertManyParams { return JobsFor(qs, 1) })
	if err != nil {
		t.Fatal(err)
	}
	n, err := CancelPending(context.Background(), r.c, endpoints.Key{AccountID: 1, ID: 7})
	if err != nil || n != 2 {
		t.Fatalf("CancelPending = %d, %v; want 2", n, err)
	}
	if counts, _ := r.st.JobCounts(context.Background()); counts[rivertype.JobStateCancelled] != 2 || counts[rivertype.JobStateAvailable] != 1 {
		t.Fatalf("job states %v; want webhook 7's 2 cancelled, webhook 8's untouched", counts)
	}
	// The CancelWorker marks the records too.
	w := &CancelWorker{Jobs: func(context.Context) (Jobs, error) { return r.c, nil }, Records: r.st}
	if err := w.Work(context.Background(), &river.Job[CancelArgs]{JobRow: &rivertype.JobRow{}, Args: CancelArgs{AccountID: 1, EndpointID: 7, Reason: CancelRemoved}}); err != nil {
		t.Fatal(err)
	}
	ds, _ := r.st.ListDeliveries(context.Background(), store.DeliveryFilter{States: []string{store.StateCancelled}})
	if d, _ := r.st.DeliveryByID(context.Background(), other[0].ID); len(ds) != 2 || d.State != store.StatePending {
		t.Fatalf("cancelled records %d, webhook 8's %s", len(ds), d.State)
	}
}

// recordsCommittedMeanwhile is the store's records, with a delivery to
// webhook 7 committed by ingest just before or just after the cancel
// job's write of them.
type recordsCommittedMeanwhile struct {
	r      *testRiver
	t      *testing.T
	before bool
	got    []store.Queued
}

func (m *recordsCommittedMeanwhile) CancelWaiting(ctx context.Context, e store.Endpoint, why string) (int, error) {
	if m.before {
		m.got = append(m.got, m.r.insertDelivery(m.t, "b0000000-0000-4000-8000-000000000001", 2, nil))
	}
	n, err := m.r.st.CancelWaiting(ctx, e, why)
	if !m.before {
		m.got = append(m.got, m.r.insertDelivery(m.t, "b0000000-0000-4000-8000-000000000002", 2, nil))
	}
	return n, err
}

// TestCancelWorkerLeavesNoDeliveryWithoutItsJob: a delivery committed
// while the cancel job runs ends cancelled, or keeps a job that will carry
// it; never pending with its job cancelled, which no one would attempt,
// cancel or recover. (The job cancelled after the records did that to a
// delivery committed in between.)
func TestCancelWorkerLeavesNoDeliveryWithoutItsJob(t *testing.T) {
	for _, before := range []bool{true, false} {
		t.Run(fmt.Sprintf("before=%v", before), func(t *testing.T) {
			f := newWorkerFixture(t, newEndpointServer(t, 200).URL)
			r := newTestRiver(t, f.worker, Schedule{time.Second}, false)
			r.insertDelivery(t, "a0000000-0000-4000-8000-000000000001", 2, nil)
			recs := &recordsCommittedMeanwhile{r: r, t: t, before: before}
			w := &CancelWorker{Jobs: func(context.Context) (Jobs, error) { return r.c, nil }, Records: recs}
			if err := w.Work(context.Background(), &river.Job[CancelArgs]{JobRow: &rivertype.JobRow{}, Args: CancelArgs{AccountID: 1, EndpointID: 7, Reason: CancelGone}}); err != nil {
				t.Fatal(err)
			}
			d, err := r.st.DeliveryByID(context.Background(), recs.got[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.c.JobList(context.Background(), river.NewJobListParams().Kinds(Kinds...).
				States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStatePending, rivertype.JobStateRetryable))
			if err != nil {
				t.Fatal(err)
			}
			if d.State != store.StateCancelled && len(res.Jobs) != 1 {
				t.Fatalf("the delivery committed meanwhile is %s with %d jobs left to carry it; want it cancelled, or its job left", d.State, len(res.Jobs))
			}
		})
	}
}
