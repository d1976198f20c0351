package delivery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

func TestJobsFor(t *testing.T) {
	type in struct {
		ep     int64
		id     int64
		behind bool
	}
	// describe names each job: "7:1" for a delivery alone, "7:[1 2]" for a
	// batch, followed by "^" when stored behind (BehindPriority).
	describe := func(ps []river.InsertManyParams) string {
		var parts []string
		for _, p := range ps {
			ep := strings.TrimPrefix(p.InsertOpts.Tags[0], "ep-1-")
			switch a := p.Args.(type) {
			case Args:
				parts = append(parts, fmt.Sprintf("%s:%d", ep, a.ID))
			case BatchArgs:
				parts = append(parts, fmt.Sprintf("%s:%v", ep, a.IDs))
			}
			if p.InsertOpts.MaxAttempts != 4 || p.InsertOpts.UniqueOpts.ByArgs {
				t.Errorf("insert opts = %+v", p.InsertOpts)
			}
			switch p.InsertOpts.Priority {
			case BehindPriority:
				parts[len(parts)-1] += "^"
			case 0:
			default:
				t.Errorf("priority %d", p.InsertOpts.Priority)
			}
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		name string
		size int
		in   []in
		want string
	}{
		{"size 1: a job per delivery", 1, []in{{7, 1, false}, {7, 2, false}}, "7:1 7:2"},
		{"grouped by endpoint, in order", 50, []in{{7, 1, false}, {8, 2, false}, {7, 3, false}, {7, 4, false}}, "7:[1 3 4] 8:2"},
		{"batches hold size at most", 2, []in{{7, 1, false}, {7, 2, false}, {7, 3, false}, {7, 4, false}, {7, 5, false}}, "7:[1 2] 7:[3 4] 7:5"},
		{"alone", 50, []in{{7, 1, false}}, "7:1"},
		{"a busy endpoint's deliveries are stored behind", 50, []in{{7, 1, true}, {8, 2, false}, {7, 3, true}}, "7:[1 3]^ 8:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qs := make([]store.Queued, len(tt.in))
			for i, d := range tt.in {
				qs[i] = store.Queued{ID: d.id, AccountID: 1, WebhookID: d.ep, MaxAttempts: 4, Behind: d.behind}
			}
			if got := describe(JobsFor(qs, tt.size)); got != tt.want {
				t.Fatalf("JobsFor = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestRiverBatch: a batch delivers what the endpoint accepts at the first
// attempt, each recorded with its attempt; from the first failure on, the
// deliveries go on in jobs of their own — the failed one with its attempt
// counted and its retry scheduled, the rest not attempted yet — and an
// unsubscribed one is cancelled by the Worker. Delivery ids carry over.
func TestRiverBatch(t *testing.T) {
	srv := newEndpointServer(t, 204, 500, 200)
	f := newWorkerFixture(t, srv.URL)
	sched := Schedule{200 * time.Millisecond, 200 * time.Millisecond}
	r := newTestRiver(t, f.worker, sched, true)
	names := []string{"E", "A", "B", "C", "D"}
	events := []string{"conversation_created", "message_created", "message_created", "message_created", "message_created"}
	uuids := make([]string, len(names))
	for i, n := range names {
		uuids[i] = fmt.Sprintf("b0000000-0000-4000-8000-00000000000%s", n)
	}
	qs := r.enqueue(t, DefaultBatchSize, sched.MaxAttempts(), events, uuids, nil)
	id := map[string]int64{}
	for i, n := range names {
		id[n] = qs[i].ID
	}
	r.waitState(t, id["E"], store.StateCancelled, 10*time.Second)
	for _, n := range []string{"A", "B", "C", "D"} {
		r.waitState(t, id[n], store.StateSucceeded, 10*time.Second)
	}
	if e, _ := r.st.DeliveryByID(context.Background(), id["E"]); !strings.Contains(e.LastError, ErrUnsubscribed.Error()) || len(r.attempts(t, id["E"])) != 0 {
		t.Fatalf("unsubscribed delivery: %+v", e)
	}
	if as := r.attempts(t, id["A"]); len(as) != 1 || as[0].Status != 204 || as[0].Attempt != 1 {
		t.Fatalf("A's attempts %+v; want its 204", as)
	}
	b, _ := r.st.DeliveryByID(context.Background(), id["B"])
	if as := r.attempts(t, id["B"]); b.Attempts != 2 || len(as) != 2 || as[0].Status != 500 || as[0].Error != "endpoint answered 500" || as[1].Status != 200 || b.JobID == 0 {
		t.Fatalf("failed delivery went on as %+v with attempts %+v", b, as)
	}
	j := waitJobState(t, r.c, b.JobID, "completed", time.Second)
	if j.Kind != Kind || j.MaxAttempts != sched.MaxAttempts()-1 {
		t.Fatalf("B's own job %s with %d attempts", j.Kind, j.MaxAttempts)
	}
	for _, n := range []string{"C", "D"} {
		if as := r.attempts(t, id[n]); len(as) != 1 || as[0].Attempt != 1 {
			t.Fatalf("%s's attempts %+v", n, as)
		}
	}
	var sent []string
	for _, req := range srv.requests() {
		sent = append(sent, req.Header.Get(chatwoot.HeaderDelivery))
	}
	if len(sent) != 5 || sent[0] != uuids[1] || sent[1] != uuids[2] || sent[4] != uuids[2] || slices.Contains(sent, uuids[0]) {
		t.Fatalf("requests %v; want A, B (500), C and D, then B again after its retry delay", sent)
	}
}

// TestRiverBatchToUnreachableEndpoint: when a batch's first delivery gets
// no answer at all, the rest are not tried one by one at once: they wait,
// not attempted and still one batch, for that delivery's retry, and then
// flow.
func TestRiverBatchToUnreachableEndpoint(t *testing.T) {
	srv := newEndpointServer(t, 0, 200)
	f := newWorkerFixture(t, srv.URL)
	const retry = 300 * time.Millisecond
	sched := Schedule{retry, retry}
	r := newTestRiver(t, f.worker, sched, true)
	uuids := []string{"d0000000-0000-4000-8000-00000000000a", "d0000000-0000-4000-8000-00000000000b", "d0000000-0000-4000-8000-00000000000c"}
	qs := r.enqueue(t, DefaultBatchSize, sched.MaxAttempts(), []string{"message_created", "message_created", "message_created"}, uuids, nil)
	for _, q := range qs {
		r.waitState(t, q.ID, store.StateSucceeded, 10*time.Second)
	}
	if as := r.attempts(t, qs[0].ID); len(as) != 2 || as[0].Status != 0 || as[0].Error == "" || as[1].Status != 200 {
		t.Fatalf("first delivery's attempts %+v; want no answer, then 200", as)
	}
	failedAt := srv.firstAt(uuids[0])
	for i, q := range qs[1:] {
		if as := r.attempts(t, q.ID); len(as) != 1 || as[0].Status != 200 {
			t.Fatalf("delivery %d's attempts %+v; want one 200", i+1, as)
		}
		// The schedule's jitter is ±20%: the retry is 240ms away at least.
		if wait := srv.firstAt(uuids[i+1]).Sub(failedAt); wait < retry*8/10 {
			t.Fatalf("delivery %d was first sent %s after the endpoint did not answer; want it to wait for the retry (%s)", i+1, wait, retry)
		}
	}
	if n := len(srv.requests()); n != 4 {
		t.Fatalf("%d requests; want 4 (one failed, three delivered)", n)
	}
	for _, q := range qs[1:] {
		d, _ := r.st.DeliveryByID(context.Background(), q.ID)
		if d.JobID != 0 {
			t.Fatalf("delivery %d went on in a job of its own (%d); want it in the deferred batch", q.ID, d.JobID)
		}
	}
}

// TestRiverBatchToDeadEndpoint: a batch's first delivery probes an
// endpoint that never answers on its own schedule, in one job with the
// rest (one attempt per retry: one job behind other endpoints' first
// attempts, snoozed between them); when its schedule runs out
// the rest are dead with it, not attempted, and kept for replay.
func TestRiverBatchToDeadEndpoint(t *testing.T) {
	srv := newEndpointServer(t, 0)
	f := newWorkerFixture(t, srv.URL)
	sched := Schedule{150 * time.Millisecond, 150 * time.Millisecond} // River's scheduler runs each retry within 5s
	r := newTestRiver(t, f.worker, sched, true)
	uuids := []string{"e0000000-0000-4000-8000-00000000000a", "e0000000-0000-4000-8000-00000000000b", "e0000000-0000-4000-8000-00000000000c"}
	qs := r.enqueue(t, DefaultBatchSize, sched.MaxAttempts(), []string{"message_created", "message_created", "message_created"}, uuids, nil)
	for _, q := range qs {
		r.waitState(t, q.ID, store.StateDead, 10*time.Second)
	}
	if as := r.attempts(t, qs[0].ID); len(as) != 3 || as[0].Attempt != 1 || as[2].Attempt != 3 || as[2].Status != 0 || as[2].Error == "" {
		t.Fatalf("the probe's attempts %+v; want its 3, unanswered", as)
	}
	for _, q := range qs[1:] {
		d, _ := r.st.DeliveryByID(context.Background(), q.ID)
		if as := r.attempts(t, q.ID); len(as) != 0 || d.Attempts != 0 || !strings.Contains(d.LastError, uuids[0]) {
			t.Fatalf("delivery %d: %+v with attempts %+v; want dead with the probe, not attempted", q.ID, d, as)
		}
	}
	if n := len(srv.requests()); n != 3 {
		t.Fatalf("%d requests; want the probe's 3", n)
	}
	res, err := r.c.JobList(context.Background(), river.NewJobListParams().First(100))
	if err != nil {
		t.Fatal(err)
	}
	// Two jobs: the batch, and the one it left behind other endpoints'
	// first attempts, snoozed for the probe's second retry rather than
	// followed by a third.
	var jobs []string
	for _, j := range res.Jobs {
		jobs = append(jobs, fmt.Sprintf("%s priority %d %s %s", j.Kind, j.Priority, j.State, j.Metadata))
	}
	slices.Sort(jobs)
	if len(res.Jobs) != 2 || res.Jobs[0].Kind != BatchKind || res.Jobs[1].Kind != BatchKind ||
		res.Jobs[0].Priority+res.Jobs[1].Priority != 1+BehindPriority || parseMetadata(res.Jobs[0]).Snoozes+parseMetadata(res.Jobs[1]).Snoozes != 1 {
		t.Fatalf("jobs %v; want the batch and its successor behind, snoozed once", jobs)
	}
	// Kept for replay: the first replayed goes on alone.
	replayed, err := r.st.Requeue(context.Background(), r.c, qs[1].ID, []string{store.StateDead}, func(d store.Delivery) []river.InsertManyParams {
		return []river.InsertManyParams{AloneParams(d, 1, time.Time{})}
	})
	if err != nil || !replayed {
		t.Fatalf("replay %v %v", replayed, err)
	}
	r.waitState(t, qs[1].ID, store.StateDead, 10*time.Second)
	if as := r.attempts(t, qs[1].ID); len(as) != 1 {
		t.Fatalf("replayed delivery's attempts %+v; want one", as)
	}
}

// TestRiverBatchToRemovedEndpoint: a batch whose webhook is gone is
// cancelled whole, without a request, each delivery recorded cancelled.
func TestRiverBatchToRemovedEndpoint(t *testing.T) {
	srv := newEndpointServer(t, 200)
	f := newWorkerFixture(t, srv.URL)
	f.reg.Replace(1, nil)
	r := newTestRiver(t, f.worker, Schedule{time.Second}, true)
	uuids := []string{"c0000000-0000-4000-8000-000000000000", "c0000000-0000-4000-8000-000000000001", "c0000000-0000-4000-8000-000000000002"}
	qs := r.enqueue(t, DefaultBatchSize, 2, []string{"message_created", "message_created", "message_created"}, uuids, nil)
	for _, q := range qs {
		d := r.waitState(t, q.ID, store.StateCancelled, 10*time.Second)
		if !strings.Contains(d.LastError, ErrEndpointRemoved.Error()) {
			t.Fatalf("cancelled with %q", d.LastError)
		}
	}
	if len(srv.requests()) != 0 {
		t.Fatalf("%d requests", len(srv.requests()))
	}
}

// TestBatchReadsAtOnceWhenAnswering: a batch to an endpoint whose last
// attempt was answered reads its deliveries in one query; otherwise (no
// attempt yet, or the last one failed) the first alone and then the rest,
// so that a batch to an endpoint that does not answer reads one payload.
func TestBatchReadsAtOnceWhenAnswering(t *testing.T) {
	tests := []struct {
		name  string
		prior *bool // the endpoint's last attempt: answered 2xx or not; nil, none
		want  []int
	}{
		{"no attempt yet", nil, []int{1, 2}},
		{"last attempt answered", new(true), []int{3}},
		{"last attempt failed", new(false), []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newEndpointServer(t, 200)
			f := newWorkerFixture(t, srv.URL)
			key := endpoints.Key{AccountID: 1, ID: 7}
			if tt.prior != nil {
				release, _, err := f.limiter.Acquire(context.Background(), key, 0)
				if err != nil {
					t.Fatal(err)
				}
				release()
				f.limiter.Result(key, *tt.prior)
			}
			var ids []int64
			for range 3 {
				ids = append(ids, f.records.add("message_created", 0, 4).ID)
			}
			job := &river.Job[BatchArgs]{
				JobRow: &rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: 4, Metadata: []byte(`{}`), Tags: []string{EndpointTag(key)}},
				Args:   BatchArgs{IDs: ids},
			}
			if err := NewBatchWorker(f.worker).Work(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, r := range f.records.reads {
				sizes = append(sizes, len(r))
			}
			if !slices.Equal(sizes, tt.want) {
				t.Fatalf("ForAttempt read %v deliveries per query; want %v", sizes, tt.want)
			}
			for _, id := range ids {
				if d := f.records.get(id); d.State != store.StateSucceeded {
					t.Fatalf("delivery %d is %s; want succeeded", id, d.State)
				}
			}
		})
	}
}

// readsInOrder is Records whose ForAttempt answers ds, in that order,
// whatever it is asked.
type readsInOrder struct {
	Records
	ds []store.Delivery
}

func (r readsInOrder) ForAttempt(context.Context, []int64) ([]store.Delivery, error) {
	return slices.Clone(r.ds), nil
}

// TestBatchPendingInItsOrder: a batch attempts its deliveries in the order
// it carries them, whatever order the store reads them in, and leaves out
// those recorded final already.
func TestBatchPendingInItsOrder(t *testing.T) {
	d := func(id int64, state string) store.Delivery { return store.Delivery{ID: id, State: state} }
	stored := []store.Delivery{d(1, store.StatePending), d(2, store.StateSucceeded), d(3, store.StatePending), d(4, store.StateFailed), d(5, store.StateDead)}
	for _, tt := range []struct {
		name string
		ids  []int64
		want []int64
	}{
		{"as stored", []int64{1, 2, 3, 4, 5}, []int64{1, 3, 4}},
		{"backwards", []int64{5, 4, 3, 2, 1}, []int64{4, 3, 1}},
		{"mixed", []int64{3, 1, 4, 5, 2}, []int64{3, 1, 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBatchWorker(NewWorker(WorkerOptions{Records: readsInOrder{ds: stored}}))
			got, err := b.pending(context.Background(), tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Fatalf("pending(%v) = %v; want %v", tt.ids, ids(got), tt.want)
			}
		})
	}
}
