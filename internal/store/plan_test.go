package store

import (
	"context"
	"strings"
	"testing"
)

// TestRecordQueriesUseIndexes asks SQLite's planner how it runs the
// queries that must never scan a table: a delivery by its UUID, a
// retention batch (the partial index only serves a query that repeats its
// condition), a worker's read and an endpoint's delivery log.
func TestRecordQueriesUseIndexes(t *testing.T) {
	st, _ := openTest(t)
	for _, tt := range []struct {
		name, q string
		args    []any
		want    string // in the plan
	}{
		{"by uuid", oneDeliverySQL(`d.uuid = $1`), []any{"x"}, "USING INDEX sqlite_autoindex_chatwoot_deliveries_1"},
		{"retention batch", finishedBatchSQL, []any{StateSucceeded, 1, 10}, "USING INDEX chatwoot_deliveries_finished"},
		{"for attempt", forAttemptSQL(st.records, 3), []any{1, 2, 3}, "SEARCH d USING INTEGER PRIMARY KEY"},
		{"backlog", unattemptedSQL(st.records, 2), []any{1, 2, 1, 3, 16}, "USING COVERING INDEX chatwoot_deliveries_unattempted"},
		{"endpoint log", `SELECT d.id, d.state FROM chatwoot_deliveries d WHERE (d.account_id = $1 AND d.webhook_id = $2) AND d.id < $3 ORDER BY d.id DESC LIMIT $4`, []any{1, 2, 100, 10}, "USING INDEX chatwoot_deliveries_endpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var plan []string
			err := st.records.query(context.Background(), `EXPLAIN QUERY PLAN `+tt.q, func(scan func(...any) error) error {
				var id, parent, unused int
				var detail string
				err := scan(&id, &parent, &unused, &detail)
				plan = append(plan, detail)
				return err
			}, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, "; ")
			if !strings.Contains(all, tt.want) {
				t.Errorf("plan %q; want %s", all, tt.want)
			}
			if strings.Contains(all, "SCAN d") || strings.Contains(all, "SCAN chatwoot_deliveries") {
				t.Errorf("plan %q scans the deliveries", all)
			}
		})
	}
}
