// Package metrics is the daemon's GET /metrics: Prometheus metrics on a
// registry of its own (prometheus/client_golang), fed by the ingest
// (deliveries queued), the delivery worker (every attempt and outcome), the
// reconciler (passes and errors) and, at scrape time, the queue (River's
// job counts by state) and the endpoint registry (endpoints disabled).
//
// # Metrics
//
//	chatwoot_deliveries_queued_total                 counter    deliveries committed by ingest
//	chatwoot_deliveries_total{outcome}               counter    deliveries that ended: delivered | dead | cancelled
//	chatwoot_delivery_retries_total                  counter    failed attempts after which a retry was scheduled
//	chatwoot_delivery_attempts_total{status_class}   counter    2xx | 3xx | 4xx | 5xx | error (no answer)
//	chatwoot_delivery_attempt_duration_seconds       histogram  request sent → answer read (or error)
//	chatwoot_delivery_queue_depth{state}             gauge      River jobs by state (available, scheduled,
//	                                                            retryable, running, pending, completed,
//	                                                            cancelled, discarded), sampled at most
//	                                                            every QueueDepthEvery
//	chatwoot_endpoints_disabled                      gauge      endpoints disabled after 410 Gone
//	chatwoot_endpoints                               gauge      endpoints reconciled
//	chatwoot_relay_requests_total{outcome}           counter    Chatwoot's posts to the relay route by outcome:
//	                                                            accepted | duplicate | bad_signature |
//	                                                            stale_timestamp | unknown_webhook |
//	                                                            refused_endpoint | bad_request | too_large |
//	                                                            store_error | not_ready
//	chatwoot_store_up                                gauge      1 when the store answers and took the last
//	                                                            commit, 0 when not (as /readyz)
//	chatwoot_reconcile_errors_total                  counter    reconcile passes that had an error
//	chatwoot_reconcile_seconds_since_success         gauge      since the last pass without error (since
//	                                                            start while there was none)
//	go_*, process_*                                  the Go runtime and process collectors
//
// Counting the queue is a full scan of River's job table on SQLite, which
// holds the store's single connection: the counts are cached and refreshed
// at most every QueueDepthEvery, and no sooner than 50 times the last
// count's duration, so a large delivery log cannot make scrapes slow the
// deliveries.
package metrics

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/ingest"
)

// StateCounter counts the queue's jobs by state (River's executor
// JobCountByAllStates).
type StateCounter func(ctx context.Context) (map[rivertype.JobState]int, error)

// Endpoints is the part of the endpoint registry the metrics read.
type Endpoints interface {
	DisabledCount() int
	Len() int
}

// Options configures Metrics.
type Options struct {
	// Counts supplies chatwoot_delivery_queue_depth; nil leaves it out.
	Counts StateCounter
	// QueueDepthEvery is the least time between two counts; default 10s.
	QueueDepthEvery time.Duration
	// Endpoints supplies the endpoint gauges; nil leaves them out.
	Endpoints Endpoints
	// StoreUp supplies chatwoot_store_up (1 healthy, 0 not); nil leaves it out.
	StoreUp func() float64
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Metrics holds the daemon's collectors. Its Observe methods are safe for
// concurrent use and cheap enough for the delivery hot path.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	queued          prometheus.Counter
	outcomes        map[delivery.Outcome]prometheus.Counter
	attempts        map[string]prometheus.Counter
	attemptDuration prometheus.Histogram
	reconcileErrors prometheus.Counter
	relay           map[string]prometheus.Counter

	started     time.Time
	lastGoodRec atomic.Int64 // unix nanos; 0 = never
}

// New returns Metrics with every collector registered.
func New(opts Options) *Metrics {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueueDepthEvery <= 0 {
		opts.QueueDepthEvery = 10 * time.Second
	}
	m := &Metrics{reg: prometheus.NewRegistry(), now: opts.Now, started: opts.Now()}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.queued = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "chatwoot_deliveries_queued_total",
		Help: "Deliveries committed to the queue by ingest (one per subscribed endpoint of each event).",
	})
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chatwoot_deliveries_total",
		Help: "Deliveries that ended, by how: delivered (2xx), dead (retry schedule exhausted), cancelled (endpoint removed, disabled by 410, refused or unsubscribed).",
	}, []string{"outcome"})
	m.outcomes = map[delivery.Outcome]prometheus.Counter{}
	for _, o := range []delivery.Outcome{delivery.Delivered, delivery.Dead, delivery.Cancelled} {
		m.outcomes[o] = outcomes.WithLabelValues(string(o)) // present at 0 from the start
	}
	// A failed attempt with a retry to come ends no delivery: counted apart.
	m.outcomes[delivery.Failed] = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "chatwoot_delivery_retries_total",
		Help: "Failed delivery attempts after which a retry was scheduled (several per delivery).",
	})
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chatwoot_delivery_attempts_total",
		Help: "HTTP delivery attempts by the class of the endpoint's answer; error when none came (refused, timeout, blocked address).",
	}, []string{"status_class"})
	m.attempts = map[string]prometheus.Counter{}
	for _, c := range []string{"2xx", "3xx", "4xx", "5xx", "error"} {
		m.attempts[c] = attempts.WithLabelValues(c)
	}
	m.attemptDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "chatwoot_delivery_attempt_duration_seconds",
		Help:    "Duration of HTTP delivery attempts, from sending the request to reading the answer or failing.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.reconcileErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "chatwoot_reconcile_errors_total",
		Help: "Reconcile passes that failed to list the webhooks of at least one account (the last good endpoints are kept).",
	})
	sinceGood := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chatwoot_reconcile_seconds_since_success",
		Help: "Seconds since the last reconcile pass without error; since the daemon started while there was none.",
	}, func() float64 {
		last := m.started
		if n := m.lastGoodRec.Load(); n != 0 {
			last = time.Unix(0, n)
		}
		return m.now().Sub(last).Seconds()
	})
	relay := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chatwoot_relay_requests_total",
		Help: "Chatwoot's deliveries to the relay route by outcome; every one but accepted and duplicate is an event Chatwoot dropped (it never retries).",
	}, []string{"outcome"})
	m.relay = map[string]prometheus.Counter{}
	for _, o := range ingest.RelayOutcomes {
		m.relay[o] = relay.WithLabelValues(o)
	}
	m.reg.MustRegister(m.queued, outcomes, m.outcomes[delivery.Failed], attempts, m.attemptDuration, m.reconcileErrors, sinceGood, relay)
	if opts.Endpoints != nil {
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "chatwoot_endpoints_disabled",
				Help: "Endpoints disabled because they answered 410 Gone.",
			}, func() float64 { return float64(opts.Endpoints.DisabledCount()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "chatwoot_endpoints",
				Help: "Endpoints (webhooks) reconciled from Chatwoot.",
			}, func() float64 { return float64(opts.Endpoints.Len()) }),
		)
	}
	if opts.StoreUp != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chatwoot_store_up",
			Help: "1 when the store answers and took the last commit, 0 when not (as /readyz).",
		}, opts.StoreUp))
	}
	if opts.Counts != nil {
		m.reg.MustRegister(&queueDepth{count: opts.Counts, every: opts.QueueDepthEvery, now: opts.Now})
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Relay counts one relay request by its outcome (ingest.Relay*).
func (m *Metrics) Relay(outcome string) {
	if c, ok := m.relay[outcome]; ok {
		c.Inc()
	}
}

// Registry is the metrics' registry (tests).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Queued counts n deliveries committed by ingest.
func (m *Metrics) Queued(n int) { m.queued.Add(float64(n)) }

// ObserveResult counts one attempt (or cancellation) of the worker.
func (m *Metrics) ObserveResult(r delivery.Result) {
	if c := m.outcomes[r.Outcome]; c != nil {
		c.Inc()
	}
	if !r.Sent {
		return
	}
	m.attempts[r.StatusClass()].Inc()
	m.attemptDuration.Observe(r.Duration.Seconds())
}

// ReconcilePass records the end of a reconcile pass and its errors.
func (m *Metrics) ReconcilePass(err error) {
	if err != nil {
		m.reconcileErrors.Inc()
		return
	}
	m.lastGoodRec.Store(m.now().UnixNano())
}

// queueDepth collects chatwoot_delivery_queue_depth from cached counts.
type queueDepth struct {
	count StateCounter
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	counts map[rivertype.JobState]int
	next   time.Time
}

var queueDepthDesc = prometheus.NewDesc("chatwoot_delivery_queue_depth",
	"Deliveries in the queue by River job state (available, scheduled, retryable, running, pending: waiting or in flight; completed, cancelled, discarded: kept for the delivery log). Sampled, not counted at every scrape.",
	[]string{"state"}, nil)

func (q *queueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc }

func (q *queueDepth) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock() // concurrent scrapes wait for one count instead of running several
	defer q.mu.Unlock()
	if now := q.now(); q.counts == nil || !now.Before(q.next) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		counts, err := q.count(ctx)
		took := time.Since(start)
		cancel()
		if err == nil {
			q.counts = counts
		}
		q.next = now.Add(max(q.every, 50*took))
	}
	for _, s := range rivertype.JobStates() {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(q.counts[s]), string(s))
	}
}
