package delivery

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// LimiterOptions configures a Limiter.
type LimiterOptions struct {
	// PerEndpoint is how many attempts may be in flight to one endpoint.
	// Default 16.
	PerEndpoint int

	// MaxWait bounds one wait for a slot. A delivery waits in memory
	// (holding a River worker) only while the endpoint's recent latency
	// predicts a slot within MaxWait; otherwise it is snoozed back to the
	// store so its worker can serve other endpoints. Default 2s.
	MaxWait time.Duration
}

// Limiter bounds the attempts in flight per endpoint. A fast endpoint with
// a backlog keeps all its fetched deliveries waiting for a slot (they get
// one within milliseconds); a slow or dead one holds at most PerEndpoint
// River workers plus the few deliveries expected to get a slot soon, and
// the rest are snoozed, so other endpoints keep flowing. It also holds an
// endpoint back after it asked to slow down with Retry-After.
type Limiter struct {
	opts      LimiterOptions
	mu        sync.Mutex
	m         map[endpoints.Key]*slot
	drain     chan struct{}
	drainOnce sync.Once
}

type slot struct {
	sem         chan struct{}
	waiting     int
	latency     time.Duration // moving average of attempt durations; 0 until one finished
	pausedUntil time.Time
}

// NewLimiter returns a Limiter.
func NewLimiter(opts LimiterOptions) *Limiter {
	if opts.PerEndpoint <= 0 {
		opts.PerEndpoint = 16
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 2 * time.Second
	}
	return &Limiter{opts: opts, m: make(map[endpoints.Key]*slot), drain: make(chan struct{})}
}

// MaxWait is the longest Acquire waits.
func (l *Limiter) MaxWait() time.Duration { return l.opts.MaxWait }

func (l *Limiter) slot(k endpoints.Key) *slot {
	s, ok := l.m[k]
	if !ok {
		s = &slot{sem: make(chan struct{}, l.opts.PerEndpoint)}
		l.m[k] = s
	}
	return s
}

// Acquire takes a slot for an attempt to k. It returns release on success;
// or snooze > 0 when the delivery should go back to the store for that
// long (endpoint paused or saturated); or ctx's error. snoozes is how often
// the delivery was snoozed already; saturated snoozes back off on it.
func (l *Limiter) Acquire(ctx context.Context, k endpoints.Key, snoozes int) (release func(), snooze time.Duration, err error) {
	select {
	case <-l.drain:
		return nil, drainSnooze, nil
	default:
	}
	l.mu.Lock()
	s := l.slot(k)
	if wait := time.Until(s.pausedUntil); wait > 0 {
		l.mu.Unlock()
		// Spread the held-back deliveries over a second after the pause.
		return nil, wait + rand.N(time.Second), nil
	}
	select {
	case s.sem <- struct{}{}:
		l.mu.Unlock()
		return l.releaser(s), 0, nil
	default:
	}
	if !l.worthWaiting(s) {
		l.mu.Unlock()
		return nil, backoff(snoozes), nil
	}
	s.waiting++
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		s.waiting--
		l.mu.Unlock()
	}()

	t := time.NewTimer(l.opts.MaxWait)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		return l.releaser(s), 0, nil
	case <-t.C:
		return nil, backoff(snoozes), nil
	case <-l.drain:
		return nil, drainSnooze, nil
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

// worthWaiting predicts whether one more waiter gets a slot within
// MaxWait. Until an attempt finished, the latency is unknown and as many
// deliveries may wait as there are slots.
func (l *Limiter) worthWaiting(s *slot) bool {
	if s.latency == 0 {
		return s.waiting < l.opts.PerEndpoint
	}
	rounds := time.Duration(s.waiting/l.opts.PerEndpoint + 1)
	return rounds*s.latency <= l.opts.MaxWait
}

// releaser frees the slot and feeds the attempt's duration into the
// endpoint's moving average.
func (l *Limiter) releaser(s *slot) func() {
	start := time.Now()
	return func() {
		d := max(time.Since(start), time.Microsecond)
		l.mu.Lock()
		if s.latency == 0 {
			s.latency = d
		} else {
			s.latency = (4*s.latency + d) / 5
		}
		l.mu.Unlock()
		<-s.sem
	}
}

// drainSnooze puts a delivery back as available at once: another daemon
// (or this one after a restart) takes it, and the attempt is not counted.
const drainSnooze = time.Millisecond

// Drain makes deliveries waiting for a slot, and those arriving, go back
// to the store instead of waiting: called when the daemon stops, so that
// only attempts actually in flight delay the shutdown.
func (l *Limiter) Drain() { l.drainOnce.Do(func() { close(l.drain) }) }

// Pause holds back new attempts to k until t.
func (l *Limiter) Pause(k endpoints.Key, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.slot(k); until.After(s.pausedUntil) {
		s.pausedUntil = until
	}
}

// Forget drops the state of an endpoint that no longer exists.
func (l *Limiter) Forget(k endpoints.Key) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, k)
}

// backoff is the snooze of a delivery that found its endpoint saturated:
// 1s doubling per previous snooze up to 30s, with jitter, so a big backlog
// behind a slow endpoint costs few store writes.
func backoff(snoozes int) time.Duration {
	d := min(time.Second<<min(max(snoozes, 0), 5), 30*time.Second)
	return d/2 + rand.N(d)
}
