package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
)

type fakeEndpoints struct{ disabled, n int }

func (f fakeEndpoints) DisabledCount() int { return f.disabled }
func (f fakeEndpoints) Len() int           { return f.n }

// scrape returns the exposition text.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(w.Result().Body)
	return string(b)
}

// TestMetricsPresentAndMoving: every documented series is exposed from the
// start, and moves with what it counts.
func TestMetricsPresentAndMoving(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var counted atomic.Int64
	m := New(Options{
		Endpoints: fakeEndpoints{disabled: 1, n: 3},
		Counts: func(context.Context) (map[rivertype.JobState]int, error) {
			counted.Add(1)
			return map[rivertype.JobState]int{rivertype.JobStateAvailable: 5, rivertype.JobStateDiscarded: 2}, nil
		},
		Now: clock,
	})
	before := scrape(t, m)
	for _, want := range []string{
		`chatwoot_deliveries_queued_total 0`,
		`chatwoot_deliveries_total{outcome="delivered"} 0`,
		`chatwoot_delivery_retries_total 0`,
		`chatwoot_deliveries_total{outcome="dead"} 0`,
		`chatwoot_deliveries_total{outcome="cancelled"} 0`,
		`chatwoot_delivery_attempts_total{status_class="2xx"} 0`,
		`chatwoot_delivery_attempts_total{status_class="error"} 0`,
		`chatwoot_delivery_attempt_duration_seconds_count 0`,
		`chatwoot_delivery_queue_depth{state="available"} 5`,
		`chatwoot_delivery_queue_depth{state="discarded"} 2`,
		`chatwoot_delivery_queue_depth{state="running"} 0`,
		`chatwoot_endpoints_disabled 1`,
		`chatwoot_endpoints 3`,
		`chatwoot_reconcile_errors_total 0`,
		`chatwoot_reconcile_seconds_since_success 0`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(before, want+"\n") && !strings.Contains(before, want+" ") {
			t.Errorf("missing %q", want)
		}
	}

	m.Queued(3)
	m.ObserveResult(delivery.Result{Sent: true, Status: 204, Duration: 3 * time.Millisecond, Outcome: delivery.Delivered})
	m.ObserveResult(delivery.Result{Sent: true, Status: 503, Duration: 40 * time.Millisecond, Err: errors.New("503"), Outcome: delivery.Failed})
	m.ObserveResult(delivery.Result{Sent: true, Duration: 2 * time.Second, Err: errors.New("timeout"), Outcome: delivery.Dead})
	m.ObserveResult(delivery.Result{Err: errors.New("removed"), Outcome: delivery.Cancelled}) // no request
	m.ReconcilePass(errors.New("chatwoot down"))
	now = now.Add(90 * time.Second)
	after := scrape(t, m)
	for _, want := range []string{
		`chatwoot_deliveries_queued_total 3`,
		`chatwoot_deliveries_total{outcome="delivered"} 1`,
		`chatwoot_delivery_retries_total 1`,
		`chatwoot_deliveries_total{outcome="dead"} 1`,
		`chatwoot_deliveries_total{outcome="cancelled"} 1`,
		`chatwoot_delivery_attempts_total{status_class="2xx"} 1`,
		`chatwoot_delivery_attempts_total{status_class="5xx"} 1`,
		`chatwoot_delivery_attempts_total{status_class="error"} 1`,
		`chatwoot_delivery_attempt_duration_seconds_count 3`,
		`chatwoot_delivery_attempt_duration_seconds_bucket{le="0.005"} 1`,
		`chatwoot_reconcile_errors_total 1`,
		`chatwoot_reconcile_seconds_since_success 90`,
	} {
		if !strings.Contains(after, want+"\n") {
			t.Errorf("after: missing %q", want)
		}
	}
	m.ReconcilePass(nil)
	now = now.Add(5 * time.Second)
	if s := scrape(t, m); !strings.Contains(s, "chatwoot_reconcile_seconds_since_success 5\n") {
		t.Error("seconds since success did not restart at a good pass")
	}
	if n := counted.Load(); n != 2 { // at 0s and 90s; not again 5s later
		t.Errorf("the queue was counted %d times, want 2 (cached for 10s)", n)
	}
	now = now.Add(11 * time.Second)
	scrape(t, m)
	if n := counted.Load(); n != 3 {
		t.Errorf("the queue was counted %d times, want a refresh after QueueDepthEvery", n)
	}
}

// TestQueueDepthBacksOffWhenCountingIsSlow: a count that takes long is
// repeated no sooner than 50 times its duration.
func TestQueueDepthBacksOffWhenCountingIsSlow(t *testing.T) {
	now := time.Unix(0, 0)
	var counted atomic.Int64
	m := New(Options{
		Counts: func(context.Context) (map[rivertype.JobState]int, error) {
			counted.Add(1)
			time.Sleep(300 * time.Millisecond) // ~15s of back-off
			return map[rivertype.JobState]int{}, nil
		},
		QueueDepthEvery: time.Second,
		Now:             func() time.Time { return now },
	})
	scrape(t, m)
	now = now.Add(10 * time.Second)
	scrape(t, m)
	if n := counted.Load(); n != 1 {
		t.Fatalf("counted %d times; a 300ms count should not be repeated within 15s", n)
	}
}
