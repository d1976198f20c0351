package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
)

// BenchmarkDeliveriesPostgres is BenchmarkDeliveries over PostgreSQL with
// one and two replicas (in-process daemons sharing one database, each
// client posting to them in turn): concurrent clients POST message_created
// events (576 bytes), each delivered to one endpoint on loopback that
// verifies the signature. It reports deliveries/s (first POST to last
// delivery), ingested/s, and p50/p99 of the 202 and of the delivery (POST
// start → endpoint got it).
//
//	eval "$(.ci/postgres.sh start)"
//	go test -run '^$' -bench 'DeliveriesPostgres' -benchtime 50000x ./internal/daemon/
//
// The database is a fresh one on $CHATWOOT_TEST_POSTGRES_URL's server, or
// $BENCH_STORE itself when that is a postgres:// URL. BENCH_CLIENTS
// (default 64) sets the concurrent posters; BENCH_COOLDOWN and BENCH_POLL
// override the store's fetch tuning.
func BenchmarkDeliveriesPostgres(b *testing.B) {
	for _, replicas := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			benchLoad(b, benchPostgres(b), replicas, envInt("BENCH_CLIENTS", 64), 0)
		})
	}
}

// BenchmarkDrain measures delivery alone, as the store's ceiling with real
// HTTP: b.N deliveries (576 bytes each, one endpoint) are stored up front
// with the store's Enqueue in transactions of 1,000 — a job each (batch=1), or
// coalesced as ingest stores deliveries committed together (batch=50) —
// then the replicas start and deliver them to an endpoint on loopback that
// verifies every signature. deliveries/s counts from the first delivery to
// arrive to the last: how fast a backlog drains, no ingest requests.
//
//	go test -run '^$' -bench 'Drain' -benchtime 50000x ./internal/daemon/
func BenchmarkDrain(b *testing.B) {
	for _, batch := range []int{1, delivery.DefaultBatchSize} {
		b.Run(fmt.Sprintf("store=sqlite/replicas=1/batch=%d", batch), func(b *testing.B) {
			path := "sqlite:" + filepath.Join(b.TempDir(), "drain.db")
			benchDrain(b, func(c *Config) { c.Store = path }, 1, batch)
		})
		for _, replicas := range []int{1, 2} {
			b.Run(fmt.Sprintf("store=postgres/replicas=%d/batch=%d", replicas, batch), func(b *testing.B) {
				benchDrain(b, benchPostgres(b), replicas, batch)
			})
		}
	}
}

func benchDrain(b *testing.B, store func(*Config), replicas, batch int) {
	rcv := newReceiver(b, "bench-secret")
	ep := endpoints.Endpoint{AccountID: 1, ID: 1, URL: rcv.srv.URL, Subscriptions: []string{"message_created"}, Secret: "bench-secret"}
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: ep.ID, URL: relayed(1, ep.URL), Subscriptions: ep.Subscriptions, Secret: ep.Secret})
	var cfg Config
	store(&cfg)
	prefill(b, cfg.Store, ep, b.N, batch)
	go func() {
		for range rcv.arrived {
		}
	}()

	b.ResetTimer()
	cpu0 := sampleCPU()
	for range replicas {
		startDaemon(b, cw, func(c *Config) {
			store(c)
			c.SQLiteSynchronous = "full"
			c.EndpointConcurrency = 64
			benchTuning(c)
		})
	}
	deadline := time.Now().Add(5 * time.Minute)
	for rcv.count() < b.N && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cpu0.report(b, b.N)
	if got := rcv.count(); got != b.N {
		b.Fatalf("delivered %d of %d", got, b.N)
	}
	var first, last time.Time
	rcv.mu.Lock()
	for _, at := range rcv.times {
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	rcv.mu.Unlock()
	b.ReportMetric(float64(b.N-1)/last.Sub(first).Seconds(), "deliveries/s")
}

// prefill stores n deliveries to ep in the store at url, coalesced into
// batches of batch, and returns their ids.
func prefill(tb testing.TB, url string, ep endpoints.Endpoint, n, batch int) []int64 {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: url, Synchronous: store.SyncNormal})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	c, err := st.NewClient(&river.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	body := benchPayload()
	var ids []int64
	for i := 0; i < n; i += 1000 {
		evs := make([]store.NewEvent, min(1000, n-i))
		for j := range evs {
			evs[j] = store.NewEvent{AccountID: ep.AccountID, Event: "message_created", Payload: body,
				Deliveries: []store.NewDelivery{{UUID: uuid.NewString(), WebhookID: ep.ID, MaxAttempts: 4}}}
		}
		qs, err := st.Enqueue(ctx, c, evs, func(qs []store.Queued) []river.InsertManyParams { return delivery.JobsFor(qs, batch) })
		if err != nil {
			tb.Fatal(err)
		}
		for _, q := range qs {
			ids = append(ids, q.ID)
		}
	}
	return ids
}

// BenchmarkLatencyAtRate measures delivery latency under a steady load well
// below capacity: events posted at BENCH_RATE per second (default 200),
// each by its own request, on SQLite and on PostgreSQL with one replica.
//
//	go test -run '^$' -bench 'LatencyAtRate' -benchtime 4000x ./internal/daemon/
func BenchmarkLatencyAtRate(b *testing.B) {
	rate := envInt("BENCH_RATE", 200)
	b.Run(fmt.Sprintf("store=sqlite/rate=%d", rate), func(b *testing.B) {
		benchLoad(b, func(*Config) {}, 1, 0, rate)
	})
	b.Run(fmt.Sprintf("store=postgres/rate=%d", rate), func(b *testing.B) {
		benchLoad(b, benchPostgres(b), 1, 0, rate)
	})
}

// benchPostgres configures replicas on the benchmark's PostgreSQL database
// with the store's own fetch tuning.
func benchPostgres(b *testing.B) func(*Config) {
	dsn := os.Getenv("BENCH_STORE")
	if !strings.HasPrefix(dsn, "postgres") {
		dsn = storetest.NewDatabase(b)
	}
	return func(c *Config) {
		c.Store = dsn
		c.FetchCooldown, c.FetchPollInterval = 0, 0
	}
}

// benchLoad posts b.N events to replicas daemons configured by store: from
// clients concurrent posters as fast as they go (closed loop), or, with
// clients 0, at rate events per second (open loop).
func benchLoad(b *testing.B, store func(*Config), replicas, clients, rate int) {
	rcv := newReceiver(b, "bench-secret")
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 1, URL: relayed(1, rcv.srv.URL), Subscriptions: []string{"message_created"}, Secret: "bench-secret"})
	bases := make([]string, replicas)
	for i := range bases {
		bases[i] = startDaemon(b, cw, func(c *Config) {
			store(c)
			c.BatchSize = delivery.DefaultBatchSize // the daemon's default; the tests' config makes a job per delivery
			c.EndpointConcurrency = 64
			benchTuning(c)
		})
	}
	go func() { // unused here: arrival times come from rcv.times
		for range rcv.arrived {
		}
	}()

	body := benchPayload()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(clients, 64)}}
	type sent struct {
		id         string
		start, ack time.Time
	}
	var (
		mu     sync.Mutex
		sents  = make([]sent, 0, b.N)
		failed atomic.Int64
		wg     sync.WaitGroup
		next   atomic.Int64
	)
	post := func(n int64) {
		t0 := time.Now()
		id, err := postForDelivery(hc, bases[int(n)%replicas], body)
		if id == "" || err != nil {
			failed.Add(1)
			return
		}
		mu.Lock()
		sents = append(sents, sent{id, t0, time.Now()})
		mu.Unlock()
	}

	b.ResetTimer()
	cpu0 := sampleCPU()
	start := time.Now()
	if clients > 0 {
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
					post(n)
				}
			}()
		}
	} else {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		for n := range int64(b.N) {
			<-tick.C
			wg.Add(1)
			go func() { defer wg.Done(); post(n) }()
		}
		tick.Stop()
	}
	wg.Wait()
	ingested := time.Since(start)
	deadline := time.Now().Add(5 * time.Minute)
	for rcv.count() < len(sents) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	total := time.Since(start)
	b.StopTimer()
	cpu0.report(b, len(sents))
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d posts failed", f)
	}
	if got := rcv.count(); got != len(sents) {
		b.Fatalf("delivered %d of %d", got, len(sents))
	}
	var ack, e2e []time.Duration
	rcv.mu.Lock()
	for _, s := range sents {
		ack = append(ack, s.ack.Sub(s.start))
		e2e = append(e2e, rcv.times[s.id].Sub(s.start))
	}
	rcv.mu.Unlock()
	if clients > 0 {
		b.ReportMetric(float64(len(sents))/total.Seconds(), "deliveries/s")
		b.ReportMetric(float64(len(sents))/ingested.Seconds(), "ingested/s")
	}
	b.ReportMetric(ms(pct(ack, 50)), "ack_p50_ms")
	b.ReportMetric(ms(pct(ack, 99)), "ack_p99_ms")
	b.ReportMetric(ms(pct(e2e, 50)), "e2e_p50_ms")
	b.ReportMetric(ms(pct(e2e, 99)), "e2e_p99_ms")
}
