package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// TestRetainOnceDeletesEveryBatchDue: one retention pass takes batch after
// batch while the store says there may be more, so that more than
// store.RetentionBatch delivered deliveries past --retention all go, and a
// dead one stays with --dead-retention 0.
func TestRetainOnceDeletesEveryBatchDue(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "r.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.NewClient(&river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2*store.RetentionBatch + 300
	var ids []int64
	for len(ids) < n {
		evs := make([]store.NewEvent, min(1000, n-len(ids)))
		for i := range evs {
			evs[i] = store.NewEvent{AccountID: 1, Event: "message_created", Payload: []byte(`{}`),
				Deliveries: []store.NewDelivery{{UUID: uuid.NewString(), WebhookID: 1, MaxAttempts: 4}}}
		}
		qs, err := st.Enqueue(ctx, c, evs, func(qs []store.Queued) []river.InsertManyParams {
			return delivery.JobsFor(qs, delivery.DefaultBatchSize)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			ids = append(ids, q.ID)
		}
	}
	rec := store.NewRecorder(st, nil)
	var done []<-chan error
	for i, id := range ids {
		o := store.Outcome{ID: id, State: store.StateSucceeded, Attempts: 1, Status: 200}
		if i == 7 {
			o.State, o.Status, o.Error = store.StateDead, 410, "410 Gone"
		}
		o.Attempt = &store.Attempt{Attempt: 1, At: time.Now(), Status: o.Status, Error: o.Error, Duration: time.Millisecond}
		done = append(done, rec.Add(o))
	}
	for _, ch := range done {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	rec.Close()
	time.Sleep(2 * time.Millisecond) // past --retention

	retainOnce(ctx, st, Config{Retention: time.Millisecond}, hclog.NewNullLogger())
	ev, ds, as, err := st.RecordCounts(ctx)
	if err != nil || ev != 1 || ds != 1 || as != 1 {
		t.Fatalf("after a retention pass: %d events, %d deliveries, %d attempts, %v; want the dead one only", ev, ds, as, err)
	}
	if d, err := st.DeliveryByID(ctx, ids[7]); err != nil || d.State != store.StateDead {
		t.Fatalf("the dead delivery: %+v %v", d, err)
	}
}
