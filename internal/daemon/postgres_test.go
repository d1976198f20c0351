package daemon

// In-process tests of the daemon over PostgreSQL: several replicas (Run
// calls) sharing one database. The subprocess tests, kill -9 included, are
// in postgres_integration_test.go.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

// pgReplica configures an in-process replica on dsn with the store's own
// fetch tuning (the tests' SQLite values zeroed).
func pgReplica(dsn string, more func(*Config)) func(*Config) {
	return func(c *Config) {
		c.Store = dsn
		c.FetchCooldown, c.FetchPollInterval = 0, 0
		if more != nil {
			more(c)
		}
	}
}

// pgConn connects the test itself to a replica's database.
func pgConn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func pgCount(t testing.TB, conn *pgx.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestPostgresReplicasShareDeliveries: two replicas on one database, events
// posted to both; every delivery arrives once, signed, with the accepted
// bytes, and neither replica logs the database password, even at trace.
func TestPostgresReplicasShareDeliveries(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	rcv := newReceiver(t, "pg-secret")
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 4, URL: relayed(1, rcv.srv.URL+"/hook"), Subscriptions: []string{"message_created"}, Secret: "pg-secret"})
	var logsA, logsB testproc.Buffer
	trace := func(c *Config) { c.LogLevel = "trace" }
	bases := []string{
		startDaemonLogs(t, cw, &logsA, pgReplica(dsn, trace)),
		startDaemonLogs(t, cw, &logsB, pgReplica(dsn, trace)),
	}

	const n = 200
	want := map[string][]byte{}
	for i := range n {
		body := fmt.Appendf(nil, "{ \"event\":\"message_created\", \"id\":%d, \"content\":\"<b>é</b> \\u00e9\" }\n", i)
		status, ids := postEvent(t, bases[i%2], 1, body, "")
		if status != http.StatusAccepted || len(ids) != 1 {
			t.Fatalf("POST %d to replica %d = %d %v", i, i%2, status, ids)
		}
		want[ids[0]] = body
	}
	testproc.WaitFor(t, 20*time.Second, "every delivery", func() bool { return rcv.count() == n })
	time.Sleep(300 * time.Millisecond) // nothing more should come
	hits, delivered, bad := rcv.stats()
	if hits != n || delivered != n || bad != 0 {
		t.Fatalf("receiver: %d requests, %d deliveries, %d bad signatures; want %d, %d, 0", hits, delivered, bad, n, n)
	}
	rcv.mu.Lock()
	for id, body := range want {
		if !bytes.Equal(rcv.got[id], body) {
			t.Errorf("delivery %s: got %q, want %q", id, rcv.got[id], body)
		}
	}
	rcv.mu.Unlock()

	u, _ := url.Parse(dsn)
	pw, _ := u.User.Password()
	for name, logs := range map[string]*testproc.Buffer{"A": &logsA, "B": &logsB} {
		out := logs.String()
		if !strings.Contains(out, "xxxxx") {
			t.Errorf("replica %s never named its (redacted) store:\n%s", name, testproc.Tail(out, 2000))
		}
		if strings.Contains(out, pw) {
			t.Fatalf("replica %s logged the database password", name)
		}
	}
}

// TestPostgresRemovedWebhookCancelledOnce: both replicas notice the removed
// webhook; River's unique insert makes that one cancel job, which cancels
// every pending delivery.
func TestPostgresRemovedWebhookCancelledOnce(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	rcv := newReceiver(t, "s")
	rcv.setAnswer(func(int) int { return 500 })
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 9, URL: relayed(1, rcv.srv.URL), Subscriptions: []string{"message_created"}, Secret: "s"})
	later := pgReplica(dsn, func(c *Config) { c.Schedule, _ = delivery.ParseSchedule("1h") })
	bases := []string{startDaemon(t, cw, later), startDaemon(t, cw, later)}
	const n = 20
	for i := range n {
		if status, _ := postEvent(t, bases[i%2], 1, fmt.Appendf(nil, `{"event":"message_created","id":%d}`, i), ""); status != http.StatusAccepted {
			t.Fatalf("POST %d = %d", i, status)
		}
	}
	conn := pgConn(t, dsn)
	testproc.WaitFor(t, 20*time.Second, "every delivery to fail once and wait for its retry", func() bool {
		return pgCount(t, conn, `SELECT count(*) FROM river_job WHERE kind = $1 AND state = 'retryable'`, delivery.Kind) == n
	})

	cw.set(1) // the webhook is deleted upstream
	testproc.WaitFor(t, 20*time.Second, "the pending deliveries cancelled", func() bool {
		return pgCount(t, conn, `SELECT count(*) FROM river_job WHERE kind = $1 AND state = 'cancelled'`, delivery.Kind) == n
	})
	time.Sleep(500 * time.Millisecond) // both replicas have reconciled several times (100ms)
	rows, err := conn.Query(context.Background(), `SELECT created_at FROM river_job WHERE kind = $1`, delivery.CancelKind)
	if err != nil {
		t.Fatal(err)
	}
	created, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case len(created) == 1:
	case len(created) == 2 && !created[0].Truncate(delivery.CancelPeriod).Equal(created[1].Truncate(delivery.CancelPeriod)):
		t.Log("the two replicas' requests fell either side of a unique period boundary")
	default:
		t.Fatalf("%d cancel jobs for one removed webhook (created %v); want one", len(created), created)
	}
	if hits, _, _ := rcv.stats(); hits != n {
		t.Fatalf("the endpoint got %d attempts, want %d (one each, before the removal)", hits, n)
	}
}

// TestPostgresTuningAndFlagsOverride: without --fetch-* the replica takes
// the store's tuning (1ms cooldown); flags override it.
func TestPostgresTuningAndFlagsOverride(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	cw := newFakeChatwoot()
	cw.set(1)
	for _, tt := range []struct {
		cooldown, poll time.Duration
		want           string
	}{
		{0, 0, `fetch_cooldown=1ms fetch_poll_interval=200ms shared_store=true`},
		{30 * time.Millisecond, 0, `fetch_cooldown=30ms fetch_poll_interval=200ms`},
		{500 * time.Millisecond, 0, `fetch_cooldown=500ms fetch_poll_interval=500ms`},
	} {
		var logs testproc.Buffer
		startDaemonLogs(t, cw, &logs, pgReplica(dsn, func(c *Config) {
			c.LogLevel = "info"
			c.FetchCooldown, c.FetchPollInterval = tt.cooldown, tt.poll
		}))
		testproc.WaitFor(t, 5*time.Second, "the delivering line", func() bool { return strings.Contains(logs.String(), "delivering") })
		if !strings.Contains(logs.String(), tt.want) {
			t.Errorf("cooldown %s poll %s: log lacks %q:\n%s", tt.cooldown, tt.poll, tt.want, logs.String())
		}
	}
}

// TestMigrateCommand: `daemon migrate` applies the migrations once and
// then finds the store up to date, on both stores, without ever printing
// the database password; bad arguments name the fix.
func TestMigrateCommand(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") },
		"postgres": func(t *testing.T) string { return storetest.NewDatabase(t) },
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			storeURL := newStore(t)
			var first, second strings.Builder
			if err := MigrateCommand(context.Background(), []string{"--store", storeURL}, &first); err != nil {
				t.Fatal(err)
			}
			if err := MigrateCommand(context.Background(), []string{"--store", storeURL, "--log-format", "json"}, &second); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(first.String(), "store migrated") || !strings.Contains(second.String(), "store up to date") {
				t.Fatalf("first run:\n%s\nsecond run:\n%s", first.String(), second.String())
			}
			if u, err := url.Parse(storeURL); err == nil {
				if pw, ok := u.User.Password(); ok && strings.Contains(first.String()+second.String(), pw) {
					t.Fatal("daemon migrate printed the database password")
				}
			}
		})
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"now"}, "takes flags only"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--store", "mysql://u:pw@h/db"}, "expected sqlite:PATH"},
	} {
		err := MigrateCommand(context.Background(), tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("MigrateCommand(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}
