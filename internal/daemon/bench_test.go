package daemon

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
)

// BenchmarkDeliveries measures events in → delivered end to end through
// the in-process daemon: concurrent clients POST message_created events
// (576 bytes) to the ingest API, each fanning out to one endpoint on
// loopback that verifies the signature. It reports deliveries/s and the
// latencies of the 202 and of the delivery (POST start → endpoint got it).
//
//	go test -run '^$' -bench Deliveries -benchtime 20000x ./internal/daemon/
//
// BENCH_CLIENTS (default 64) sets the concurrent posters; BENCH_COOLDOWN and
// BENCH_POLL override --fetch-cooldown and --fetch-poll-interval.
func BenchmarkDeliveries(b *testing.B) {
	for _, mode := range []string{"normal", "full"} {
		b.Run("synchronous="+mode, func(b *testing.B) { benchDeliveries(b, mode, envInt("BENCH_CLIENTS", 64)) })
	}
}

func benchDeliveries(b *testing.B, synchronous string, clients int) {
	rcv := newReceiver(b, "bench-secret")
	arrivals := make(map[string]time.Time, b.N)
	var arrMu sync.Mutex
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 1, URL: relayed(1, rcv.srv.URL), Subscriptions: []string{"message_created"}, Secret: "bench-secret"})
	base := startDaemon(b, cw, func(c *Config) {
		c.SQLiteSynchronous = synchronous
		c.BatchSize = delivery.DefaultBatchSize // the daemon's default; the tests' config makes a job per delivery
		c.EndpointConcurrency = 64
		benchTuning(c)
	})

	go func() {
		for id := range rcv.arrived {
			arrMu.Lock()
			arrivals[id] = time.Now()
			arrMu.Unlock()
		}
	}()

	body := benchPayload()
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	hc := &http.Client{Transport: transport}
	type sent struct {
		id         string
		start, ack time.Time
	}
	var (
		next   atomic.Int64
		mu     sync.Mutex
		sents  = make([]sent, 0, b.N)
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	b.ResetTimer()
	cpu0 := sampleCPU()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				id, err := postForDelivery(hc, base, body)
				if id == "" || err != nil {
					failed.Add(1)
					continue
				}
				mu.Lock()
				sents = append(sents, sent{id, t0, time.Now()})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ingested := time.Since(start)
	deadline := time.Now().Add(5 * time.Minute)
	for rcv.count() < len(sents) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
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
	time.Sleep(50 * time.Millisecond) // let the arrivals goroutine catch up
	arrMu.Lock()
	var ack, e2e []time.Duration
	for _, s := range sents {
		ack = append(ack, s.ack.Sub(s.start))
		e2e = append(e2e, arrivals[s.id].Sub(s.start))
	}
	arrMu.Unlock()
	b.ReportMetric(float64(len(sents))/total.Seconds(), "deliveries/s")
	b.ReportMetric(float64(len(sents))/ingested.Seconds(), "ingested/s")
	b.ReportMetric(ms(pct(ack, 50)), "ack_p50_ms")
	b.ReportMetric(ms(pct(ack, 99)), "ack_p99_ms")
	b.ReportMetric(ms(pct(e2e, 50)), "e2e_p50_ms")
	b.ReportMetric(ms(pct(e2e, 99)), "e2e_p99_ms")
}

// benchTuning applies the benchmarks' tuning overrides: BENCH_COOLDOWN and
// BENCH_POLL (--fetch-cooldown, --fetch-poll-interval), BENCH_WORKERS
// (--workers) and BENCH_ENDPOINT_CONCURRENCY (--endpoint-concurrency).
func benchTuning(c *Config) {
	if v := os.Getenv("BENCH_COOLDOWN"); v != "" {
		c.FetchCooldown, _ = time.ParseDuration(v)
	}
	if v := os.Getenv("BENCH_POLL"); v != "" {
		c.FetchPollInterval, _ = time.ParseDuration(v)
	}
	c.Workers = envInt("BENCH_WORKERS", c.Workers)
	c.EndpointConcurrency = envInt("BENCH_ENDPOINT_CONCURRENCY", c.EndpointConcurrency)
}

// cpuSample is the CPU time used so far by this process and by the whole
// machine (every process, PostgreSQL included).
type cpuSample struct{ self, machine time.Duration }

func sampleCPU() cpuSample {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s := cpuSample{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		// cpu  user nice system idle iowait irq softirq steal ...
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		var ticks int64
		for i, v := range f[1:] {
			if i == 3 || i == 4 { // idle, iowait
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
		s.machine = time.Duration(ticks) * 10 * time.Millisecond // USER_HZ 100
	}
	return s
}

// report adds the CPU per delivery since s: this process (daemon, clients
// and receivers) and the whole machine.
func (s cpuSample) report(b *testing.B, deliveries int) {
	now := sampleCPU()
	if deliveries == 0 {
		return
	}
	b.ReportMetric(float64((now.self-s.self).Microseconds())/float64(deliveries), "proc_cpu_us/delivery")
	b.ReportMetric(float64((now.machine-s.machine).Microseconds())/float64(deliveries), "machine_cpu_us/delivery")
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchPayload is a realistic message_created event of about 576 bytes,
// the size the reference loopback ceiling was measured with.
func benchPayload() []byte {
	b := []byte(fmt.Sprintf(`{"event":"message_created","id":4242,"content":"Hello, I would like to know more about your pricing plans for teams.","content_type":"text","content_attributes":{},"message_type":"incoming","created_at":"2026-05-01T10:00:00.000Z","private":false,"source_id":null,"additional_attributes":{},"sender":{"id":12,"name":"Jane Doe","email":"jane@example.com","type":"contact"},"conversation":{"id":31,"inbox_id":3,"status":"open","additional_attributes":{},"labels":[]},"inbox":{"id":3,"name":"Website"},"account":{"id":1,"name":"Acme"},"pad":"%s"}`, "x"))
	for len(b) < 576 {
		b = bytes.Replace(b, []byte(`"pad":"`), []byte(`"pad":"x`), 1)
	}
	return b
}
