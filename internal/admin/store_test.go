package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
)

// TestFindDeliveryInStores: the store's own SQL finds a delivery by its id
// alone or inside a batch, and the log's cursor pages through both kinds,
// on SQLite and on PostgreSQL.
func TestFindDeliveryInStores(t *testing.T) {
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
			ep := endpoints.Endpoint{AccountID: 1, ID: 7}
			var ps []river.InsertManyParams
			for n := range 5 { // one alone (to endpoint 8), then a batch of 4
				e := ep
				if n == 0 {
					e.ID = 8
				}
				ps = append(ps, delivery.InsertParams(delivery.NewDelivery{Endpoint: e, Event: "message_created", Payload: []byte(`{"n":1}`), DeliveryID: id(n), MaxAttempts: 3}))
			}
			if _, err := c.InsertMany(ctx, delivery.Coalesce(ps, delivery.DefaultBatchSize)); err != nil {
				t.Fatal(err)
			}

			reg := endpoints.NewRegistry()
			reg.Replace(1, []chatwoot.Webhook{{ID: 7, URL: "https://a.example/h", Subscriptions: []string{"message_created"}}, {ID: 8, URL: "https://b.example/h", Subscriptions: []string{"message_created"}}})
			h := New(Options{Jobs: c, Endpoints: reg})
			for _, n := range []int{0, 3} {
				var d DeliveryJSON
				if w := do(h, "GET", "/v1/deliveries/"+id(n)); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &d) != nil || d.DeliveryID != id(n) {
					t.Fatalf("GET delivery %d: %d %s", n, w.Code, w.Body)
				}
			}
			if w := do(h, "GET", "/v1/deliveries/"+id(9)); w.Code != 404 {
				t.Fatalf("GET an unknown delivery id: %d %s", w.Code, w.Body)
			}

			var p1, p2 struct {
				Deliveries []DeliveryJSON
				NextCursor string `json:"next_cursor"`
			}
			if w := do(h, "GET", "/v1/deliveries?limit=2"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &p1) != nil {
				t.Fatalf("page 1: %d %s", w.Code, w.Body)
			}
			if len(p1.Deliveries) != 4 || p1.Deliveries[0].Batch != 4 || p1.NextCursor == "" {
				t.Fatalf("page 1 = %+v; want the batch of 4 whole, and a cursor", p1)
			}
			if w := do(h, "GET", "/v1/deliveries?limit=2&cursor="+p1.NextCursor); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &p2) != nil {
				t.Fatalf("page 2: %d %s", w.Code, w.Body)
			}
			if len(p2.Deliveries) != 1 || p2.Deliveries[0].DeliveryID != id(0) || p2.NextCursor != "" {
				t.Fatalf("page 2 = %+v; want the delivery alone, last", p2)
			}
			var by7 struct{ Deliveries []DeliveryJSON }
			if w := do(h, "GET", "/v1/deliveries?endpoint=7"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &by7) != nil || len(by7.Deliveries) != 4 {
				t.Fatalf("filter by endpoint 7: %d %s; want the batch's 4", w.Code, w.Body)
			}
		})
	}
}
