package bench

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

// TestBenchReplicas is the PostgreSQL half of `make bench`: the same
// daemon binary as TestBench, as 1 and then 2 replicas sharing one
// PostgreSQL database, each client posting to the replicas in turn. It
// reports durable deliveries/s to 1 endpoint, ingest→first-attempt
// latency at a fixed rate, and deliveries/s draining a stored backlog, for
// each replica count, in TestBench's table format.
//
//	BENCH=1 BENCH_STORE=postgres://... go test -run '^TestBenchReplicas$' -v ./internal/bench/
//
// The database is BENCH_STORE when it is a postgres:// DSN, else
// $CHATWOOT_TEST_POSTGRES_URL (`.ci/postgres.sh run` provides one); its
// deliveries are deleted before each scenario. BENCH_EVENTS, BENCH_CLIENTS,
// BENCH_RATE, BENCH_RATE_SECONDS, BENCH_DRAIN and BENCH_DAEMON_FLAGS apply as in
// TestBench; BENCH_REPLICAS (default "1,2") lists the replica counts.
func TestBenchReplicas(t *testing.T) {
	dsn := os.Getenv("BENCH_STORE")
	if !strings.HasPrefix(dsn, "postgres") {
		dsn = os.Getenv("CHATWOOT_TEST_POSTGRES_URL")
	}
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no PostgreSQL in CI: run the tests under .ci/postgres.sh run (make test does)")
		}
		t.Skip("no PostgreSQL: set BENCH_STORE=postgres://... or run under .ci/postgres.sh run")
	}
	b := &bench{t: t, dir: t.TempDir(), store: dsn, sync: store.SyncFull, body: payload(), only: map[string]bool{}, byReplicas: true, smoke: os.Getenv("BENCH") == ""}
	b.bin = testproc.Build(t, b.dir)
	start := time.Now()
	load0 := loadavg()
	for _, s := range strings.Split(envStr("BENCH_REPLICAS", "1,2"), ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n < 1 {
			t.Fatalf("BENCH_REPLICAS=%q: want counts like 1,2", os.Getenv("BENCH_REPLICAS"))
		}
		b.replicaThroughput(n, b.size("BENCH_EVENTS", 30000, 300), b.size("BENCH_CLIENTS", 64, 8))
		b.replicaLatency(n, b.size("BENCH_RATE", 500, 50), time.Duration(b.size("BENCH_RATE_SECONDS", 20, 2))*time.Second)
		b.drain(b.size("BENCH_DRAIN", 50000, 300), 1, n, 0)
	}
	b.report(start, load0)
}

// startReplicas starts n daemons on one store.
func (b *bench) startReplicas(e *env, storeURL string, n int) []*daemon {
	ds := make([]*daemon, n)
	for i := range ds {
		ds[i] = b.startDaemon(e, storeURL)
	}
	return ds
}

func replicaLabel(n int) string {
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}

// replicaThroughput posts events as fast as clients concurrent posters get
// them accepted, spread over the replicas, and waits for every delivery.
func (b *bench) replicaThroughput(replicas, events, clients int) {
	name := "1 endpoint, " + replicaLabel(replicas)
	env := b.newEnv(1, http.StatusOK)
	ds := b.startReplicas(env, b.freshStore(name), replicas)
	posts := b.newPostLog(clients, events, 1)
	start := time.Now()
	posts.closedLoop(clients, events, func(n int) string { return ds[n%replicas].url })
	ingested := time.Since(start)
	if f := posts.failed.Load(); f > 0 {
		b.t.Fatalf("%s: %d posts failed", name, f)
	}
	env.waitAll(b.t, events, 5*time.Minute)
	rate := float64(events) / env.lastArrival().Sub(start).Seconds()
	for _, d := range ds {
		d.stop(b.t)
	}
	e2e := posts.latencies(env.arrivals())
	b.add("durable deliveries/s, PostgreSQL, "+name, fmt.Sprintf("%s/s", thousands(rate)),
		fmt.Sprintf("%s events posted by %d concurrent clients to the replicas in turn, each answered 202 once committed; from the first POST to the last verified delivery. Ingest accepted %s/s; POST→202 p50 %s p99 %s; POST→delivered p50 %s p99 %s",
			thousands(float64(events)), clients, thousands(float64(events)/ingested.Seconds()),
			msStr(pct(posts.acks, 50)), msStr(pct(posts.acks, 99)), msStr(pct(e2e, 50)), msStr(pct(e2e, 99))))
}

// replicaLatency posts events at a fixed rate (open loop) to the replicas
// in turn and measures POST start → first attempt received.
func (b *bench) replicaLatency(replicas, rate int, dur time.Duration) {
	env := b.newEnv(1, http.StatusOK)
	ds := b.startReplicas(env, b.freshStore("latency"), replicas)
	n := int(float64(rate) * dur.Seconds())
	posts := b.newPostLog(256, n, 1)
	posts.openLoop(rate, n, func(i int) string { return ds[i%replicas].url })
	if f := posts.failed.Load(); f > 0 {
		b.t.Fatalf("latency: %d posts failed", f)
	}
	env.waitAll(b.t, n, 2*time.Minute)
	for _, d := range ds {
		d.stop(b.t)
	}
	lat := posts.latencies(env.arrivals())
	b.add(fmt.Sprintf("ingest→first attempt at %d events/s, PostgreSQL, %s", rate, replicaLabel(replicas)),
		fmt.Sprintf("p50 %s, p99 %s", msStr(pct(lat, 50)), msStr(pct(lat, 99))),
		fmt.Sprintf("%s events to 1 endpoint at a fixed %d/s for %s (open loop), to the replicas in turn; from the start of the POST to the endpoint receiving the first attempt; max %s",
			thousands(float64(n)), rate, dur, msStr(pct(lat, 100))))
}
