package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
)

// TestRecordQueriesUseIndexes asks SQLite's planner how it runs the
// queries that must never scan a table: a delivery by its UUID, a
// retention batch, a worker's read, an endpoint's backlog (bounded by its
// webhook, not only its account: an account's other webhooks' deliveries
// are not read) and an endpoint's delivery log.
func TestRecordQueriesUseIndexes(t *testing.T) {
	st, _ := openTest(t)
	endpointLog, endpointLogArgs := listDeliveriesSQL(DeliveryFilter{
		Endpoints: []Endpoint{{AccountID: 1, WebhookID: 2}, {AccountID: 1, WebhookID: 3}}, States: []string{StateDead}, BeforeID: 100, Limit: 10})
	for _, tt := range []struct {
		name, q string
		args    []any
		want    string // in the plan
	}{
		{"by uuid", oneDeliverySQL(`d.uuid = $1`), []any{"x"}, "USING INDEX sqlite_autoindex_chatwoot_deliveries_1"},
		{"retention batch", finishedBatchSQL, []any{StateSucceeded, 1, 10}, "SEARCH chatwoot_finished_log USING INDEX sqlite_autoindex_chatwoot_finished_log_1 (state=? AND finished_at_us<?)"},
		{"for attempt", forAttemptSQL(st.records, 3), []any{1, 2, 3}, "SEARCH d USING INTEGER PRIMARY KEY"},
		{"for attempt, a run", forAttemptRangeSQL(st.records), []any{1, 3, 3}, "SEARCH d USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"},
		{"backlog", unattemptedSQL(st.records, 2), []any{1, 2, 1, 3, 16}, "SEARCH d USING INDEX chatwoot_deliveries_endpoint (account_id=? AND webhook_id<?)"},
		{"endpoint log", endpointLog, endpointLogArgs, "SEARCH d USING INDEX chatwoot_deliveries_endpoint (account_id=? AND webhook_id>? AND webhook_id<?)"},
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

// TestPostgresRecordQueriesUseIndexes asks PostgreSQL's planner how it
// runs a worker's read, ingest's count of an endpoint's backlog and an
// outcome write, as the store runs them (the writes in a write transaction):
// by key or through the endpoints' index, never a scan, even where the
// statistics or the batch's size make a scan look cheaper.
func TestPostgresRecordQueriesUseIndexes(t *testing.T) {
	st, c := openInsertOnly(t, storetest.NewDatabase(t))
	ctx := context.Background()
	ids := enqueueN(t, st, c, 4000, []byte(`{"event":"message_created"}`))
	byKey := func(t *testing.T, plan string) {
		t.Helper()
		if !strings.Contains(plan, "chatwoot_deliveries_pkey") || strings.Contains(plan, "Seq Scan on chatwoot_deliveries") {
			t.Errorf("plan:\n%s\nwant a lookup by chatwoot_deliveries_pkey, no scan of the deliveries", plan)
		}
	}
	t.Run("for attempt", func(t *testing.T) {
		some := make([]any, 10)
		for i := range some {
			some[i] = ids[100+i]
		}
		byKey(t, explainOn(t, st.attemptReads, forAttemptSQL(st.attemptReads, len(some)), some...))
	})
	t.Run("for attempt, a run", func(t *testing.T) {
		byKey(t, explainOn(t, st.attemptReads, forAttemptRangeSQL(st.attemptReads), ids[100], ids[149], 50))
	})
	// Statistics taken while one endpoint's 30,000 deliveries were all
	// waiting (a dead endpoint's backlog), read after they were delivered:
	// for that endpoint's backlog, the planner's own choice was to scan the
	// table, which it expected to stop at once; for another one, and for
	// that endpoint's log, with an equality on the webhook, to walk the
	// primary key and filter, which reads the whole table when the endpoint
	// has few deliveries.
	skewed, _ := openInsertOnly(t, storetest.NewDatabase(t))
	for _, q := range []string{
		`INSERT INTO chatwoot_deliveries (uuid, event_id, account_id, webhook_id, state, attempts, max_attempts,
			job_id, created_at_us, next_attempt_at_us, last_status, last_error, finished_at_us)
			SELECT 'd' || g, 1, 1, 2, 'pending', 0, 1, 0, 0, 0, 0, '', 0 FROM generate_series(1, 30000) AS g`,
		`ANALYZE chatwoot_deliveries`,
		`UPDATE chatwoot_deliveries SET state = 'succeeded', attempts = 1, finished_at_us = 1`,
	} {
		if err := skewed.records.exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("backlog", func(t *testing.T) {
		fresh := skewed
		for _, webhook := range []int{2, 3} {
			// In a write transaction, as ingest runs it.
			plan := explainInTx(t, fresh, func(tx *txn) (string, []any) { return unattemptedSQL(tx, 1), []any{1, webhook, 16} })
			if !strings.Contains(plan, "Index Scan Backward using chatwoot_deliveries_endpoint") ||
				!strings.Contains(plan, "webhook_id <=") || strings.Contains(plan, "Seq Scan") {
				t.Errorf("webhook %d: plan:\n%s\nwant chatwoot_deliveries_endpoint walked backwards from the webhook, no scan", webhook, plan)
			}
		}
	})
	t.Run("endpoint log", func(t *testing.T) {
		for _, f := range []DeliveryFilter{
			{Endpoints: []Endpoint{{AccountID: 1, WebhookID: 2}}, Limit: 50},
			{Endpoints: []Endpoint{{AccountID: 1, WebhookID: 2}, {AccountID: 1, WebhookID: 3}}, BeforeID: 20000, Limit: 50},
			// A recover's page (a state filter of which the statistics
			// know nothing matches) of an endpoint with few deliveries.
			{Endpoints: []Endpoint{{AccountID: 1, WebhookID: 3}}, States: []string{StateDead}, Ascending: true, AfterID: 10, Limit: 500},
		} {
			q, args := listDeliveriesSQL(f)
			plan := explainOn(t, skewed.records, q, args...)
			if strings.Count(plan, "using chatwoot_deliveries_endpoint") != len(f.Endpoints) ||
				strings.Contains(plan, "Scan on chatwoot_deliveries") || strings.Contains(plan, "using chatwoot_deliveries_pkey on chatwoot_deliveries d_") {
				t.Errorf("%+v: plan:\n%s\nwant a page of chatwoot_deliveries_endpoint per endpoint, then rows by key", f, plan)
			}
		}
	})
	t.Run("outcomes", func(t *testing.T) {
		// Half the store in one write: the planner's own choice would be a
		// scan.
		half := ids[:len(ids)/2]
		strs := make([]string, len(half))
		// The other half shares its values: the second UPDATE, by key too.
		plan := explainInTx(t, st, func(*txn) (string, []any) {
			args := append([]any{half, strs, half, half, half, half, strs, half}, noAttempts...)
			return outcomeArraysSQL, append(args, StateSucceeded, 1, 0, 0, 200, "", 1, ids[len(ids)/2:])
		})
		byKey(t, plan)
		if n := strings.Count(plan, "chatwoot_deliveries_pkey"); n < 2 {
			t.Errorf("plan:\n%s\nwant both UPDATEs by chatwoot_deliveries_pkey", plan)
		}
	})
}

// noAttempts are outcomeArraysSQL's attempt and finished-log arrays, empty.
var noAttempts = []any{[]int64{}, []int64{}, []int64{}, []int64{}, []string{}, []int64{}, []string{}, []int64{}, []int64{}, []string{}}

// TestPostgresRecordStatementsAreNotPrepared checks that the records'
// statements outside write transactions (the admin API's reads) leave no
// prepared statement on the server: each is planned when it runs, for the
// tables as they are then, never from a generic plan made while they were
// small.
func TestPostgresRecordStatementsAreNotPrepared(t *testing.T) {
	ctx := context.Background()
	conn := migratedConn(t)
	d := pgDB{q: conn}
	for range 10 { // past PostgreSQL's 5 custom plans before a generic one
		if err := d.query(ctx, oneDeliverySQL(`d.id = $1`), func(func(...any) error) error { return nil }, 1); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%chatwoot_deliveries%' AND statement NOT LIKE '%pg_prepared_statements%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d prepared statements of the records on the connection; want none", n)
	}
}

// TestPostgresWriteStatementsGenericPlans checks the plans PostgreSQL
// keeps for the write transactions' prepared statements: generic plans,
// made under the transactions' by-key settings on a new, empty store (where
// a scan looks cheapest), that look rows up by key, or walk the endpoints'
// index or the finished log's key, however the tables grow afterwards.
func TestPostgresWriteStatementsGenericPlans(t *testing.T) {
	st, _ := openInsertOnly(t, storetest.NewDatabase(t))
	for _, tt := range []struct {
		name, q, args, want string
	}{
		{"outcomes", outcomeArraysSQL, outcomeArgs, "chatwoot_deliveries_pkey"},
		{"outcomes written again", outcomeArraysUpsertSQL, outcomeArgs, "chatwoot_deliveries_pkey"},
		{"backlog", unattemptedSQL(pgDB{}, 2), `1, 2, 1, 3, 16`, "Index Scan Backward using chatwoot_deliveries_endpoint"},
		{"retention batch", finishedBatchSQL, `'succeeded', 1, 10`, "chatwoot_finished_log_pkey"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := genericPlanInTx(t, st, tt.q, tt.args)
			if !strings.Contains(plan, tt.want) || strings.Contains(plan, "Seq Scan on chatwoot_deliveries") {
				t.Errorf("generic plan:\n%s\nwant %s, no scan of the deliveries", plan, tt.want)
			}
		})
	}
}

// outcomeArgs are outcome arrays of two deliveries, as SQL literals.
const outcomeArgs = `'{1,2}', '{a,b}', '{1,1}', '{0,0}', '{0,0}', '{200,200}', '{"",""}', '{1,1}', '{1,2}', '{1,1}', '{1,1}', '{200,200}', '{"",""}', '{1,1}', '{succeeded}', '{1}', '{1}', '{"1,2"}', 'succeeded', 1, 0, 0, 200, '', 1, '{3,4}'`

// genericPlanInTx returns the generic plan of q, prepared in a write
// transaction of st and run with args (SQL literals), rolled back.
func genericPlanInTx(t *testing.T, st *Store, q, args string) string {
	t.Helper()
	var plan string
	inRolledBackTx(t, st, func(tx *txn) error {
		pq, err := tx.db.(*pgTxn).begun(context.Background())
		if err != nil {
			return err
		}
		plan, err = genericPlan(pq, q, args)
		return err
	})
	return plan
}

// genericPlan returns the generic plan PostgreSQL makes for q, prepared on
// pq and run with args (SQL literals). The setting it changes is undone
// with pq's transaction, if it has one.
func genericPlan(pq pgQuerier, q, args string) (string, error) {
	ctx := context.Background()
	for _, stmt := range []string{`SET plan_cache_mode = force_generic_plan`, `PREPARE generic AS ` + q} {
		if _, err := pq.Exec(ctx, stmt, pgx.QueryExecModeSimpleProtocol); err != nil {
			return "", err
		}
	}
	rows, err := pq.Query(ctx, `EXPLAIN EXECUTE generic(`+args+`)`, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	// A prepared statement outlives a transaction.
	_, err = pq.Exec(ctx, `DEALLOCATE generic`, pgx.QueryExecModeSimpleProtocol)
	return strings.Join(lines, "\n"), err
}

// TestPostgresAttemptReadsGenericPlan checks the plan of the one prepared
// statement of the records, a worker's read, as PostgreSQL makes it for a
// prepared statement on a new, empty store (a generic plan, kept): every
// delivery and payload by its primary key, never a scan, however the
// tables grow afterwards.
func TestPostgresAttemptReadsGenericPlan(t *testing.T) {
	plan, err := genericPlan(migratedConn(t), forAttemptSQL(pgDB{}, 3), `1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Index Scan using chatwoot_deliveries_pkey", "Index Scan using chatwoot_events_pkey"} {
		if !strings.Contains(plan, want) {
			t.Errorf("generic plan:\n%s\nwant %s", plan, want)
		}
	}
	if strings.Contains(plan, "Seq Scan") {
		t.Errorf("generic plan:\n%s\nscans a table", plan)
	}
}

// migratedConn opens a connection of its own, closed with the test, to a
// new PostgreSQL store with the daemon's tables.
func migratedConn(t *testing.T) *pgx.Conn {
	t.Helper()
	url := storetest.NewDatabase(t)
	openInsertOnly(t, url) // migrates
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// explainOn returns PostgreSQL's plan of q on d.
func explainOn(t *testing.T, d db, q string, args ...any) string {
	t.Helper()
	var plan []string
	err := d.query(context.Background(), `EXPLAIN `+q, func(scan func(...any) error) error {
		var line string
		err := scan(&line)
		plan = append(plan, line)
		return err
	}, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// explainInTx returns the plan of the statement stmt gives, in a write
// transaction of st (as the daemon's writes run), rolled back.
func explainInTx(t *testing.T, st *Store, stmt func(*txn) (string, []any)) string {
	t.Helper()
	var plan string
	inRolledBackTx(t, st, func(tx *txn) error {
		q, args := stmt(tx)
		plan = explainOn(t, tx, q, args...)
		return nil
	})
	return plan
}

// inRolledBackTx runs fn in a write transaction of st, rolled back.
func inRolledBackTx(t *testing.T, st *Store, fn func(*txn) error) {
	t.Helper()
	errRollback := errors.New("rolled back")
	err := st.inTx(context.Background(), func(tx *txn) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
}

// TestPostgresAttemptReadsPrepareFewStatements: a connection reading
// batches of every length from 1 to 50 prepares a statement per padded
// length (attemptReadSize) for ids spread apart, and one for runs of ids,
// which runs from its generic plan; each read finds exactly the
// deliveries it names.
func TestPostgresAttemptReadsPrepareFewStatements(t *testing.T) {
	ctx := context.Background()
	url := storetest.NewDatabase(t)
	st, c := openInsertOnly(t, url)
	var evs []NewEvent
	for i := range 200 {
		evs = append(evs, NewEvent{AccountID: 1, Event: "message_created", Payload: []byte(`{}`),
			Deliveries: []NewDelivery{{UUID: fmt.Sprint("r-", i), WebhookID: 2, MaxAttempts: 1}}})
	}
	qs, err := st.Enqueue(ctx, c, evs, oneJob)
	if err != nil {
		t.Fatal(err)
	}
	// Enough deliveries that a plan made for a run's bounds looks cheaper
	// than a generic one, unless no plan knows the bounds.
	for _, q := range []string{
		`INSERT INTO chatwoot_deliveries (uuid, event_id, account_id, webhook_id, state, attempts, max_attempts,
			job_id, created_at_us, next_attempt_at_us, last_status, last_error, finished_at_us)
			SELECT 'f' || g, (SELECT min(id) FROM chatwoot_events), 1, 3, 'succeeded', 1, 1, 0, 0, 0, 200, '', 1 FROM generate_series(1, 150000) AS g`,
		`ANALYZE chatwoot_deliveries`,
	} {
		if err := st.records.exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	d := pgDB{q: conn, prepared: true}
	for _, every := range []int{4, 1} { // spread apart (forAttemptSQL), a run (forAttemptRangeSQL)
		for n := 1; n <= 50; n++ {
			ids := make([]int64, n)
			for i := range ids {
				ids[i] = qs[i*every].ID
			}
			ds, err := forAttempt(ctx, d, ids)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != n {
				t.Fatalf("read %d of %d deliveries", len(ds), n)
			}
			for i, dv := range ds {
				if dv.ID != ids[i] {
					t.Fatalf("read %d where %v were asked", dv.ID, ids)
				}
			}
		}
	}
	var lists, ranges, customPlans int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE statement LIKE '%FROM (VALUES%'), count(*) FILTER (WHERE statement LIKE '%(SELECT $1::bigint)%'),
		COALESCE(sum(custom_plans) FILTER (WHERE statement LIKE '%(SELECT $1::bigint)%'), 0)
		FROM pg_prepared_statements WHERE statement LIKE '%chatwoot_deliveries%' AND statement NOT LIKE '%pg_prepared_statements%'`).Scan(&lists, &ranges, &customPlans); err != nil {
		t.Fatal(err)
	}
	if want := 7; lists != want { // 1, 2, 4, 8, 16, 32, 64
		t.Errorf("%d statements prepared for reads of 1 to 50 deliveries spread apart; want %d", lists, want)
	}
	if ranges != 1 || customPlans > 5 {
		t.Errorf("%d statements prepared for reads of runs of 2 to 50 deliveries, planned for their arguments %d times; want 1, planned so at most 5 times (PostgreSQL's custom plans before it settles on the generic one)", ranges, customPlans)
	}
}

// TestPostgresOutcomeUpdatesAreHOT checks that recording outcomes (a
// success, a failure to retry, then its success) changes no indexed
// column and finds room on the row's page: every UPDATE of the deliveries
// is HOT, adding no index entry. An index on state, attempts or finish
// time, or pages filled full, make them not.
func TestPostgresOutcomeUpdatesAreHOT(t *testing.T) {
	ctx := context.Background()
	url := storetest.NewDatabase(t)
	st, c := openInsertOnly(t, url)
	ids := enqueueN(t, st, c, 600, []byte(`{"event":"message_created","content":"`+strings.Repeat("x", 500)+`"}`))
	attempt := func(n, status int) *Attempt {
		return &Attempt{Attempt: n, At: time.Now(), Status: status, Duration: time.Millisecond}
	}
	var first, retried []Outcome
	for i, id := range ids {
		if i%3 == 0 {
			first = append(first, Outcome{ID: id, State: StateFailed, Attempts: 1, Status: 500, NextAttemptAt: time.Now(), Attempt: attempt(1, 500)})
			retried = append(retried, Outcome{ID: id, State: StateSucceeded, Attempts: 2, Status: 200, Attempt: attempt(2, 200)})
			continue
		}
		first = append(first, Outcome{ID: id, State: StateSucceeded, Attempts: 1, Status: 200, Attempt: attempt(1, 200)})
	}
	for _, os := range [][]Outcome{first, retried} {
		if err := st.saveOutcomes(ctx, os, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A server process reports its counts when it exits, at the latest.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	want := int64(len(first) + len(retried))
	var updates, hot int64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := conn.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'chatwoot_deliveries'`).Scan(&updates, &hot); err != nil {
			t.Fatal(err)
		}
		if updates >= want || time.Now().After(deadline) {
			break
		}
	}
	if updates != want || hot != updates {
		t.Errorf("%d updates of the deliveries, %d of them HOT; want %d, all HOT", updates, hot, want)
	}
}
