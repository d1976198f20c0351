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

	// MaxWait is how long an attempt to an endpoint may take for
	// deliveries to wait in memory (holding a River worker) for one of its
	// slots, and how long they wait without any slot freeing; otherwise
	// they are snoozed back to the store so their workers can serve other
	// endpoints. Default 2s.
	MaxWait time.Duration

	// MaxQueue bounds one wait for a slot, however steadily the endpoint
	// frees them. Default 5 × MaxWait.
	MaxQueue time.Duration

	// MaxWaiting bounds the deliveries waiting in memory for the slots of
	// an endpoint whose last attempt failed; more are snoozed, those that
	// were waiting already when it failed included. Each holds
	// a River worker: a wave of a failing endpoint's due retries must
	// leave workers for the others. A healthy endpoint's backlog is not
	// bounded so. Default: no bound.
	MaxWaiting int
}

// Limiter bounds the attempts in flight per endpoint. Deliveries fetched
// for a busy endpoint whose attempts take at most MaxWait wait in memory
// for a slot, in the order they came, for as long as its attempts keep
// ending (up to MaxQueue): a backlog to a fast endpoint is worked from
// memory at the endpoint's pace, not fetched and snoozed over and over.
// Those of a slow, stalled or paused endpoint are snoozed, so its backlog
// holds no more than PerEndpoint River workers. It also holds an endpoint
// back after it asked to slow down with Retry-After.
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
	latency     time.Duration // moving average of slot holds; 0 until one ended
	pausedUntil time.Time
	inFlight    map[uint64]time.Time // start of each slot hold
	next        uint64               // id of the next slot hold
	ended       uint64               // slot holds ended: the endpoint's progress
	failing     bool                 // the last attempt failed (Result)
	answered    bool                 // the last attempt was answered 2xx (Result)
	// kick is closed (and replaced) when the endpoint turns failing, so
	// that the deliveries waiting beyond MaxWaiting leave: they began to
	// wait while it looked healthy (a dead backlog's first fetch, at a
	// daemon's start), and held every worker until each had its turn.
	kick chan struct{}
}

// NewLimiter returns a Limiter.
func NewLimiter(opts LimiterOptions) *Limiter {
	if opts.PerEndpoint <= 0 {
		opts.PerEndpoint = 16
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 2 * time.Second
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 5 * opts.MaxWait
	}
	return &Limiter{opts: opts, m: make(map[endpoints.Key]*slot), drain: make(chan struct{})}
}

// MaxQueue is the longest Acquire waits.
func (l *Limiter) MaxQueue() time.Duration { return l.opts.MaxQueue }

func (l *Limiter) slot(k endpoints.Key) *slot {
	s, ok := l.m[k]
	if !ok {
		s = &slot{sem: make(chan struct{}, l.opts.PerEndpoint), inFlight: make(map[uint64]time.Time, l.opts.PerEndpoint), kick: make(chan struct{})}
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
		rel := l.releaser(s)
		l.mu.Unlock()
		return rel, 0, nil
	default:
	}
	if !l.fast(s, time.Now()) || (s.failing && l.opts.MaxWaiting > 0 && s.waiting >= l.opts.MaxWaiting) {
		l.mu.Unlock()
		return nil, backoff(snoozes), nil
	}
	s.waiting++
	seen, kick := s.ended, s.kick
	l.mu.Unlock()
	left := false // waiting already counted down (kicked)
	defer func() {
		if !left {
			l.mu.Lock()
			s.waiting--
			l.mu.Unlock()
		}
	}()

	// Blocked senders on a channel are served first come, first served.
	stalled := time.NewTimer(l.opts.MaxWait)
	defer stalled.Stop()
	queue := time.NewTimer(l.opts.MaxQueue)
	defer queue.Stop()
	for {
		select {
		case s.sem <- struct{}{}:
			l.mu.Lock()
			defer l.mu.Unlock()
			return l.releaser(s), 0, nil
		case <-stalled.C:
			l.mu.Lock()
			ended := s.ended
			l.mu.Unlock()
			if ended == seen {
				return nil, backoff(snoozes), nil
			}
			seen = ended
			stalled.Reset(l.opts.MaxWait)
		case <-queue.C:
			return nil, backoff(snoozes), nil
		case <-kick:
			l.mu.Lock()
			if s.failing && l.opts.MaxWaiting > 0 && s.waiting > l.opts.MaxWaiting {
				s.waiting--
				left = true
				l.mu.Unlock()
				return nil, backoff(snoozes), nil
			}
			kick = s.kick
			l.mu.Unlock()
		case <-l.drain:
			return nil, drainSnooze, nil
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// fast tells whether an attempt to s is expected to end within MaxWait
// (l.mu held): the moving average of the last ones does, and none in
// flight has run longer already. Before the first attempt ends, that is
// all that is known, and it catches an endpoint that stalls before any
// attempt ends.
func (l *Limiter) fast(s *slot, now time.Time) bool {
	if s.latency > l.opts.MaxWait {
		return false
	}
	for _, start := range s.inFlight {
		if now.Sub(start) > l.opts.MaxWait {
			return false
		}
	}
	return true
}

// releaser records a slot hold starting (l.mu held) and returns what ends
// it: it frees the slot and feeds the hold's duration into the endpoint's
// moving average.
func (l *Limiter) releaser(s *slot) func() {
	id := s.next
	s.next++
	start := time.Now()
	s.inFlight[id] = start
	return func() {
		d := max(time.Since(start), time.Microsecond)
		l.mu.Lock()
		delete(s.inFlight, id)
		s.ended++
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

// Result tells how an attempt to k ended: ok when answered 2xx.
func (l *Limiter) Result(k endpoints.Key, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, found := l.m[k]; found {
		if !ok && !s.failing {
			close(s.kick)
			s.kick = make(chan struct{})
		}
		s.failing, s.answered = !ok, ok
	}
}

// Answering reports whether k's last attempt here was answered 2xx.
func (l *Limiter) Answering(k endpoints.Key) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, found := l.m[k]
	return found && s.answered
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
