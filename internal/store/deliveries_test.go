package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
)

type noopArgs struct {
	IDs []int64 `json:"ids"`
}

func (noopArgs) Kind() string { return "test_ids" }

// eachStoreURL runs fn with the URL of a fresh SQLite store and, when the
// tests have one, of a fresh PostgreSQL database.
func eachStoreURL(t *testing.T, fn func(t *testing.T, url string)) {
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "s.db") }},
		{"postgres", func(t *testing.T) string { return storetest.NewDatabase(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) { fn(t, tt.url(t)) })
	}
}

// eachStore runs fn on each fresh store of eachStoreURL, with an
// insert-only River client.
func eachStore(t *testing.T, fn func(t *testing.T, st *Store, c Client)) {
	eachStoreURL(t, func(t *testing.T, url string) {
		st, c := openInsertOnly(t, url)
		fn(t, st, c)
	})
}

// openInsertOnly opens the store at url, closed with the test, with an
// insert-only River client.
func openInsertOnly(tb testing.TB, url string) (*Store, Client) {
	tb.Helper()
	return openWith(tb, Options{URL: url, Synchronous: SyncNormal})
}

// openWith opens a store with opts, closed with the test, and a River
// client on it that only inserts and lists.
func openWith(tb testing.TB, opts Options) (*Store, Client) {
	tb.Helper()
	st, err := Open(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	c, err := st.NewClient(&river.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return st, c
}

// oneJob carries every fresh delivery in one job.
func oneJob(qs []Queued) []river.InsertManyParams {
	ids := make([]int64, len(qs))
	for i, q := range qs {
		ids[i] = q.ID
	}
	return []river.InsertManyParams{{Args: noopArgs{IDs: ids}}}
}

func TestDeliveryRecords(t *testing.T) {
	eachStore(t, func(t *testing.T, st *Store, c Client) {
		ctx := context.Background()
		payload := []byte(`{"event":"message_created","content":"héllo <b>"}`)
		evs := []NewEvent{
			{AccountID: 1, Event: "message_created", Payload: payload, Deliveries: []NewDelivery{
				{UUID: "u-1", WebhookID: 7, MaxAttempts: 3}, {UUID: "u-2", WebhookID: 8, MaxAttempts: 3},
			}},
			{AccountID: 1, Event: "conversation_created", Payload: []byte(`{"event":"conversation_created"}`), IdempotencyKey: "k", Deliveries: []NewDelivery{
				{UUID: "u-3", WebhookID: 7, MaxAttempts: 3},
			}},
		}
		var carried [][]int64
		jobs := func(qs []Queued) []river.InsertManyParams {
			p := oneJob(qs)
			carried = append(carried, p[0].Args.(noopArgs).IDs)
			return p
		}
		qs, err := st.Enqueue(ctx, c, evs, jobs)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != 3 || qs[0].Duplicate || qs[0].ID == 0 || len(carried) != 1 || len(carried[0]) != 3 {
			t.Fatalf("queued %+v, jobs %v", qs, carried)
		}
		// An endpoint's deliveries of a commit take consecutive ids, in the
		// order of their events: u-1 and u-3 to webhook 7, then u-2 to 8.
		if qs[2].ID != qs[0].ID+1 || qs[1].ID != qs[2].ID+1 {
			t.Fatalf("ids %d, %d, %d for u-1, u-2, u-3; want webhook 7's first, one after the other", qs[0].ID, qs[1].ID, qs[2].ID)
		}
		// The same UUIDs again: duplicates, no job, no second event row.
		again, err := st.Enqueue(ctx, c, evs[1:], jobs)
		if err != nil || len(again) != 1 || !again[0].Duplicate || len(carried) != 1 {
			t.Fatalf("again %+v %v, jobs %v", again, err, carried)
		}
		if ev, ds, _, err := st.RecordCounts(ctx); err != nil || ev != 2 || ds != 3 {
			t.Fatalf("counts %d events %d deliveries %v", ev, ds, err)
		}
		if counts, err := st.JobCounts(ctx); err != nil || counts["available"] != 1 {
			t.Fatalf("River jobs %v %v", counts, err)
		}

		// One payload per event, read back byte for byte.
		ds, err := st.ForAttempt(ctx, []int64{qs[1].ID, qs[0].ID, 999})
		if err != nil || len(ds) != 2 {
			t.Fatalf("for attempt %+v %v", ds, err)
		}
		for _, d := range ds {
			if string(d.Payload) != string(payload) || d.State != StatePending || d.Event != "message_created" || d.EventID != ds[0].EventID {
				t.Fatalf("delivery %+v", d)
			}
		}

		// Outcomes with their attempts, in order, through the recorder.
		rec := NewRecorder(st, nil)
		at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		fail := Attempt{Attempt: 1, At: at, Status: 503, Error: "endpoint answered 503", Duration: 1500 * time.Microsecond}
		ok := Attempt{Attempt: 2, At: at.Add(time.Minute), Status: 200, Duration: 2 * time.Millisecond}
		next := at.Add(time.Hour)
		chans := []<-chan error{
			rec.Add(Outcome{ID: qs[0].ID, State: StateFailed, Attempts: 1, JobID: 41, NextAttemptAt: next, Status: 503, Error: fail.Error, Attempt: &fail}),
			rec.Add(Outcome{ID: qs[0].ID, State: StateSucceeded, Attempts: 2, Status: 200, Attempt: &ok}),
			rec.Add(Outcome{ID: qs[1].ID, State: StateDead, Attempts: 1, Status: 500, Error: "500", Attempt: &Attempt{Attempt: 1, At: at, Status: 500, Error: "500"}}),
		}
		for _, ch := range chans {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		rec.Close()
		if err := <-rec.Add(Outcome{ID: qs[2].ID}); !errors.Is(err, ErrRecorderClosed) {
			t.Fatalf("add after close: %v", err)
		}
		d, err := st.DeliveryByUUID(ctx, "u-1")
		if err != nil || d.State != StateSucceeded || d.Attempts != 2 || d.JobID != 41 || d.LastStatus != 200 || d.FinishedAt.IsZero() || !d.NextAttemptAt.IsZero() {
			t.Fatalf("u-1 %+v %v", d, err)
		}
		if as, err := st.Attempts(ctx, d.ID); err != nil || !reflect.DeepEqual(as, []Attempt{fail, ok}) {
			t.Fatalf("attempts %+v %v", as, err)
		}
		if _, err := st.DeliveryByID(ctx, 999); !errors.Is(err, ErrNoDelivery) {
			t.Fatalf("missing delivery: %v", err)
		}

		// The log: newest first, by endpoint and state, paged by id.
		list := func(f DeliveryFilter) []string {
			t.Helper()
			ds, err := st.ListDeliveries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, d := range ds {
				out = append(out, d.UUID)
			}
			return out
		}
		ep7 := []Endpoint{{AccountID: 1, WebhookID: 7}}
		for _, tt := range []struct {
			f    DeliveryFilter
			want []string
		}{
			{DeliveryFilter{}, []string{"u-2", "u-3", "u-1"}},
			{DeliveryFilter{Endpoints: ep7}, []string{"u-3", "u-1"}},
			{DeliveryFilter{States: []string{StateDead, StatePending}}, []string{"u-2", "u-3"}},
			{DeliveryFilter{Limit: 1, BeforeID: qs[1].ID}, []string{"u-3"}},
			{DeliveryFilter{Endpoints: ep7, Ascending: true, AfterID: qs[0].ID}, []string{"u-3"}},
			// Two endpoints' pages, merged by id, the limit over both.
			{DeliveryFilter{Endpoints: append(ep7, Endpoint{AccountID: 1, WebhookID: 8}), Limit: 2}, []string{"u-2", "u-3"}},
			{DeliveryFilter{Endpoints: append(ep7, Endpoint{AccountID: 1, WebhookID: 8}), Ascending: true, AfterID: qs[0].ID}, []string{"u-3", "u-2"}},
			{DeliveryFilter{Endpoints: []Endpoint{{AccountID: 1, WebhookID: 8}, {AccountID: 2, WebhookID: 7}}}, []string{"u-2"}},
			{DeliveryFilter{Since: time.Now().Add(time.Hour)}, nil},
		} {
			if got := list(tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%+v: %v, want %v", tt.f, got, tt.want)
			}
		}

		// A replay of the dead one: pending again for one more attempt, in a job.
		replayed, err := st.Requeue(ctx, c, qs[1].ID, []string{StateDead}, func(d Delivery) []river.InsertManyParams { return oneJob([]Queued{{ID: d.ID}}) })
		if err != nil || !replayed {
			t.Fatalf("requeue %v %v", replayed, err)
		}
		if d, _ := st.DeliveryByID(ctx, qs[1].ID); d.State != StatePending || d.MaxAttempts != 2 || !d.FinishedAt.IsZero() {
			t.Fatalf("replayed %+v", d)
		}
		if again, _ := st.Requeue(ctx, c, qs[1].ID, []string{StateDead}, oneJobOf); again {
			t.Fatal("a pending delivery was requeued as dead")
		}

		// Cancelling an endpoint's waiting deliveries leaves the others.
		if n, err := st.CancelWaiting(ctx, Endpoint{AccountID: 1, WebhookID: 7}, "removed"); err != nil || n != 1 {
			t.Fatalf("cancelled %d %v", n, err)
		}
		if d, _ := st.DeliveryByUUID(ctx, "u-3"); d.State != StateCancelled || d.LastError != "removed" {
			t.Fatalf("u-3 %+v", d)
		}

		// Retention: finished ones go with their attempts; an event goes
		// with its last delivery.
		for _, state := range []string{StateSucceeded, StateCancelled} {
			if n, more, err := st.DeleteFinished(ctx, state, time.Now().Add(time.Second)); err != nil || n != 1 || more {
				t.Fatalf("retention of %s: %d %v %v", state, n, more, err)
			}
		}
		if ev, ds, as, _ := st.RecordCounts(ctx); ev != 1 || ds != 1 || as != 1 {
			t.Fatalf("after retention: %d events %d deliveries %d attempts", ev, ds, as)
		}
		if ds, _ := st.ForAttempt(ctx, []int64{qs[1].ID}); len(ds) != 1 || string(ds[0].Payload) != string(payload) {
			t.Fatal("the shared event went with its other delivery")
		}
		// The replayed delivery's entry goes, and the delivery, pending
		// now, stays. Dead again, it goes by its new entry.
		if n, _, err := st.DeleteFinished(ctx, StateDead, time.Now().Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("retention of dead deliveries with the only one replayed: %d %v", n, err)
		}
		if ev, ds, as, _ := st.RecordCounts(ctx); ev != 1 || ds != 1 || as != 1 {
			t.Fatalf("after retention of dead deliveries with the only one replayed: %d events %d deliveries %d attempts", ev, ds, as)
		}
		if n, _, err := st.DeleteFinished(ctx, StateDead, time.Now().Add(time.Second)); err != nil || n != 0 {
			t.Fatalf("retention with the replayed delivery's entry gone: %d %v", n, err)
		}
		if err := st.saveOutcomes(ctx, []Outcome{{ID: qs[1].ID, State: StateDead, Attempts: 2, Status: 500, Error: "500"}}, nil); err != nil {
			t.Fatal(err)
		}
		if n, _, err := st.DeleteFinished(ctx, StateDead, time.Now().Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("retention of the replayed delivery, dead again: %d %v", n, err)
		}
		if ev, ds, as, _ := st.RecordCounts(ctx); ev != 0 || ds != 0 || as != 0 {
			t.Fatalf("after retention of every delivery: %d events %d deliveries %d attempts", ev, ds, as)
		}
	})
}

func oneJobOf(d Delivery) []river.InsertManyParams { return oneJob([]Queued{{ID: d.ID}}) }

// TestEnqueueBehindFromTheStoredBacklog: whether a delivery goes behind is
// a fact of the store (its endpoint's deliveries waiting for their first
// attempt), so a second store on the same database — a replica, or the
// daemon after a restart — decides the same.
func TestEnqueueBehindFromTheStoredBacklog(t *testing.T) {
	eachStoreURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		n := 0
		enqueue := func(st *Store, c Client, webhooks ...int64) (behind []bool) {
			t.Helper()
			ev := NewEvent{AccountID: 1, Event: "message_created", Payload: []byte(`{}`)}
			for _, w := range webhooks {
				n++
				ev.Deliveries = append(ev.Deliveries, NewDelivery{UUID: fmt.Sprint("b-", n), WebhookID: w, MaxAttempts: 3, BehindAfter: 2})
			}
			qs, err := st.Enqueue(ctx, c, []NewEvent{ev}, oneJob)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range qs {
				behind = append(behind, q.Behind)
			}
			return behind
		}
		a, ca := openInsertOnly(t, url)
		if got := enqueue(a, ca, 7, 7, 7, 8); !reflect.DeepEqual(got, []bool{false, false, true, false}) {
			t.Fatalf("first event: behind %v", got)
		}
		b, cb := openInsertOnly(t, url)
		if got := enqueue(b, cb, 7, 8); !reflect.DeepEqual(got, []bool{true, false}) {
			t.Fatalf("from a second store: behind %v", got)
		}
		// A duplicate counts once.
		if qs, err := b.Enqueue(ctx, cb, []NewEvent{{AccountID: 1, Event: "message_created", Payload: []byte(`{}`),
			Deliveries: []NewDelivery{{UUID: "b-6", WebhookID: 8, MaxAttempts: 3, BehindAfter: 2}}}}, oneJob); err != nil || !qs[0].Duplicate {
			t.Fatalf("duplicate %+v %v", qs, err)
		}
		// First attempts recorded (whatever their outcome) shrink the
		// backlog: 7 has b-1..b-3 and b-5; three attempted leave one.
		rec := NewRecorder(a, nil)
		defer rec.Close()
		for _, uuid := range []string{"b-1", "b-2", "b-3"} {
			d, err := a.DeliveryByUUID(ctx, uuid)
			if err != nil {
				t.Fatal(err)
			}
			at := Attempt{Attempt: 1, At: time.Now(), Status: 503, Error: "503"}
			if err := <-rec.Add(Outcome{ID: d.ID, State: StateFailed, Attempts: 1, NextAttemptAt: time.Now().Add(time.Hour), Status: 503, Error: "503", Attempt: &at}); err != nil {
				t.Fatal(err)
			}
		}
		if got := enqueue(b, cb, 7, 7, 8); !reflect.DeepEqual(got, []bool{false, true, true}) {
			t.Fatalf("after three first attempts: behind %v", got)
		}
	})
}

// TestEnqueueManyEvents stores batches that span several statement sizes
// (insertChunks), concurrently: each delivery must name its own event,
// whatever order the database returned the ids in, and a UUID given twice
// or stored before is a duplicate.
func TestEnqueueManyEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, st *Store, c Client) {
		ctx := context.Background()
		if _, err := st.Enqueue(ctx, c, []NewEvent{{AccountID: 1, Event: "message_created", Payload: []byte(`{}`),
			Deliveries: []NewDelivery{{UUID: "stored-before", WebhookID: 1, MaxAttempts: 1}}}}, oneJob); err != nil {
			t.Fatal(err)
		}
		batch := func(g int) []NewEvent {
			evs := make([]NewEvent, 300) // 256 + 16 + 16 + 4 + 4 + 4
			for i := range evs {
				ev := NewEvent{AccountID: 1, Event: "message_created", Payload: fmt.Appendf(nil, `{"n":"%d-%d"}`, g, i)}
				for w := range 1 + i%3 {
					ev.Deliveries = append(ev.Deliveries, NewDelivery{UUID: fmt.Sprintf("%d-%d-%d", g, i, w), WebhookID: int64(w + 1), MaxAttempts: 1})
				}
				evs[i] = ev
			}
			evs[7].Deliveries = append(evs[7].Deliveries, NewDelivery{UUID: fmt.Sprintf("%d-3-0", g), WebhookID: 9, MaxAttempts: 1})
			evs[299].Deliveries = []NewDelivery{{UUID: "stored-before", WebhookID: 1, MaxAttempts: 1}}
			return evs
		}
		const writers = 3
		errs := make(chan error, writers)
		for g := range writers {
			go func() {
				evs := batch(g)
				qs, err := st.Enqueue(ctx, c, evs, oneJob)
				if err != nil {
					errs <- err
					return
				}
				var ids []int64
				want := map[int64]string{}
				k := 0
				for i, ev := range evs {
					for _, d := range ev.Deliveries {
						q := qs[k]
						k++
						dup := (i == 7 && d.WebhookID == 9) || i == 299
						if q.UUID != d.UUID || q.Duplicate != dup || (q.ID == 0) != dup {
							errs <- fmt.Errorf("writer %d, event %d: queued %+v for %s", g, i, q, d.UUID)
							return
						}
						if !dup {
							ids = append(ids, q.ID)
							want[q.ID] = string(ev.Payload)
						}
					}
				}
				ds, err := st.ForAttempt(ctx, ids)
				if err == nil && len(ds) != len(ids) {
					err = fmt.Errorf("read %d of %d deliveries", len(ds), len(ids))
				}
				for _, d := range ds {
					if err == nil && string(d.Payload) != want[d.ID] {
						err = fmt.Errorf("writer %d: delivery %d (%s) carries %s, want %s", g, d.ID, d.UUID, d.Payload, want[d.ID])
					}
				}
				errs <- err
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		// Per writer: 299 events stored (the last one's only delivery was a
		// duplicate instead of its three), 1+2+3 deliveries per three events.
		ev, ds, _, err := st.RecordCounts(ctx)
		if err != nil || ev != 1+writers*299 || ds != 1+writers*(100*(1+2+3)-3) {
			t.Fatalf("counts: %d events, %d deliveries, %v", ev, ds, err)
		}
	})
}

// TestRetentionInBatches: an outcome write lists its finished deliveries
// in entries of finishedPerEntry per state, and retention takes
// RetentionBatch deliveries' entries at a time, oldest first, of the state
// asked only, until none is left.
func TestRetentionInBatches(t *testing.T) {
	eachStore(t, func(t *testing.T, st *Store, c Client) {
		ctx := context.Background()
		ids := enqueueN(t, st, c, 2*RetentionBatch+RetentionBatch/2+10, []byte(`{}`))
		outs := make([]Outcome, len(ids))
		for i, id := range ids {
			outs[i] = Outcome{ID: id, State: StateSucceeded, Attempts: 1, Status: 200}
			if i%251 == 0 { // 10 among them, in entries of their own
				outs[i].State = StateDead
			}
		}
		if err := st.saveOutcomes(ctx, outs, nil); err != nil {
			t.Fatal(err)
		}
		var got []int
		for more := true; more; {
			var n int
			var err error
			if n, more, err = st.DeleteFinished(ctx, StateSucceeded, time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		// SQLite writes 100 outcomes a statement, so its entries list
		// 96-100 deliveries each here; PostgreSQL writes them in one.
		want := []int{RetentionBatch, RetentionBatch, RetentionBatch / 2}
		if !st.records.arrays() {
			want = []int{996, 996, 508}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("batches %v, want %v", got, want)
		}
		if ev, ds, as, _ := st.RecordCounts(ctx); ev != 10 || ds != 10 || as != 0 {
			t.Fatalf("after retention of the succeeded: %d events %d deliveries %d attempts; want the 10 dead", ev, ds, as)
		}
		if n, more, err := st.DeleteFinished(ctx, StateDead, time.Now().Add(time.Second)); err != nil || n != 10 || more {
			t.Fatalf("retention of the dead: %d %v %v", n, more, err)
		}
		if ev, ds, as, _ := st.RecordCounts(ctx); ev != 0 || ds != 0 || as != 0 {
			t.Fatalf("after retention: %d events %d deliveries %d attempts", ev, ds, as)
		}
	})
}

// TestRetentionOfAWriteSplit: a delivery with two outcomes in one save
// splits it into writes at the same time, whose entries share their key
// (state, time, first delivery); the second's deliveries join the first's
// entry rather than being left out of the log, so retention deletes them.
func TestRetentionOfAWriteSplit(t *testing.T) {
	eachStore(t, func(t *testing.T, st *Store, c Client) {
		ctx := context.Background()
		ids := enqueueN(t, st, c, 3, []byte(`{}`))
		var outs []Outcome
		for _, i := range []int{0, 1, 0, 2} {
			outs = append(outs, Outcome{ID: ids[i], State: StateSucceeded, Attempts: 1, Status: 200})
		}
		if err := st.saveOutcomes(ctx, outs, nil); err != nil {
			t.Fatal(err)
		}
		if n, _, err := st.DeleteFinished(ctx, StateSucceeded, time.Now().Add(time.Second)); err != nil || n != 4 {
			t.Fatalf("retention: %d listed, %v; want 4 (one twice)", n, err)
		}
		if ev, ds, _, _ := st.RecordCounts(ctx); ev != 0 || ds != 0 {
			t.Fatalf("after retention: %d events %d deliveries; want none", ev, ds)
		}
	})
}

// TestOutcomesWrittenAgain: an outcome write that records an attempt
// stored already (two runs of one job) is written again whole: the
// attempt is replaced, and the write's other outcomes are stored once.
// On PostgreSQL a write that needs no River call is one round trip, its
// statement's failure the commit's; this is that path.
func TestOutcomesWrittenAgain(t *testing.T) {
	eachStore(t, func(t *testing.T, st *Store, c Client) {
		ctx := context.Background()
		ids := enqueueN(t, st, c, 2, []byte(`{}`))
		at := time.Now()
		attempt := func(n int, d time.Duration) *Attempt {
			return &Attempt{Attempt: n, At: at, Status: 503, Error: "503", Duration: d}
		}
		first := []Outcome{
			{ID: ids[0], State: StateFailed, Attempts: 1, Status: 503, Error: "503", NextAttemptAt: at.Add(time.Hour), Attempt: attempt(1, time.Millisecond)},
			{ID: ids[1], State: StateFailed, Attempts: 1, Status: 503, Error: "503", NextAttemptAt: at.Add(time.Hour), Attempt: attempt(1, time.Millisecond)},
		}
		if err := st.saveOutcomes(ctx, first, nil); err != nil {
			t.Fatal(err)
		}
		again := []Outcome{
			{ID: ids[0], State: StateFailed, Attempts: 1, Status: 503, Error: "503", NextAttemptAt: at.Add(time.Hour), Attempt: attempt(1, 2*time.Millisecond)},
			{ID: ids[1], State: StateSucceeded, Attempts: 2, Status: 200, Attempt: &Attempt{Attempt: 2, At: at, Status: 200, Duration: time.Millisecond}},
		}
		if err := st.saveOutcomes(ctx, again, nil); err != nil {
			t.Fatalf("writing an attempt stored already: %v", err)
		}
		if as, err := st.Attempts(ctx, ids[0]); err != nil || len(as) != 1 || as[0].Duration != 2*time.Millisecond {
			t.Fatalf("attempts of the delivery recorded again: %+v %v; want its one attempt, as written again", as, err)
		}
		if as, err := st.Attempts(ctx, ids[1]); err != nil || len(as) != 2 || as[1].Status != 200 {
			t.Fatalf("attempts of the other delivery: %+v %v; want 503 then 200", as, err)
		}
		if d, err := st.DeliveryByID(ctx, ids[1]); err != nil || d.State != StateSucceeded {
			t.Fatalf("the other delivery: %+v %v; want succeeded", d, err)
		}
	})
}

// TestForAttemptReadsTheDeliveriesAsked: a worker's read finds the
// deliveries it names, each with its own event's payload, whether they
// are read as a run of ids (with others of the range, not asked, left
// out) or one by one, and leaves out those not stored.
func TestForAttemptReadsTheDeliveriesAsked(t *testing.T) {
	eachStore(t, func(t *testing.T, st *Store, c Client) {
		ctx := context.Background()
		var evs []NewEvent
		for i := range 6 {
			evs = append(evs, NewEvent{AccountID: 1, Event: "message_created", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)),
				Deliveries: []NewDelivery{{UUID: fmt.Sprint("a-", i), WebhookID: 1, MaxAttempts: 1}}})
		}
		qs, err := st.Enqueue(ctx, c, evs, oneJob)
		if err != nil {
			t.Fatal(err)
		}
		id := func(i int) int64 { return qs[i].ID }
		for _, tt := range []struct {
			name string
			ids  []int64
			want []int // events of the deliveries read
		}{
			{"a run with a gap", []int64{id(0), id(1), id(3)}, []int{0, 1, 3}},
			{"a run backwards", []int64{id(5), id(4)}, []int{4, 5}},
			{"spread apart", []int64{id(0), id(5)}, []int{0, 5}},
			{"one", []int64{id(2)}, []int{2}},
			{"a run past the last stored", []int64{id(4), id(5), id(5) + 1}, []int{4, 5}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				ds, err := st.ForAttempt(ctx, tt.ids)
				if err != nil {
					t.Fatal(err)
				}
				var got []int
				for _, d := range ds {
					var p struct{ N int }
					if err := json.Unmarshal(d.Payload, &p); err != nil || d.ID != id(p.N) {
						t.Fatalf("delivery %d with payload %s", d.ID, d.Payload)
					}
					got = append(got, p.N)
				}
				slices.Sort(got)
				if !slices.Equal(got, tt.want) {
					t.Errorf("read the deliveries of events %v; want %v", got, tt.want)
				}
			})
		}
	})
}

// TestFinishedOf: a write's final outcomes make an entry per state, in the
// order of the outcomes, of finishedPerEntry at most; others make none.
func TestFinishedOf(t *testing.T) {
	var many []Outcome
	for id := int64(1); id <= finishedPerEntry+2; id++ {
		many = append(many, Outcome{ID: id, State: StateSucceeded})
	}
	for _, tt := range []struct {
		name string
		os   []Outcome
		want []finishedEntry
	}{
		{"none final", []Outcome{{ID: 1, State: StateFailed}, {ID: 2, State: StatePending}}, nil},
		{"states apart", []Outcome{{ID: 5, State: StateSucceeded}, {ID: 3, State: StateDead}, {ID: 4, State: StateFailed}, {ID: 9, State: StateSucceeded}, {ID: 7, State: StateCancelled}},
			[]finishedEntry{{StateSucceeded, 10, 5, "5,9", 2}, {StateDead, 10, 3, "3", 1}, {StateCancelled, 10, 7, "7", 1}}},
		{"past an entry's most", many, []finishedEntry{{StateSucceeded, 10, 1, strings.Join(idsText(1, finishedPerEntry), ","), finishedPerEntry},
			{StateSucceeded, 10, finishedPerEntry + 1, strings.Join(idsText(finishedPerEntry+1, finishedPerEntry+2), ","), 2}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := finishedOf(tt.os, 10); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("finishedOf:\n%v\nwant\n%v", got, tt.want)
			}
			for _, e := range tt.want {
				ids, err := parseFinished(e.ids)
				if err != nil || len(ids) != e.listed || ids[0] != e.first {
					t.Fatalf("parseFinished(%q): %v %v", e.ids, ids, err)
				}
			}
		})
	}
	if _, err := parseFinished("1,x"); err == nil || !strings.Contains(err.Error(), `"1,x"`) {
		t.Fatalf("parseFinished of a bad list: %v", err)
	}
}

func idsText(from, to int64) []string {
	var s []string
	for id := from; id <= to; id++ {
		s = append(s, strconv.FormatInt(id, 10))
	}
	return s
}

// TestOutcomesOfAWriteEachAsGiven: one write of outcomes, most sharing
// their values (on PostgreSQL, one UPDATE of their ids) and the others
// each its own, records each delivery as its outcome says.
func TestOutcomesOfAWriteEachAsGiven(t *testing.T) {
	eachStore(t, func(t *testing.T, st *Store, c Client) {
		ctx := context.Background()
		ids := enqueueN(t, st, c, 6, []byte(`{}`))
		next := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		outs := []Outcome{
			{ID: ids[0], State: StateSucceeded, Attempts: 1, Status: 200},
			{ID: ids[1], State: StateFailed, Attempts: 1, Status: 500, Error: "500", NextAttemptAt: next},
			{ID: ids[2], State: StateSucceeded, Attempts: 1, Status: 200},
			{ID: ids[3], State: StateSucceeded, Attempts: 2, Status: 204, JobID: 77},
			{ID: ids[4], State: StateDead, Attempts: 1, Status: 410, Error: "gone"},
			{ID: ids[5], State: StateSucceeded, Attempts: 1, Status: 200},
		}
		for i := range outs {
			outs[i].Attempt = &Attempt{Attempt: outs[i].Attempts, At: time.Now(), Status: outs[i].Status, Error: outs[i].Error, Duration: time.Millisecond}
		}
		if err := st.saveOutcomes(ctx, outs, nil); err != nil {
			t.Fatal(err)
		}
		for _, o := range outs {
			d, err := st.DeliveryByID(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.State != o.State || d.Attempts != o.Attempts || d.LastStatus != o.Status || d.LastError != o.Error ||
				!d.NextAttemptAt.Equal(o.NextAttemptAt) || d.FinishedAt.IsZero() != !Final(o.State) || (o.JobID != 0 && d.JobID != o.JobID) {
				t.Errorf("delivery %d: %+v; want as %+v", o.ID, d, o)
			}
		}
		if _, _, as, _ := st.RecordCounts(ctx); as != int64(len(outs)) {
			t.Errorf("%d attempts; want %d", as, len(outs))
		}
	})
}
