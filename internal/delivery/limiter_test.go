package delivery

import (
	"context"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

func TestLimiterSlowEndpointIsSnoozedNotQueued(t *testing.T) {
	l := NewLimiter(LimiterOptions{PerEndpoint: 2, MaxWait: 500 * time.Millisecond})
	slow, fast := endpoints.Key{AccountID: 1, ID: 1}, endpoints.Key{AccountID: 1, ID: 2}
	ctx := context.Background()

	// Teach the limiter that the slow endpoint takes 2s an attempt.
	rel, _, _ := l.Acquire(ctx, slow, 0)
	l.mu.Lock()
	l.m[slow].latency = 2 * time.Second
	l.mu.Unlock()
	rel2, _, _ := l.Acquire(ctx, slow, 0)

	start := time.Now()
	_, snooze, err := l.Acquire(ctx, slow, 0)
	if err != nil || snooze <= 0 || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("Acquire on a saturated slow endpoint = snooze %s err %v after %s; want an immediate snooze", snooze, err, time.Since(start))
	}
	// Other endpoints are not affected.
	if r, s, err := l.Acquire(ctx, fast, 0); r == nil || s != 0 || err != nil {
		t.Fatalf("Acquire on another endpoint = %v %s %v", r != nil, s, err)
	}
	rel()
	rel2()
}

func TestLimiterFastEndpointWaits(t *testing.T) {
	l := NewLimiter(LimiterOptions{PerEndpoint: 1, MaxWait: time.Second})
	k := endpoints.Key{AccountID: 1, ID: 1}
	ctx := context.Background()
	rel, _, _ := l.Acquire(ctx, k, 0)
	time.Sleep(5 * time.Millisecond)
	rel() // latency ~5ms learnt
	rel, _, _ = l.Acquire(ctx, k, 0)
	go func() { time.Sleep(20 * time.Millisecond); rel() }()
	got, snooze, err := l.Acquire(ctx, k, 0)
	if got == nil || snooze != 0 || err != nil {
		t.Fatalf("Acquire behind a fast attempt = %v %s %v; want to wait for the slot", got != nil, snooze, err)
	}
	got()
}

// A backlog to an endpoint that keeps freeing slots waits in memory, in
// order, even when working all of it takes several times MaxWait.
func TestLimiterBacklogWaitsWhileEndpointProgresses(t *testing.T) {
	l := NewLimiter(LimiterOptions{PerEndpoint: 2, MaxWait: 150 * time.Millisecond})
	k := endpoints.Key{AccountID: 1, ID: 1}
	const n = 20 // 10 rounds of 40ms: ~400ms, MaxWait 150ms
	type result struct {
		i      int
		snooze time.Duration
	}
	results := make(chan result, n)
	for i := range n {
		go func() {
			rel, snooze, err := l.Acquire(context.Background(), k, 0)
			if err != nil {
				t.Error(err)
			}
			if rel != nil {
				time.Sleep(40 * time.Millisecond)
				rel()
			}
			results <- result{i, snooze}
		}()
		time.Sleep(time.Millisecond) // arrive in order
	}
	for range n {
		if r := <-results; r.snooze != 0 {
			t.Errorf("delivery %d was snoozed %s while the endpoint kept freeing slots", r.i, r.snooze)
		}
	}
}

func TestLimiterStalledEndpointSendsWaitersBack(t *testing.T) {
	k := endpoints.Key{AccountID: 1, ID: 1}
	for _, tc := range []struct {
		name           string
		opts           LimiterOptions
		wantNear       time.Duration
		alreadyRunning time.Duration // how long the attempt in flight has run
	}{
		{"no slot freed within MaxWait", LimiterOptions{PerEndpoint: 1, MaxWait: 100 * time.Millisecond}, 100 * time.Millisecond, 0},
		{"MaxQueue reached", LimiterOptions{PerEndpoint: 1, MaxWait: time.Second, MaxQueue: 150 * time.Millisecond}, 150 * time.Millisecond, 0},
		{"attempt in flight for longer than MaxWait", LimiterOptions{PerEndpoint: 1, MaxWait: 100 * time.Millisecond}, 0, 150 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiter(tc.opts)
			rel, _, _ := l.Acquire(context.Background(), k, 0)
			defer rel()
			time.Sleep(tc.alreadyRunning)
			start := time.Now()
			got, snooze, err := l.Acquire(context.Background(), k, 0)
			waited := time.Since(start)
			if got != nil || err != nil || snooze <= 0 {
				t.Fatalf("Acquire = %v %s %v; want a snooze", got != nil, snooze, err)
			}
			if waited < tc.wantNear || waited > tc.wantNear+80*time.Millisecond {
				t.Fatalf("snoozed after %s, want about %s", waited, tc.wantNear)
			}
		})
	}
}

func TestLimiterPause(t *testing.T) {
	l := NewLimiter(LimiterOptions{})
	k := endpoints.Key{AccountID: 1, ID: 1}
	l.Pause(k, time.Now().Add(3*time.Second))
	_, snooze, _ := l.Acquire(context.Background(), k, 0)
	if snooze < 2*time.Second || snooze > 5*time.Second {
		t.Fatalf("snooze during a pause = %s, want about 3s", snooze)
	}
}

func TestBackoffBounds(t *testing.T) {
	for n := range 10 {
		for range 100 {
			d := backoff(n)
			base := min(time.Second<<min(n, 5), 30*time.Second)
			if d < base/2 || d > base*3/2 {
				t.Fatalf("backoff(%d) = %s, outside [%s, %s]", n, d, base/2, base*3/2)
			}
		}
	}
}

func TestLimiterDrainReleasesWaiters(t *testing.T) {
	l := NewLimiter(LimiterOptions{PerEndpoint: 1, MaxWait: time.Minute})
	k := endpoints.Key{AccountID: 1, ID: 1}
	rel, _, _ := l.Acquire(context.Background(), k, 0)
	defer rel()
	got := make(chan time.Duration)
	go func() {
		_, snooze, _ := l.Acquire(context.Background(), k, 0)
		got <- snooze
	}()
	time.Sleep(20 * time.Millisecond)
	l.Drain()
	select {
	case s := <-got:
		if s <= 0 || s > time.Second {
			t.Fatalf("waiter after Drain snoozed %s, want an immediate requeue", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Drain did not release the waiter")
	}
	if _, s, _ := l.Acquire(context.Background(), endpoints.Key{AccountID: 9, ID: 9}, 0); s <= 0 {
		t.Fatal("Acquire after Drain took a slot")
	}
}

// Beyond MaxWaiting deliveries waiting for the slots of a fast endpoint
// whose last attempt failed, the next is snoozed at once: a failing
// endpoint's wave of due jobs leaves River's workers to the others. A
// healthy one's backlog is not bounded so.
func TestLimiterBoundsWaitingForFailingEndpoint(t *testing.T) {
	l := NewLimiter(LimiterOptions{PerEndpoint: 1, MaxWait: time.Second, MaxWaiting: 1})
	k := endpoints.Key{AccountID: 1, ID: 1}
	ctx := context.Background()
	rel, _, _ := l.Acquire(ctx, k, 0)
	// Healthy: a second waiter is let wait too.
	for range 2 {
		go func() {
			if r, _, _ := l.Acquire(ctx, k, 0); r != nil {
				r()
			}
		}()
	}
	waitFor := func(n int) { waitForWaiting(l, k, n) }
	waitFor(2)
	rel()
	waitFor(0)
	rel, _, _ = l.Acquire(ctx, k, 0)
	l.Result(k, false)
	waited := make(chan func(), 1)
	go func() {
		r, _, _ := l.Acquire(ctx, k, 0) // waits: the one allowed
		waited <- r
	}()
	waitFor(1)
	if r, snooze, err := l.Acquire(ctx, k, 0); r != nil || snooze <= 0 || err != nil {
		t.Fatalf("Acquire past MaxWaiting = %v %s %v; want a snooze", r != nil, snooze, err)
	}
	rel()
	if r := <-waited; r == nil {
		t.Fatal("the waiting delivery did not get the slot")
	} else {
		r()
	}
}

// Deliveries that began to wait while the endpoint looked healthy (a dead
// backlog's first fetch) are sent back, down to MaxWaiting, as soon as an
// attempt fails: they no longer hold River's workers until each had its
// turn at the slot.
func TestLimiterSendsBackWaitersWhenEndpointTurnsFailing(t *testing.T) {
	const waiters, maxWaiting = 10, 3
	l := NewLimiter(LimiterOptions{PerEndpoint: 1, MaxWait: time.Minute, MaxWaiting: maxWaiting})
	k := endpoints.Key{AccountID: 1, ID: 1}
	ctx := context.Background()
	rel, _, _ := l.Acquire(ctx, k, 0)
	type res struct {
		release func()
		snooze  time.Duration
	}
	got := make(chan res, waiters)
	for range waiters {
		go func() {
			r, s, _ := l.Acquire(ctx, k, 0)
			got <- res{r, s}
		}()
	}
	waitForWaiting(l, k, waiters)
	l.Result(k, true) // still healthy: nobody leaves
	select {
	case r := <-got:
		t.Fatalf("a waiter left while the endpoint answered: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
	l.Result(k, false)
	for range waiters - maxWaiting {
		select {
		case r := <-got:
			if r.release != nil || r.snooze <= 0 {
				t.Fatalf("a waiter sent back got %+v, want a snooze", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("waiters beyond MaxWaiting were not sent back when the endpoint turned failing")
		}
	}
	if w := waiting(l, k); w != maxWaiting {
		t.Fatalf("%d waiting after the kick, want %d", w, maxWaiting)
	}
	// The rest keep their turn at the slot.
	rel()
	for range maxWaiting {
		r := <-got
		if r.release == nil {
			t.Fatalf("a waiter within MaxWaiting got %+v, want the slot", r)
		}
		r.release()
	}
}

// waiting is how many deliveries wait for k's slots.
func waiting(l *Limiter, k endpoints.Key) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[k].waiting
}

// waitForWaiting returns once n deliveries wait for k's slots.
func waitForWaiting(l *Limiter, k endpoints.Key, n int) {
	for waiting(l, k) != n {
		time.Sleep(time.Millisecond)
	}
}
