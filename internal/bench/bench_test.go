package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

// row is one line of the report.
type row struct{ measure, value, how string }

type bench struct {
	t     *testing.T
	bin   string
	dir   string
	store string // "sqlite" or a postgres DSN
	sync  string
	body  []byte
	rows  []row
	only  map[string]bool
	// byReplicas names rows by the PostgreSQL replica count (TestBenchReplicas).
	byReplicas bool
	// smoke is a run without BENCH=1 (go test ./...): tiny sizes that only
	// check the harness still works; its figures mean nothing.
	smoke bool
}

// size is a scenario's size: the environment's or the default of a full
// run, or the tiny one of a smoke run.
func (b *bench) size(name string, full, smoke int) int {
	if b.smoke {
		return smoke
	}
	return envInt(name, full)
}

// window is how long a timed measurement runs.
func (b *bench) window(full time.Duration) time.Duration {
	if b.smoke {
		return 300 * time.Millisecond
	}
	return full
}

func TestBench(t *testing.T) {
	b := &bench{
		smoke: os.Getenv("BENCH") == "",
		t:     t,
		dir:   t.TempDir(),
		store: envStr("BENCH_STORE", "sqlite"),
		sync:  envStr("BENCH_SYNCHRONOUS", store.SyncFull),
		body:  payload(),
		only:  map[string]bool{},
	}
	for _, s := range strings.Split(os.Getenv("BENCH_ONLY"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			b.only[s] = true
		}
	}
	if b.smoke {
		t.Log("smoke run with tiny sizes, checking the harness only; `make bench` (BENCH=1) measures")
	}
	b.bin = testproc.Build(t, b.dir)
	start := time.Now()
	load0 := loadavg()

	var ceiling float64
	if b.run("ceiling") {
		ceiling = b.ceiling()
	}
	if b.run("river") {
		b.riverAlone(b.size("BENCH_EVENTS", 30000, 300))
	}
	if b.run("one") {
		b.throughput("1 endpoint", 1, b.size("BENCH_EVENTS", 30000, 300), b.size("BENCH_CLIENTS", 64, 8), ceiling)
	}
	if b.run("fanout") {
		b.throughput("100 endpoints", 100, b.size("BENCH_FANOUT_EVENTS", 300, 5), max(b.size("BENCH_CLIENTS", 64, 8)/8, 2), ceiling)
	}
	if b.run("drain") {
		b.drain(b.size("BENCH_DRAIN", 50000, 300), 1, 1, ceiling)
		b.drain(b.size("BENCH_DRAIN", 50000, 300), 100, 1, ceiling)
	}
	if b.run("latency") {
		b.latency(b.size("BENCH_RATE", 500, 50), time.Duration(b.size("BENCH_RATE_SECONDS", 20, 2))*time.Second, false)
	}
	if b.run("relay") {
		b.throughputVia("1 endpoint through the relay", 1, b.size("BENCH_EVENTS", 30000, 300), b.size("BENCH_CLIENTS", 64, 8), ceiling, true)
		b.latency(b.size("BENCH_RATE", 500, 50), time.Duration(b.size("BENCH_RATE_SECONDS", 20, 2))*time.Second, true)
	}
	if b.run("dead") {
		b.deadEndpoint(b.size("BENCH_DEAD_BACKLOG", 100_000, 2000), b.size("BENCH_DEAD_RATE", 200, 50), time.Duration(b.size("BENCH_RATE_SECONDS", 20, 2))*time.Second)
	}
	if n := b.size("BENCH_BACKLOG", 1_000_000, 2000); n > 0 && b.run("backlog") {
		b.backlog(n, time.Duration(b.size("BENCH_BACKLOG_SECONDS", 60, 2))*time.Second)
	}
	b.report(start, load0)
}

func (b *bench) run(scenario string) bool { return len(b.only) == 0 || b.only[scenario] }

func (b *bench) add(measure, value, how string) {
	b.rows = append(b.rows, row{measure, value, how})
	b.t.Logf("%s: %s", measure, value)
}

func (b *bench) report(start time.Time, load0 string) {
	var w strings.Builder
	storeName := "sqlite (--sqlite-synchronous " + b.sync + ")"
	if b.store != "sqlite" {
		storeName = store.RedactDSN(b.store)
	}
	fmt.Fprintf(&w, "\n## Delivery daemon benchmark: store %s\n\n", storeName)
	if b.smoke {
		fmt.Fprintf(&w, "SMOKE RUN (no BENCH=1): tiny sizes that only check the harness; these figures mean nothing.\n\n")
	}
	fmt.Fprintf(&w, "%d CPUs, %s, %s/%s; load average %s at start, %s at the end; %s in all. Daemon flags beyond the defaults: --allow-cidr 127.0.0.0/8 %s\n\n",
		runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, load0, loadavg(), time.Since(start).Round(time.Second), os.Getenv("BENCH_DAEMON_FLAGS"))
	fmt.Fprintf(&w, "| measure | value | how |\n|---|---|---|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&w, "| %s | %s | %s |\n", r.measure, r.value, r.how)
	}
	fmt.Println(w.String())
	if f := os.Getenv("BENCH_OUT"); f != "" {
		if err := os.WriteFile(f, []byte(w.String()), 0o644); err != nil {
			b.t.Error(err)
		}
	}
}

// ceiling measures signed POSTs from a Go client to a Go server verifying
// them, over loopback with keep-alive: the physical limit a delivery
// daemon on this machine is compared with.
func (b *bench) ceiling() float64 {
	const secret = "ceiling-secret"
	var bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if chatwoot.Verify(secret, r.Header, body, 5*time.Minute, time.Now()) != nil {
			bad.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	best, bestC := b.postRate(func(c int) func() bool {
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxIdleConns: c}}
		return func() bool {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(b.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(chatwoot.HeaderDelivery, "00000000-0000-4000-8000-000000000000")
			chatwoot.SignatureHeaders(req.Header, secret, time.Now(), b.body)
			resp, err := hc.Do(req)
			if err != nil {
				return false
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return true
		}
	})
	b.add("raw signed-POST ceiling", fmt.Sprintf("%s req/s", thousands(best)),
		fmt.Sprintf("Go client → Go server over loopback (net/http both), keep-alive, the same %d-byte body, HMAC-SHA256 signed per request and verified, best of 8 and 32 connections (%d), %s each; the ratios of this page are to this figure", len(b.body), bestC, b.window(5*time.Second)))
	// The daemon's own client on the same server: what its attempts
	// would reach with nothing else to do (no store, no queue).
	sbest, sbestC := b.postRate(func(int) func() bool {
		s := delivery.NewSender(delivery.SenderOptions{})
		return func() bool {
			resp, err := s.Send(context.Background(), delivery.Request{URL: srv.URL, Secret: secret, DeliveryID: "00000000-0000-4000-8000-000000000000", Body: b.body})
			return err == nil && resp.OK()
		}
	})
	if bad.Load() > 0 {
		b.t.Fatalf("%d ceiling requests failed verification", bad.Load())
	}
	b.add("raw signed-POST rate, the daemon's sender", fmt.Sprintf("%s req/s (%.2f× the ceiling)", thousands(sbest), sbest/best),
		fmt.Sprintf("the same server and body, posted by the daemon's delivery client (delivery.Sender, fasthttp: signs, sends, reads the answer's start) from %d goroutines, best of 8 and 32; for reference, not a bar", sbestC))
	return best
}

// postRate runs post (made by newPost for the number of connections)
// from 8 and then 32 goroutines for the window and returns the better rate
// of successful posts and its count of goroutines.
func (b *bench) postRate(newPost func(conns int) func() bool) (float64, int) {
	best, bestC := 0.0, 0
	for _, c := range []int{8, 32} {
		post := newPost(c)
		var n atomic.Int64
		deadline := time.Now().Add(b.window(5 * time.Second))
		start := time.Now()
		var wg sync.WaitGroup
		for range c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if post() {
						n.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if rate := float64(n.Load()) / time.Since(start).Seconds(); rate > best {
			best, bestC = rate, c
		}
	}
	return best, bestC
}

// noopWorker completes deliveries without sending them.
type noopWorker struct {
	river.WorkerDefaults[delivery.Args]
	done chan struct{}
}

func (w *noopWorker) Work(context.Context, *river.Job[delivery.Args]) error {
	w.done <- struct{}{}
	return nil
}

// riverAlone measures River itself on the store, in this process: the same
// delivery rows worked by a no-op worker with the daemon's River settings,
// inserted first and then worked, and inserted while being worked, as the
// daemon's ingest does. No HTTP anywhere: what the store allows.
func (b *bench) riverAlone(n int) {
	for _, whileWorking := range []bool{false, true} {
		inserted, worked := b.riverNoop(n, whileWorking)
		name, how := "River alone on this store", "inserted in batches of 1,000 (InsertManyFast), then fetched and completed"
		if whileWorking {
			name, how = "River alone, inserting while working", "inserted in batches of 1,000 (InsertManyFast) while being fetched and completed"
		}
		b.add(name, fmt.Sprintf("%s jobs/s worked, %s/s inserted", thousands(float64(n)/worked.Seconds()), thousands(float64(n)/inserted.Seconds())),
			fmt.Sprintf("%s delivery rows %s by a no-op worker with the daemon's River settings, in the benchmark process: the store's own limit, no HTTP", thousands(float64(n)), how))
	}
}

// deliveryRows returns the River inserts of count delivery jobs as the
// daemon inserts them (delivery.Args: a delivery id only), numbered from
// first.
func (b *bench) deliveryRows(ep endpoints.Endpoint, first, count int) []river.InsertManyParams {
	qs := make([]store.Queued, count)
	for j := range qs {
		qs[j] = store.Queued{ID: int64(first + j + 1), AccountID: ep.AccountID, WebhookID: ep.ID, MaxAttempts: 8}
	}
	return delivery.JobsFor(qs, 1)
}

// riverNoop inserts n delivery rows and works them with a no-op worker; it
// returns how long the inserts took and how long the work took (from the
// first insert when whileWorking).
func (b *bench) riverNoop(n int, whileWorking bool) (inserted, worked time.Duration) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: b.freshStore("river"), Synchronous: b.sync})
	if err != nil {
		b.t.Fatal(err)
	}
	defer st.Close()
	w := &noopWorker{done: make(chan struct{}, n)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	c, err := st.NewClient(&river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1000}},
		Workers:           workers,
		FetchCooldown:     st.Tuning.FetchCooldown,
		FetchPollInterval: st.Tuning.FetchPollInterval,
	})
	if err != nil {
		b.t.Fatal(err)
	}
	ep := endpoints.Endpoint{AccountID: 1, ID: 1}
	insert := func() error {
		for i := 0; i < n; i += 1000 {
			if _, err := c.InsertManyFast(ctx, b.deliveryRows(ep, i, min(1000, n-i))); err != nil {
				return err
			}
		}
		return nil
	}
	start := time.Now()
	failed := make(chan error, 1)
	insertedIn := make(chan time.Duration, 1)
	if whileWorking {
		if err := c.Start(ctx); err != nil {
			b.t.Fatal(err)
		}
		go func() {
			if err := insert(); err != nil {
				failed <- err
				return
			}
			insertedIn <- time.Since(start)
		}()
	} else {
		if err := insert(); err != nil {
			b.t.Fatal(err)
		}
		insertedIn <- time.Since(start)
		start = time.Now()
		if err := c.Start(ctx); err != nil {
			b.t.Fatal(err)
		}
	}
	for range n {
		select {
		case <-w.done:
		case err := <-failed:
			b.t.Fatal(err)
		}
	}
	worked = time.Since(start)
	stop, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = c.Stop(stop)
	return <-insertedIn, worked
}

// throughput posts events as fast as `clients` concurrent posters can get
// them accepted and waits for every delivery to arrive verified.
func (b *bench) throughput(name string, nEndpoints, events, clients int, ceiling float64) {
	b.throughputVia(name, nEndpoints, events, clients, ceiling, false)
}

// throughputVia is throughput through ingest, or with relay through the
// relay route: each event posted as the mock (and Chatwoot) delivers it,
// signed with the webhook's secret under a delivery id of its own.
func (b *bench) throughputVia(name string, nEndpoints, events, clients int, ceiling float64, relay bool) {
	env := b.newEnv(nEndpoints, http.StatusOK)
	d := b.startDaemon(env, b.freshStore(name))
	total := events * nEndpoints

	posts := b.newPostLog(clients, events, nEndpoints)
	target := d.url
	if relay {
		posts.secret, target = env.sinks[0].secret, env.relayURL(d.url, env.sinks[0])
	}
	selfCPU0 := selfCPU()
	start := time.Now()
	posts.closedLoop(clients, events, func(int) string { return target })
	ingested := time.Since(start)
	if f := posts.failed.Load(); f > 0 {
		b.t.Fatalf("%s: %d posts failed\n%s", name, f, d.Output())
	}
	env.waitAll(b.t, total, 5*time.Minute)
	harnessCPU := selfCPU() - selfCPU0
	elapsed := env.lastArrival().Sub(start)
	rate := float64(total) / elapsed.Seconds()
	_, peak := d.rss()
	cpu := d.cpu()
	answered := d.metric(b.t, `chatwoot_delivery_attempts_total{status_class="2xx"}`)
	var failed float64
	for _, class := range []string{"3xx", "4xx", "5xx", "error"} {
		failed += d.metric(b.t, `chatwoot_delivery_attempts_total{status_class="`+class+`"}`)
	}
	d.stop(b.t)

	e2e := posts.latencies(env.arrivals())
	ratio := ""
	if ceiling > 0 {
		ratio = fmt.Sprintf(" (%.1f%% of the ceiling)", 100*rate/ceiling)
	}
	how := fmt.Sprintf("%s events (%s deliveries) posted by %d concurrent clients, each answered 202 once committed; from the first POST to the last verified delivery. Ingest accepted %s deliveries/s; POST→202 p50 %s p99 %s; POST→delivered p50 %s p99 %s",
		thousands(float64(events)), thousands(float64(total)), clients, thousands(float64(total)/ingested.Seconds()),
		msStr(pct(posts.acks, 50)), msStr(pct(posts.acks, 99)), msStr(pct(e2e, 50)), msStr(pct(e2e, 99)))
	if relay {
		how = fmt.Sprintf("%s events posted to the relay route by %d concurrent clients as Chatwoot delivers them (signed with the webhook's secret, an X-Chatwoot-Delivery each), each answered 200 once its signature verified and its delivery committed (deliveries committed together travel as one queue job, as ingest's do); from the first POST to the last verified delivery. The relay accepted %s events/s; POST→200 p50 %s p99 %s; POST→delivered p50 %s p99 %s",
			thousands(float64(events)), clients, thousands(float64(total)/ingested.Seconds()),
			msStr(pct(posts.acks, 50)), msStr(pct(posts.acks, 99)), msStr(pct(e2e, 50)), msStr(pct(e2e, 99)))
	}
	// Every endpoint answers 200: an attempt that failed is the daemon's
	// or the loopback's doing (a timeout, a reset), and is retried.
	how += fmt.Sprintf("; %s attempts answered 2xx, %s failed", thousands(answered), thousands(failed))
	if nEndpoints > 1 {
		how = fmt.Sprintf("one account with %d webhooks (each its own loopback server): every event fans out to all; ", nEndpoints) + how
	}
	b.add("durable deliveries/s, "+name, fmt.Sprintf("%s/s%s", thousands(rate), ratio), how)
	b.add("daemon CPU per delivery, "+name, fmt.Sprintf("%.0f µs", cpu.Seconds()*1e6/float64(total)),
		fmt.Sprintf("user+system CPU of the daemon process over its life (%s) ÷ deliveries; the benchmark process (posting clients, verifying receivers) used %.0f µs per delivery on the same cores", cpu.Round(10*time.Millisecond), harnessCPU.Seconds()*1e6/float64(total)))
	b.add("peak RSS, "+name+" run", mib(peak), "VmHWM of the daemon process at the end of the run")
}

// latency posts events at a fixed rate (open loop), to ingest or as
// Chatwoot to the relay route, and measures the time from the start of
// each POST to its answer and to the arrival of its first attempt.
func (b *bench) latency(rate int, dur time.Duration, relay bool) {
	env := b.newEnv(1, http.StatusOK)
	d := b.startDaemon(env, b.freshStore("latency"))
	n := int(float64(rate) * dur.Seconds())
	posts := b.newPostLog(256, n, 1)
	target := d.url
	if relay {
		posts.secret, target = env.sinks[0].secret, env.relayURL(d.url, env.sinks[0])
	}
	start := time.Now()
	late := posts.openLoop(rate, n, func(int) string { return target })
	sent := time.Since(start)
	if f := posts.failed.Load(); f > 0 {
		b.t.Fatalf("latency: %d posts failed", f)
	}
	env.waitAll(b.t, n, 2*time.Minute)
	_, peak := d.rss()
	d.stop(b.t)
	lat := posts.latencies(env.arrivals())
	if relay {
		b.add(fmt.Sprintf("relay answer to Chatwoot at %d events/s", rate),
			fmt.Sprintf("p50 %s, p99 %s", msStr(pct(posts.acks, 50)), msStr(pct(posts.acks, 99))),
			fmt.Sprintf("%s signed posts to the relay route at a fixed %d/s for %s (open loop, achieved %.0f/s, sender at most %s behind schedule); from the start of the POST to the relay's 200 (signature verified, delivery committed); max %s. Chatwoot's timeout is 5 s. POST→first attempt p50 %s p99 %s",
				thousands(float64(n)), rate, dur, float64(n)/sent.Seconds(), msStr(late), msStr(pct(posts.acks, 100)), msStr(pct(lat, 50)), msStr(pct(lat, 99))))
		b.add("peak RSS, relay latency run", mib(peak), "VmHWM of the daemon process")
		return
	}
	b.add(fmt.Sprintf("ingest→first attempt at %d events/s", rate),
		fmt.Sprintf("p50 %s, p99 %s", msStr(pct(lat, 50)), msStr(pct(lat, 99))),
		fmt.Sprintf("%s events to 1 endpoint at a fixed %d/s for %s (open loop, achieved %.0f/s, sender at most %s behind schedule); from the start of the POST to the endpoint receiving the first attempt; max %s; POST→202 p50 %s p99 %s",
			thousands(float64(n)), rate, dur, float64(n)/sent.Seconds(), msStr(late), msStr(pct(lat, 100)), msStr(pct(posts.acks, 50)), msStr(pct(posts.acks, 99))))
	b.add("peak RSS, latency run", mib(peak), "VmHWM of the daemon process")
}

// fillBehindAfter is --endpoint-concurrency's default: fill stores a
// backlog behind other endpoints' deliveries as ingest would.
const fillBehindAfter = 16

// fill writes n deliveries straight into the store at storeURL, spread
// over eps in turn, chunk per transaction, coalesced into batches of
// batchSize (1: a job each) as ingest coalesces deliveries committed
// together; it returns how long that took.
func (b *bench) fill(storeURL string, eps []endpoints.Endpoint, n, chunk, batchSize int) time.Duration {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: storeURL, Synchronous: store.SyncNormal})
	if err != nil {
		b.t.Fatal(err)
	}
	defer st.Close()
	c, err := st.NewClient(&river.Config{})
	if err != nil {
		b.t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < n; i += chunk {
		evs := make([]store.NewEvent, 0, min(chunk, n-i))
		for j := i; j < i+cap(evs); j++ {
			ep := eps[j%len(eps)]
			evs = append(evs, store.NewEvent{AccountID: ep.AccountID, Event: chatwoot.EventMessageCreated, Payload: b.body,
				Deliveries: []store.NewDelivery{{UUID: chatwoot.NewDeliveryID(), WebhookID: ep.ID, MaxAttempts: 8, BehindAfter: fillBehindAfter}}})
		}
		if _, err := st.Enqueue(ctx, c, evs, func(qs []store.Queued) []river.InsertManyParams { return delivery.JobsFor(qs, batchSize) }); err != nil {
			b.t.Fatal(err)
		}
	}
	return time.Since(start)
}

// drain measures delivery alone: n deliveries spread over nEndpoints live
// endpoints, stored before replicas daemons start as ingest stores
// deliveries committed together under load (batches of
// delivery.DefaultBatchSize), delivered from the first arrival to the last.
// No ingest requests share the cores.
func (b *bench) drain(n, nEndpoints, replicas int, ceiling float64) {
	env := b.newEnv(nEndpoints, http.StatusOK)
	storeURL := b.freshStore("drain")
	eps := make([]endpoints.Endpoint, nEndpoints)
	for i, s := range env.sinks {
		eps[i] = endpoints.Endpoint{AccountID: 1, ID: s.hookID}
	}
	b.fill(storeURL, eps, n, 1000, delivery.DefaultBatchSize)
	started := time.Now()
	ds := b.startReplicas(env, storeURL, replicas)
	env.waitAll(b.t, n, 5*time.Minute)
	var first time.Time
	for _, at := range env.arrivals() {
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	last := env.lastArrival()
	rate := float64(n-1) / last.Sub(first).Seconds()
	var cpu time.Duration
	for _, d := range ds {
		cpu += d.cpu()
		d.stop(b.t)
	}
	ratio := ""
	if ceiling > 0 {
		ratio = fmt.Sprintf(" (%.1f%% of the ceiling)", 100*rate/ceiling)
	}
	name, to := "deliveries/s draining a stored backlog, 1 endpoint", "one endpoint"
	if nEndpoints > 1 {
		name, to = fmt.Sprintf("deliveries/s draining a stored backlog, %d endpoints", nEndpoints), fmt.Sprintf("%d endpoints in turn (each its own loopback server)", nEndpoints)
	}
	if b.byReplicas {
		name = "deliveries/s draining a stored backlog, PostgreSQL, " + replicaLabel(replicas)
	}
	b.add(name, fmt.Sprintf("%s/s%s", thousands(rate), ratio),
		fmt.Sprintf("%s deliveries to %s stored before the daemon starts, in transactions of 1,000 coalesced into batches of %d as ingest stores them under load; from the first verified delivery to the last: delivery alone, no ingest requests (from the daemon's start to the last, with its start: %s/s). Daemon CPU %.0f µs per delivery",
			thousands(float64(n)), to, delivery.DefaultBatchSize, thousands(float64(n)/last.Sub(started).Seconds()), cpu.Seconds()*1e6/float64(n)))
}

// backlog writes n deliveries to a dead endpoint straight into the store,
// then lets the daemon work them and watches its memory.
func (b *bench) backlog(n int, dur time.Duration) {
	deadAddr := testproc.FreeAddr(b.t) // nothing listens there: connection refused
	env := b.newEnv(0, 0)
	hook := env.webhook(b.t, "http://"+deadAddr+"/hook")
	storeURL := b.freshStore("backlog")

	const batch = 10_000
	inserted := b.fill(storeURL, []endpoints.Endpoint{{AccountID: 1, ID: hook.ID}}, n, batch, 1)
	b.add(fmt.Sprintf("writing the %s-delivery backlog", thousands(float64(n))), fmt.Sprintf("%s (%s/s)", inserted.Round(time.Second), thousands(float64(n)/inserted.Seconds())),
		fmt.Sprintf("the store's Enqueue (event, delivery and job rows) in transactions of %s, straight into the store before the daemon starts (synchronous=normal for the fill)", thousands(batch)))
	size := b.storeSize(storeURL)
	b.add("store size per backlogged delivery", fmt.Sprintf("%.0f bytes", float64(size)/float64(n)),
		fmt.Sprintf("%s for the %s deliveries written above (each its event with a %d-byte payload, its delivery row and its job), before the daemon starts: %s", mib(size), thousands(float64(n)), len(b.body), b.storeSizeWhat()))

	startAt := time.Now()
	d := b.startDaemon(env, storeURL)
	ready := time.Since(startAt)
	var maxRSS int64
	deadline := time.Now().Add(dur)
	for time.Now().Before(deadline) {
		if cur, _ := d.rss(); cur > maxRSS {
			maxRSS = cur
		}
		time.Sleep(200 * time.Millisecond)
	}
	cur, peak := d.rss()
	scrapeStart := time.Now()
	attempts := d.metric(b.t, `chatwoot_delivery_attempts_total{status_class="error"}`) // counts the queue too
	scrape := time.Since(scrapeStart)
	d.stop(b.t)
	b.add(fmt.Sprintf("RSS with %s deliveries backlogged to a dead endpoint", thousands(float64(n))),
		fmt.Sprintf("%s at the end, %s peak", mib(cur), mib(peak)),
		fmt.Sprintf("the daemon started on the backlog (ready in %s) and worked it for %s: %s failed attempts (connection refused), each rescheduled on the retry schedule; RSS sampled every 200 ms (highest sample %s), peak = VmHWM. A first /metrics scrape, which counts the queue by state, took %s",
			ready.Round(100*time.Millisecond), dur, thousands(attempts), mib(maxRSS), msStr(scrape)))
}

// deadEndpoint measures what a dead endpoint costs a healthy one: n
// deliveries to an endpoint nothing listens on (connection refused) are
// stored as ingest coalesces them, and as soon as the daemon started on
// them (default retry schedule) the healthy endpoint gets rate events/s
// through the relay, as Chatwoot delivers them, for dur: the dead
// endpoint's first attempts and its first retries fall in that time.
func (b *bench) deadEndpoint(n, rate int, dur time.Duration) {
	env := b.newEnv(1, http.StatusOK)
	dead := env.webhook(b.t, "http://"+testproc.FreeAddr(b.t)+"/hook")
	storeURL := b.freshStore("dead")
	b.fill(storeURL, []endpoints.Endpoint{{AccountID: 1, ID: dead.ID}}, n, 10_000, delivery.DefaultBatchSize)
	d := b.startDaemon(env, storeURL)
	const failedSeries = `chatwoot_delivery_attempts_total{status_class="error"}`
	failed := func() float64 { return d.metric(b.t, failedSeries) }
	events := int(float64(rate) * dur.Seconds())
	posts := b.newPostLog(256, events, 1)
	posts.secret = env.sinks[0].secret
	target := env.relayURL(d.url, env.sinks[0])
	start := time.Now()
	// The first pass ends when every batch of the dead backlog has made
	// its first attempt; what follows are its retries.
	firstPass := make(chan time.Duration, 1)
	stopWatch := make(chan struct{})
	go func() {
		for t := time.NewTicker(50 * time.Millisecond); ; {
			select {
			case <-stopWatch:
				t.Stop()
				return
			case <-t.C:
				// Not failed(): t.Fatal belongs to the test's goroutine.
				if v, err := d.scrape(failedSeries); err == nil && v >= float64(n/delivery.DefaultBatchSize) {
					t.Stop()
					firstPass <- time.Since(start)
					return
				}
			}
		}
	}()
	late := posts.openLoop(rate, events, func(int) string { return target })
	sent := time.Since(start)
	close(stopWatch)
	deadAttempts := failed()
	if f := posts.failed.Load(); f > 0 {
		b.t.Fatalf("dead endpoint: %d posts failed", f)
	}
	env.waitAll(b.t, events, 2*time.Minute)
	_, peak := d.rss()
	lat := posts.latencies(env.arrivals())
	retrying := "the first pass did not end within the run"
	select {
	case fp := <-firstPass:
		arr := env.arrivals()
		var after []time.Duration
		for id, t0 := range posts.starts {
			if t0.Sub(start) >= fp {
				after = append(after, arr[id].Sub(t0))
			}
		}
		retrying = fmt.Sprintf("the first pass (each batch's first attempt) took %s; the %s events posted after it, while the backlog retries: p99 %s",
			fp.Round(100*time.Millisecond), thousands(float64(len(after))), msStr(pct(after, 99)))
	default:
	}
	if os.Getenv("BENCH_DEBUG") != "" {
		b.t.Logf("daemon CPU %s over %s", d.cpu(), sent)
		arr := env.arrivals()
		byS := map[int][]time.Duration{}
		for id, t0 := range posts.starts {
			sec := int(t0.Sub(start).Seconds())
			byS[sec] = append(byS[sec], arr[id].Sub(t0))
		}
		for sec := 0; sec < int(dur.Seconds()); sec++ {
			b.t.Logf("second %d: p50 %s p99 %s max %s", sec, msStr(pct(byS[sec], 50)), msStr(pct(byS[sec], 99)), msStr(pct(byS[sec], 100)))
		}
	}
	d.stop(b.t)
	b.add(fmt.Sprintf("healthy endpoint's POST→delivered at %d events/s while a dead endpoint's %s-delivery backlog is attempted and retried", rate, thousands(float64(n))),
		fmt.Sprintf("p50 %s, p99 %s", msStr(pct(lat, 50)), msStr(pct(lat, 99))),
		fmt.Sprintf("%s deliveries to an endpoint that refuses connections stored first (batches of %d); from the daemon's start on them (default retry schedule, %s), %s events posted to a healthy endpoint's relay route at a fixed %d/s (open loop, achieved %.0f/s, sender at most %s behind); meanwhile %s failed attempts to the dead endpoint (%s/s). Max %s; %s; relay answer p99 %s; daemon peak RSS %s",
			thousands(float64(n)), delivery.DefaultBatchSize, delivery.DefaultSchedule, thousands(float64(events)), rate, float64(events)/sent.Seconds(), msStr(late),
			thousands(deadAttempts), thousands(deadAttempts/sent.Seconds()), msStr(pct(lat, 100)), retrying, msStr(pct(posts.acks, 99)), mib(peak)))
}

// storeSize is the disk the store takes: the SQLite file and its WAL, or
// the PostgreSQL relations of the daemon's tables and River's, indexes
// and TOAST included.
func (b *bench) storeSize(storeURL string) int64 {
	if b.store == "sqlite" {
		var n int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(strings.TrimPrefix(storeURL, "sqlite:") + suffix); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.store)
	if err != nil {
		b.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, `SELECT SUM(pg_total_relation_size(t)) FROM unnest(ARRAY['river_job', 'chatwoot_events', 'chatwoot_deliveries', 'chatwoot_attempts']) AS t`).Scan(&n); err != nil {
		b.t.Fatal(err)
	}
	return n
}

// env is a Chatwoot mock with one account's webhooks pointing at sinks.
type env struct {
	mockURL string
	client  *chatwoot.Client
	sinks   []*sink
}

func (b *bench) newEnv(nEndpoints, status int) *env {
	_, ts := mockapi.NewTestServer(b.t, mockapi.Options{})
	c, err := chatwoot.NewClient(chatwoot.Options{BaseURL: ts.URL, Token: mockapi.AdminToken})
	if err != nil {
		b.t.Fatal(err)
	}
	e := &env{mockURL: ts.URL, client: c}
	for range nEndpoints {
		s := newSink(b.t, status)
		hook := e.webhook(b.t, s.srv.URL+"/hook")
		s.hookID, s.secret = hook.ID, hook.Secret
		e.sinks = append(e.sinks, s)
	}
	return e
}

// webhook creates a webhook of account 1 that goes through the relay to dest.
func (e *env) webhook(t *testing.T, dest string) chatwoot.Webhook {
	relayed := chatwoot.RelayAddress{Base: "http://relay.invalid", AccountID: 1, Destination: dest}.String()
	h, err := e.client.CreateWebhook(context.Background(), 1, chatwoot.WebhookInput{URL: relayed, Subscriptions: []string{chatwoot.EventMessageCreated}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// relayURL is the relay address of sink's webhook on the daemon at base.
func (e *env) relayURL(base string, s *sink) string {
	return chatwoot.RelayAddress{Base: base, AccountID: 1, Destination: s.srv.URL + "/hook"}.String()
}

func (e *env) count() (n int) {
	for _, s := range e.sinks {
		n += int(s.n.Load())
	}
	return n
}

func (e *env) waitAll(t *testing.T, want int, within time.Duration) {
	deadline := time.Now().Add(within)
	for e.count() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries arrived within %s", e.count(), want, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
	for _, s := range e.sinks {
		if bad := s.bad.Load(); bad > 0 {
			t.Fatalf("%d deliveries failed signature verification", bad)
		}
	}
}

func (e *env) arrivals() map[string]time.Time {
	out := map[string]time.Time{}
	for _, s := range e.sinks {
		s.mu.Lock()
		for id, at := range s.first {
			out[id] = at
		}
		s.mu.Unlock()
	}
	return out
}

func (e *env) lastArrival() (last time.Time) {
	for _, s := range e.sinks {
		s.mu.Lock()
		if s.last.After(last) {
			last = s.last
		}
		s.mu.Unlock()
	}
	return last
}

// sink is a webhook endpoint that verifies each delivery like a careful
// receiver and notes the first arrival of each delivery id.
type sink struct {
	srv    *httptest.Server
	hookID int64
	secret string
	status int
	mu     sync.Mutex
	first  map[string]time.Time
	last   time.Time
	n, bad atomic.Int64
}

func newSink(t *testing.T, status int) *sink {
	s := &sink{status: status, first: map[string]time.Time{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		if chatwoot.Verify(s.secret, r.Header, body, 5*time.Minute, now) != nil {
			s.bad.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(chatwoot.HeaderDelivery)
		s.mu.Lock()
		if _, dup := s.first[id]; !dup {
			s.first[id] = now
			s.last = now
			s.n.Add(1)
		}
		s.mu.Unlock()
		w.WriteHeader(s.status)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// daemon is the binary running `daemon`.
type daemon struct {
	*testproc.Proc
	url string
}

func (b *bench) startDaemon(e *env, storeURL string, flags ...string) *daemon {
	addr := testproc.FreeAddr(b.t)
	args := []string{"daemon", "--listen", addr, "--chatwoot-url", e.mockURL, "--api-access-token", mockapi.AdminToken,
		"--store", storeURL, "--sqlite-synchronous", b.sync, "--allow-cidr", "127.0.0.0/8", "--log-level", "warn"}
	args = append(args, flags...)
	args = append(args, strings.Fields(os.Getenv("BENCH_DAEMON_FLAGS"))...)
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), strings.Fields(os.Getenv("BENCH_DAEMON_ENV"))...)
	d := &daemon{Proc: testproc.Start(b.t, "daemon", cmd), url: "http://" + addr}
	b.t.Cleanup(func() { d.stop(b.t) })
	deadline := time.Now().Add(5 * time.Minute) // a large store takes a while to open
	for {
		resp, err := http.Get(d.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		select {
		case <-d.Done():
			b.t.Fatalf("the daemon exited:\n%s", d.Output())
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the daemon was not ready within 5 minutes:\n%s", d.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) stop(t *testing.T) {
	if !d.Stop(syscall.SIGTERM, 60*time.Second) {
		t.Errorf("the daemon did not stop within 60s of SIGTERM")
	}
}

// selfCPU returns the user+system CPU time this process used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpu returns the user+system CPU time the daemon used so far.
func (d *daemon) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.Pid()))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// rss returns the daemon's resident set size and its peak, in bytes.
func (d *daemon) rss() (cur, peak int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", d.Pid()))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			cur = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return cur, peak
}

func (d *daemon) metric(t *testing.T, series string) float64 {
	v, err := d.scrape(series)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// scrape reads one series from /metrics (0 when absent); unlike metric it
// may be called from any goroutine.
func (d *daemon) scrape(series string) (float64, error) {
	resp, err := http.Get(d.url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0, nil
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v, nil
}

// freshStore returns an empty store for a scenario: a new SQLite file, or
// the PostgreSQL store with its deliveries deleted.
func (b *bench) freshStore(name string) string {
	if b.store == "sqlite" {
		return "sqlite:" + filepath.Join(b.dir, strings.ReplaceAll(name, " ", "-")+".db")
	}
	// Migrated (the first scenario finds an empty database), then emptied
	// as a fresh SQLite file is, River's tables and ours: TRUNCATE, not
	// DELETE, gives the tables and their indexes back their empty size
	// (with DELETE and VACUUM, a drain after the other scenarios ran at
	// half its speed alone).
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URL: b.store})
	if err != nil {
		b.t.Fatal(err)
	}
	_ = st.Close()
	conn, err := pgx.Connect(ctx, b.store)
	if err != nil {
		b.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "TRUNCATE river_job, chatwoot_events, chatwoot_deliveries, chatwoot_attempts, chatwoot_finished_log, chatwoot_endpoint_state, chatwoot_endpoint_pause, chatwoot_account_webhooks"); err != nil {
		b.t.Fatal(err)
	}
	return b.store
}

// postLog posts a scenario's events and records, for each delivery, when
// its event's POST started, and how long each POST took to its 202.
type postLog struct {
	hc     *http.Client
	body   []byte
	fanout int // deliveries per event
	// secret, when set, makes posts Chatwoot's deliveries to the relay
	// route, signed with it; the target is then the relay address.
	secret string

	mu     sync.Mutex
	starts map[string]time.Time // delivery id -> POST start
	acks   []time.Duration
	failed atomic.Int64
}

func (b *bench) newPostLog(conns, events, fanout int) *postLog {
	return &postLog{
		hc:     &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}, Timeout: 60 * time.Second},
		body:   b.body,
		fanout: fanout,
		starts: make(map[string]time.Time, events*fanout),
		acks:   make([]time.Duration, 0, events),
	}
}

// post posts one event to target and records it.
func (p *postLog) post(target string) {
	t0 := time.Now()
	var ids []string
	var err error
	if p.secret != "" {
		id := uuid.NewString()
		ids, err = []string{id}, relayPost(p.hc, target, p.secret, id, p.body)
	} else {
		ids, err = postEvent(p.hc, target, p.body)
	}
	if err != nil || len(ids) != p.fanout {
		p.failed.Add(1)
		return
	}
	ack := time.Since(t0)
	p.mu.Lock()
	for _, id := range ids {
		p.starts[id] = t0
	}
	p.acks = append(p.acks, ack)
	p.mu.Unlock()
}

// closedLoop posts events from clients concurrent posters, each posting
// its next as soon as the last was answered; the n-th (from 1) goes to
// target(n).
func (p *postLog) closedLoop(clients, events int, target func(n int) string) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= int64(events); n = next.Add(1) {
				p.post(target(int(n)))
			}
		}()
	}
	wg.Wait()
}

// openLoop posts n events at a fixed rate per second, whatever the answers
// (at most 512 in flight); the i-th goes to target(i). It returns how far
// behind its schedule the sender fell at most.
func (p *postLog) openLoop(rate, n int, target func(i int) string) (late time.Duration) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 512)
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		} else {
			late = max(late, -w)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			p.post(target(i))
		}()
	}
	wg.Wait()
	return late
}

// latencies returns each delivery's time from its POST to its arrival.
func (p *postLog) latencies(arrivals map[string]time.Time) []time.Duration {
	out := make([]time.Duration, 0, len(p.starts))
	for id, t0 := range p.starts {
		out = append(out, arrivals[id].Sub(t0))
	}
	return out
}

func postEvent(hc *http.Client, base string, body []byte) ([]string, error) {
	resp, err := hc.Post(base+"/v1/accounts/1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		DeliveryIDs []string `json:"delivery_ids"`
	}
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out.DeliveryIDs, err
}

// relayPost posts body to a relay address as Chatwoot delivers it.
func relayPost(hc *http.Client, relayURL, secret, deliveryID string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, relayURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(chatwoot.HeaderDelivery, deliveryID)
	chatwoot.SignatureHeaders(req.Header, secret, time.Now(), body)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return nil
}

// payload is a realistic message_created of 576 bytes, the size the
// reference loopback ceiling was measured with.
func payload() []byte {
	b := []byte(`{"event":"message_created","id":4242,"content":"Hello, I would like to know more about your pricing plans for teams.","content_type":"text","content_attributes":{},"message_type":"incoming","created_at":"2026-05-01T10:00:00.000Z","private":false,"source_id":null,"additional_attributes":{},"sender":{"id":12,"name":"Jane Doe","email":"jane@example.com","type":"contact"},"conversation":{"id":31,"inbox_id":3,"status":"open","additional_attributes":{},"labels":[]},"inbox":{"id":3,"name":"Website"},"account":{"id":1,"name":"Acme"},"pad":"x"}`)
	for len(b) < 576 {
		b = bytes.Replace(b, []byte(`"pad":"`), []byte(`"pad":"x`), 1)
	}
	return b
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func msStr(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func thousands(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func (b *bench) storeSizeWhat() string {
	if b.store == "sqlite" {
		return "the SQLite file and its WAL"
	}
	return "pg_total_relation_size of river_job, chatwoot_events, chatwoot_deliveries and chatwoot_attempts"
}
