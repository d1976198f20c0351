package store

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

// TestPostgresPayloadRoundTripsByteForByte: River stores args as jsonb on
// PostgreSQL, which re-encodes the JSON around the payload string; the
// string itself must come back unchanged. jsonb cannot hold U+0000, which no
// valid JSON event contains raw (ingest rejects it), so those are left out.
func TestPostgresPayloadRoundTripsByteForByte(t *testing.T) {
	_, c := openTestURL(t, storetest.NewDatabase(t))
	payloadRoundTrip(t, c, func(p string) bool { return !strings.ContainsRune(p, 0) })
}

func TestPostgresOpenMigratesAndDescribes(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	st, _ := openTestURL(t, dsn)
	if !st.Shared || st.Tuning.FetchCooldown != time.Millisecond || st.Version == 0 || len(st.Migrated) == 0 {
		t.Fatalf("store: shared %v tuning %+v version %d migrated %v", st.Shared, st.Tuning, st.Version, st.Migrated)
	}
	if !strings.Contains(st.Description, "xxxxx") || strings.Contains(st.Description, password(t, dsn)) ||
		!strings.Contains(st.Description, "pool 10") {
		t.Fatalf("Description %q: want the DSN redacted and the pool size", st.Description)
	}
	// Opening again finds nothing to migrate.
	again, err := Open(context.Background(), Options{URL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if len(again.Migrated) != 0 || again.Version != st.Version {
		t.Fatalf("second open migrated %v to version %d, want nothing and %d", again.Migrated, again.Version, st.Version)
	}
}

// TestPostgresWritesDoNotWaitForThePool: with every connection of River's
// pool taken (workers reading deliveries, fetches), an ingest commit still
// goes through on the connections of the daemon's writes.
func TestPostgresWritesDoNotWaitForThePool(t *testing.T) {
	u, err := url.Parse(storetest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	st, c := openInsertOnly(t, u.String())
	pool := st.records.(pgDB).q.(*pgxpool.Pool)
	ctx := context.Background()
	var held []*pgxpool.Conn
	for range 4 {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	defer func() {
		for _, conn := range held {
			conn.Release()
		}
	}()
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = st.Enqueue(wait, c, []NewEvent{{AccountID: 1, Event: "message_created", Payload: []byte(`{}`),
		Deliveries: []NewDelivery{{UUID: "u-1", WebhookID: 1, MaxAttempts: 1}}}}, oneJob)
	if err != nil {
		t.Fatalf("Enqueue with River's pool taken: %v", err)
	}
}

// TestPostgresReplicasMigrateAtOnce opens the store from several goroutines
// at once on an empty database, as replicas starting together do: every
// open succeeds and the migrations are applied exactly once.
func TestPostgresReplicasMigrateAtOnce(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	const replicas = 6
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		stores   = make([]*Store, replicas)
		errs     = make([]error, replicas)
		applied  int
		migrated []int
	)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = Open(context.Background(), Options{URL: dsn})
		}()
	}
	close(start)
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		defer stores[i].Close()
		if len(stores[i].Migrated) > 0 {
			applied++
			migrated = stores[i].Migrated
		}
		if stores[i].Version != stores[0].Version {
			t.Fatalf("replica %d sees version %d, replica 0 %d", i, stores[i].Version, stores[0].Version)
		}
	}
	if applied != 1 {
		t.Fatalf("%d replicas applied migrations, want exactly 1", applied)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, distinct int
	if err := conn.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT version) FROM river_migration").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != distinct || rows != len(migrated) {
		t.Fatalf("river_migration has %d rows, %d versions; the migration applied %d", rows, distinct, len(migrated))
	}
}

// TestPostgresMigrationWaitsForTheLock: while another session holds the
// migration lock, Open waits (and says so) instead of migrating alongside.
func TestPostgresMigrationWaitsForTheLock(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		t.Fatal(err)
	}
	logs := &testproc.Buffer{}
	done := make(chan error, 1)
	go func() {
		st, err := Open(ctx, Options{URL: dsn, Logger: newTextLogger(logs)})
		if err == nil {
			st.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Open returned (%v) while another session held the migration lock", err)
	case <-time.After(500 * time.Millisecond):
	}
	if !strings.Contains(logs.String(), "another replica is migrating") {
		t.Fatalf("no notice of the wait in the logs: %q", logs.String())
	}
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock($1)", migrateLockKey); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Open still waiting after the lock was released")
	}
}

func TestPostgresOpenErrorsNeverShowThePassword(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	pw := password(t, dsn)
	u, _ := url.Parse(dsn)
	with := func(f func(u *url.URL)) string { c := *u; f(&c); return c.String() }
	tests := []struct {
		name, url, want string
	}{
		{"wrong password", with(func(u *url.URL) { u.User = url.UserPassword(u.User.Username(), pw+"-wrong") }), "cannot connect"},
		{"nothing listens", with(func(u *url.URL) { u.Host = "127.0.0.1:1" }), "cannot connect"},
		{"no such database", with(func(u *url.URL) { u.Path = "/no_such_db_" + pw }), "cannot connect"},
		{"bad sslmode", with(func(u *url.URL) { u.RawQuery = "sslmode=sometimes" }), "expected postgres://"},
		{"bad port", strings.Replace(dsn, u.Port(), "port"+pw, 1), "not a valid URL"},
		{"tiny pool", with(func(u *url.URL) { u.RawQuery = "sslmode=disable&pool_max_conns=2" }), "pool_max_conns=2 is too small"},
		{"password parameter", with(func(u *url.URL) { u.User = url.User("chatwoot"); u.Host = "127.0.0.1:1"; u.RawQuery = "password=" + pw }), "cannot connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), Options{URL: tt.url, ConnectTimeout: 5 * time.Second})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("the error shows the password: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:secret@db:5432/q?sslmode=require", "postgres://u:xxxxx@db:5432/q?sslmode=require"},
		{"postgresql://u@db/q", "postgresql://u@db/q"},
		{"postgres://u@db/q?password=secret&sslmode=disable", "postgres://u@db/q?password=xxxxx&sslmode=disable"},
		{"postgres://u:sec%40ret@db/q", "postgres://u:xxxxx@db/q"},
		{"postgres://u:secret@db:port/q", "postgres://xxxxx (not a valid URL)"},
		{"mysql://u:secret@db/q", "mysql://xxxxx"},
		{"sqlite:./x.db", "sqlite:./x.db"},
		// libpq keyword/value strings.
		{"host=db port=5432 user=u password=s3cret dbname=q", "host=db port=5432 user=u password=xxxxx dbname=q"},
		{"host=db password = 'two words \\' quoted' dbname=q", "host=db password = xxxxx dbname=q"},
		{"host=db PASSWORD=s3cret", "host=db PASSWORD=xxxxx"},
	}
	for _, tt := range tests {
		if got := RedactDSN(tt.in); got != tt.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func password(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := u.User.Password()
	if !ok || len(p) < 3 {
		t.Fatalf("the test server's DSN has no password; these tests check it is never shown")
	}
	return p
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestOpenRefusalHidesAKeywordPassword: a libpq keyword/value string is
// not a store URL; the refusal names the forms without echoing the password.
func TestOpenRefusalHidesAKeywordPassword(t *testing.T) {
	_, err := Open(context.Background(), Options{URL: "host=db.internal user=app password=hunter2-secret dbname=q"})
	if err == nil || !strings.Contains(err.Error(), "expected sqlite:PATH") || strings.Contains(err.Error(), "hunter2-secret") {
		t.Fatalf("Open = %v; want a refusal naming the forms, without the password", err)
	}
}

// TestPostgresFailedWritesReleaseTheirConnections: a write transaction
// refused in its first round trip (BEGIN with its first statements) or in
// the one of its commit (an outcome write alone in a batch) leaves nothing
// stored and gives its connection back: twice as many of each as the write
// pool holds, then good ones, all finish.
func TestPostgresFailedWritesReleaseTheirConnections(t *testing.T) {
	st, c := openInsertOnly(t, storetest.NewDatabase(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := enqueueN(t, st, c, 1, []byte(`{}`))
	// PostgreSQL's text holds no U+0000 (ingest refuses it in events).
	bad := []NewEvent{{AccountID: 1, Event: "message_created", Payload: []byte("{\"n\":\"\x00\"}"),
		Deliveries: []NewDelivery{{UUID: "refused", WebhookID: 1, MaxAttempts: 1}}}}
	failed := func(errText string) Outcome {
		return Outcome{ID: ids[0], State: StateFailed, Attempts: 1, Status: 503, Error: errText, NextAttemptAt: time.Now().Add(time.Hour),
			Attempt: &Attempt{Attempt: 1, At: time.Now(), Status: 503, Error: errText}}
	}
	for i := range 2 * writeConns {
		if _, err := st.Enqueue(ctx, c, bad, oneJob); err == nil {
			t.Fatalf("enqueue %d of a payload PostgreSQL refuses: no error", i)
		}
		if err := st.saveOutcomes(ctx, []Outcome{failed("\x00")}, nil); err == nil {
			t.Fatalf("outcome write %d that PostgreSQL refuses: no error", i)
		}
	}
	if d, err := st.DeliveryByID(ctx, ids[0]); err != nil || d.State != StatePending || d.Attempts != 0 {
		t.Fatalf("after the refused outcomes: %+v %v; want it pending, unattempted", d, err)
	}
	if ev, ds, as, err := st.RecordCounts(ctx); err != nil || ev != 1 || ds != 1 || as != 0 {
		t.Fatalf("after the refused writes: %d events, %d deliveries, %d attempts, %v; want 1, 1, 0", ev, ds, as, err)
	}
	if _, err := st.Enqueue(ctx, c, []NewEvent{{AccountID: 1, Event: "message_created", Payload: []byte(`{}`),
		Deliveries: []NewDelivery{{UUID: "accepted", WebhookID: 1, MaxAttempts: 1}}}}, oneJob); err != nil {
		t.Fatalf("enqueue after the refused writes: %v", err)
	}
	if err := st.saveOutcomes(ctx, []Outcome{failed("503")}, nil); err != nil {
		t.Fatalf("outcome write after the refused writes: %v", err)
	}
	if as, err := st.Attempts(ctx, ids[0]); err != nil || len(as) != 1 {
		t.Fatalf("attempts: %+v %v; want the one written", as, err)
	}
}
