package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// TestRetainOnceDeletesEveryBatchDue: one retention pass takes batch after
// batch while the store says there may be more, so that more than
// store.RetentionBatch delivered deliveries past --retention all go, and a
// dead one stays with --dead-retention 0.
func TestRetainOnceDeletesEveryBatchDue(t *testing.T) {
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "r.db")
	ids := prefill(t, url, endpoints.Endpoint{AccountID: 1, ID: 1}, 2*store.RetentionBatch+300, delivery.DefaultBatchSize)
	st, err := store.Open(ctx, store.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
