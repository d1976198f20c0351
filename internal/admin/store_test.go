package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
)

// storeRecords is the daemon's Records: the store, a replay in a new job.
type storeRecords struct {
	*store.Store
	c store.Client
}

func (s storeRecords) Replay(ctx context.Context, id int64, from []string) (bool, error) {
	return s.Requeue(ctx, s.c, id, from, func(d store.Delivery) []river.InsertManyParams {
		return []river.InsertManyParams{delivery.AloneParams(d, 1, time.Time{})}
	})
}

// TestAdminOnStores: the store's own SQL finds a delivery by its id or its
// UUID, pages the log, and recovers only an endpoint's failed or dead
// deliveries since a time, on SQLite and on PostgreSQL.
func TestAdminOnStores(t *testing.T) {
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "q.db") },
		"postgres": func(t *testing.T) string { return storetest.NewDatabase(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, store.Options{URL: url(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			c, err := st.NewClient(&river.Config{}) // inserts and lists only
			if err != nil {
				t.Fatal(err)
			}
			id := func(n int) string { return fmt.Sprintf("30000000-0000-4000-8000-%012d", n) }
			var evs []store.NewEvent
			for n := range 5 { // one to endpoint 8, then 4 to endpoint 7
				wh := int64(7)
				if n == 0 {
					wh = 8
				}
				evs = append(evs, store.NewEvent{AccountID: 1, Event: "message_created", Payload: []byte(`{"n":1}`), Deliveries: []store.NewDelivery{{UUID: id(n), WebhookID: wh, MaxAttempts: 3}}})
			}
			qs, err := st.Enqueue(ctx, c, evs, func(qs []store.Queued) []river.InsertManyParams {
				return delivery.JobsFor(qs, delivery.DefaultBatchSize)
			})
			if err != nil {
				t.Fatal(err)
			}
			// 0 and 1 dead, 2 succeeded, 3 and 4 pending.
			rec := store.NewRecorder(st, nil)
			for _, o := range []store.Outcome{
				{ID: qs[0].ID, State: store.StateDead, Attempts: 3, Error: "500"},
				{ID: qs[1].ID, State: store.StateDead, Attempts: 3, Error: "500"},
				{ID: qs[2].ID, State: store.StateSucceeded, Attempts: 1, Status: 200, Attempt: &store.Attempt{Attempt: 1, At: time.Now(), Status: 200, Duration: time.Millisecond}},
			} {
				if err := <-rec.Add(o); err != nil {
					t.Fatal(err)
				}
			}
			rec.Close()

			reg := endpoints.NewRegistry()
			reg.Replace(1, []chatwoot.Webhook{{ID: 7, URL: "https://a.example/h", Subscriptions: []string{"message_created"}}, {ID: 8, URL: "https://b.example/h", Subscriptions: []string{"message_created"}}})
			h := New(Options{Jobs: c, Records: storeRecords{st, c}, Endpoints: reg})
			for _, n := range []int{0, 3} {
				var d DeliveryJSON
				if w := do(h, "GET", "/v1/deliveries/"+id(n)); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &d) != nil || d.DeliveryID != id(n) {
					t.Fatalf("GET delivery %d: %d %s", n, w.Code, w.Body)
				}
			}
			var d DeliveryJSON
			if w := do(h, "GET", fmt.Sprintf("/v1/deliveries/%d", qs[2].ID)); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &d) != nil ||
				d.State != "succeeded" || len(d.Attempts) != 1 || d.Attempts[0].DurationMS != 1 {
				t.Fatalf("GET a delivered one by id: %d %s", w.Code, w.Body)
			}
			if w := do(h, "GET", "/v1/deliveries/"+id(9)); w.Code != 404 {
				t.Fatalf("GET an unknown delivery id: %d %s", w.Code, w.Body)
			}

			var p1, p2 struct {
				Deliveries []DeliveryJSON
				NextCursor string `json:"next_cursor"`
			}
			if w := do(h, "GET", "/v1/deliveries?limit=3"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &p1) != nil {
				t.Fatalf("page 1: %d %s", w.Code, w.Body)
			}
			if len(p1.Deliveries) != 3 || p1.Deliveries[0].DeliveryID != id(4) || p1.NextCursor == "" {
				t.Fatalf("page 1 = %+v; want the newest 3 and a cursor", p1)
			}
			if w := do(h, "GET", "/v1/deliveries?limit=3&cursor="+p1.NextCursor); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &p2) != nil {
				t.Fatalf("page 2: %d %s", w.Code, w.Body)
			}
			if len(p2.Deliveries) != 2 || p2.Deliveries[1].DeliveryID != id(0) || p2.NextCursor != "" {
				t.Fatalf("page 2 = %+v; want the oldest 2, last", p2)
			}
			var by7 struct{ Deliveries []DeliveryJSON }
			if w := do(h, "GET", "/v1/deliveries?endpoint=7"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &by7) != nil || len(by7.Deliveries) != 4 {
				t.Fatalf("filter by endpoint 7: %d %s; want its 4", w.Code, w.Body)
			}

			// Recover endpoint 7: only its dead delivery 1, under its id.
			var out struct{ Recovered int }
			if w := do(h, "POST", "/v1/endpoints/7/recover?since=2020-01-01T00:00:00Z"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.Recovered != 1 {
				t.Fatalf("recover: %d %s", w.Code, w.Body)
			}
			for n, want := range map[int]string{0: "dead", 1: "pending", 2: "succeeded"} {
				if got, _ := st.DeliveryByUUID(ctx, id(n)); got.State != want {
					t.Fatalf("after recover delivery %d is %s, want %s", n, got.State, want)
				}
			}
		})
	}
}
