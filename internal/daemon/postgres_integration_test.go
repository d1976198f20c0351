package daemon

// Integration tests of replicas over PostgreSQL with the real binary as
// subprocesses (see integration_test.go for the harness).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

// replicaArgs are a replica's flags on store, listening on addr.
func (s *stack) replicaArgs(addr, store string, extra ...string) []string {
	return append([]string{"daemon",
		"--listen", addr,
		"--chatwoot-url", s.mockURL,
		"--api-access-token", mockapi.AdminToken,
		"--store", store,
		"--allow-cidr", "127.0.0.0/8",
		"--retry-schedule", "100ms,100ms,100ms",
		"--reconcile-interval", "200ms",
		"--timeout", "2s",
		"--shutdown-timeout", "10s",
		"--log-format", "json",
	}, extra...)
}

// startReplica starts a daemon replica on store and returns it with its
// ingest base URL, once it is ready.
func (s *stack) startReplica(name, store string, extra ...string) (*testproc.Proc, string) {
	s.t.Helper()
	addr := testproc.FreeAddr(s.t)
	p := startProc(s.t, name, s.replicaArgs(addr, store, extra...)...)
	waitHTTP(s.t, "http://"+addr+"/readyz", 200, 30*time.Second)
	return p, "http://" + addr
}

// TestPostgresE2EKill9OneReplicaLosesNothing streams thousands of events
// through two replicas sharing one database, kills one with SIGKILL
// mid-stream and keeps streaming through the other. Every event answered
// 202 (by either) is delivered; the only duplicates are attempts the killed
// replica had in flight, which are at most the deliveries it held "running"
// in the database when it died; the survivor drains the queue, rescuing
// those after River's RescueStuckJobsAfter.
func TestPostgresE2EKill9OneReplicaLosesNothing(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	s := startStack(t)
	rcv := newReceiver(t, "")
	// A little latency at the endpoint keeps attempts in flight at the kill.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		rcv.serve(w, r)
	}))
	t.Cleanup(slow.Close)
	w, err := s.client.CreateWebhook(context.Background(), 1, chatwoot.WebhookInput{URL: s.relayURL(1, slow.URL), Subscriptions: []string{chatwoot.EventMessageCreated}})
	if err != nil {
		t.Fatal(err)
	}
	rcv.setSecret(w.Secret)

	const workers = "300"
	victim, victimURL := s.startReplica("replica-a", dsn, "--workers", workers)
	_, survivorURL := s.startReplica("replica-b", dsn, "--workers", workers)

	events := startStream(victimURL, survivorURL)
	testproc.WaitFor(t, 60*time.Second, "2000 accepted events", func() bool { return events.acceptedN() >= 2000 })

	victim.Stop(syscall.SIGKILL, 5*time.Second)
	conn := pgConn(t, dsn)
	// Deliveries of the killed replica stay "running" until rescued; the
	// survivor's own running ones only make this bound looser.
	// What may be sent again, counted from the store: the deliveries of
	// running jobs whose outcome was not recorded (in flight, or completed
	// inside the recorder's write window); a batch's recorded ones are not.
	runningAtKill := pgCount(t, conn, `SELECT count(*) FROM chatwoot_deliveries WHERE state NOT IN ('succeeded', 'dead', 'cancelled') AND id IN (
		SELECT unnest(string_to_array(args ->> 'ids', ','))::bigint FROM river_job WHERE kind = $1 AND state = 'running'
		UNION SELECT (args ->> 'id')::bigint FROM river_job WHERE kind = $2 AND state = 'running')`, delivery.BatchKind, delivery.Kind)
	_, deliveredAtKill, _ := rcv.stats()
	t.Logf("killed replica A with %d accepted, %d delivered, %d deliveries of running jobs not recorded", events.acceptedN(), deliveredAtKill, runningAtKill)

	testproc.WaitFor(t, 60*time.Second, "5000 accepted events", func() bool { return events.acceptedN() >= 5000 })
	all := events.finish()
	waitDelivered(t, rcv, all, 180*time.Second)
	// The killed replica's "running" deliveries wait for River's rescuer on
	// the (possibly newly elected) leader: RescueStuckJobsAfter (19s here)
	// after their attempt started, checked every 30s.
	drainStart := time.Now()
	testproc.WaitFor(t, 120*time.Second, "the survivor to drain the queue", func() bool {
		return pgCount(t, conn, `SELECT count(*) FROM river_job WHERE kind IN ($1, $2) AND state NOT IN ('completed', 'cancelled', 'discarded')`, delivery.Kind, delivery.BatchKind) == 0
	})
	t.Logf("queue drained %s after the last accepted event was delivered", time.Since(drainStart).Round(time.Second))
	hits, delivered, bad := rcv.stats()
	dups := hits - delivered
	rescued := pgCount(t, conn, `SELECT count(*) FROM river_job WHERE kind IN ($1, $2) AND cardinality(attempted_by) > 1`, delivery.Kind, delivery.BatchKind)
	perReplica := pgCount(t, conn, `SELECT count(DISTINCT attempted_by[1]) FROM river_job WHERE kind IN ($1, $2)`, delivery.Kind, delivery.BatchKind)
	t.Logf("posted %d, accepted %d, delivered %d distinct in %d requests (%d duplicates, bound %d), %d jobs attempted by both replicas, bad signatures %d",
		events.posted.Load(), len(all), delivered, hits, dups, runningAtKill, rescued, bad)
	if bad != 0 {
		t.Fatalf("%d deliveries with bad signatures", bad)
	}
	if perReplica != 2 {
		t.Fatalf("first attempts were made by %d replicas, want both", perReplica)
	}
	if dups > runningAtKill {
		t.Fatalf("%d duplicate deliveries, more than the %d deliveries running when replica A died", dups, runningAtKill)
	}
}

// TestPostgresE2EReplicasStartAtOnce starts two replicas and two `daemon
// migrate` on an empty database at the same moment: all of them succeed,
// River's migrations are applied once, by one of them, and both replicas
// deliver.
func TestPostgresE2EReplicasStartAtOnce(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	s := startStack(t)
	rcv := newReceiver(t, "")
	s.webhook(1, rcv)

	addrs := []string{testproc.FreeAddr(t), testproc.FreeAddr(t)}
	var procs []*testproc.Proc
	for i, addr := range addrs {
		procs = append(procs, startProc(t, fmt.Sprintf("replica-%d", i), s.replicaArgs(addr, dsn)...))
	}
	for i := range 2 {
		procs = append(procs, startProc(t, fmt.Sprintf("migrate-%d", i), "daemon", "migrate", "--store", dsn, "--log-format", "json"))
	}
	for _, p := range procs[2:] {
		select {
		case <-p.Done():
			if p.Err() != nil {
				t.Fatalf("%s: %v\n%s", p.Name, p.Err(), p.Output())
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%s still running after 60s", p.Name)
		}
	}
	for _, addr := range addrs {
		waitHTTP(t, "http://"+addr+"/readyz", 200, 30*time.Second)
	}
	appliers := 0
	for _, p := range procs {
		if strings.Contains(p.Output(), "Applied migration") {
			appliers++
		}
	}
	if appliers != 1 {
		t.Fatalf("%d processes applied migrations, want exactly 1", appliers)
	}
	conn := pgConn(t, dsn)
	if rows, versions := pgCount(t, conn, `SELECT count(*) FROM river_migration`), pgCount(t, conn, `SELECT count(DISTINCT version) FROM river_migration`); rows != versions || rows == 0 {
		t.Fatalf("river_migration: %d rows for %d versions", rows, versions)
	}
	var ids []string
	for _, addr := range addrs {
		resp, err := http.Post("http://"+addr+"/v1/accounts/1/events", "application/json", strings.NewReader(`{"event":"message_created"}`))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			DeliveryIDs []string `json:"delivery_ids"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || len(out.DeliveryIDs) != 1 {
			t.Fatalf("POST to %s = %d %v", addr, resp.StatusCode, out.DeliveryIDs)
		}
		ids = append(ids, out.DeliveryIDs[0])
	}
	testproc.WaitFor(t, 15*time.Second, "both deliveries", func() bool { return rcv.has(ids[0]) && rcv.has(ids[1]) })
}

// TestPostgresE2EGoneMarkSeenByEveryReplica: a 410 met by one replica
// disables the endpoint on the other too, and an enable through either is
// seen by both: the mark is in the shared store.
func TestPostgresE2EGoneMarkSeenByEveryReplica(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	s := startStack(t)
	rcv := newReceiver(t, "")
	rcv.setAnswer(func(n int) int { return map[bool]int{true: 410, false: 200}[n == 1] })
	w := s.webhook(1, rcv)
	_, a := s.startReplica("replica-a", dsn)
	_, b := s.startReplica("replica-b", dsn)

	if status, ids := postEventTo(a, 1, []byte(`{"event":"message_created","n":1}`)); status != 202 || len(ids) != 1 {
		t.Fatalf("first event: %d %v", status, ids)
	}
	testproc.WaitFor(t, 10*time.Second, "the 410", func() bool { h, _, _ := rcv.stats(); return h == 1 })
	for name, base := range map[string]string{"a": a, "b": b} {
		testproc.WaitFor(t, 10*time.Second, "replica "+name+" to see the endpoint disabled", func() bool { return endpointStatus(t, base, w.ID) == "disabled" })
	}
	if code, body := call(t, "POST", fmt.Sprintf("%s/v1/endpoints/%d/enable", b, w.ID), "", nil); code != 200 {
		t.Fatalf("enable on b: %d %s", code, body)
	}
	testproc.WaitFor(t, 15*time.Second, "replica a to see the enable", func() bool { return endpointStatus(t, a, w.ID) == "active" })
	_, ids := postEventTo(a, 1, []byte(`{"event":"message_created","n":3}`))
	if len(ids) != 1 {
		t.Fatalf("after the enable: %v", ids)
	}
	testproc.WaitFor(t, 10*time.Second, "the delivery after the enable", func() bool { return rcv.has(ids[0]) })
}
