package store

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// AttemptLog writes attempts in batches, at most Window after each ends:
// one INSERT per window instead of a write per attempt on the queue's hot
// path. An attempt still in the window when the process is killed is not
// logged; the delivery's outcome is River's and is not affected.
type AttemptLog struct {
	st     *Store
	window time.Duration
	log    *slog.Logger

	mu      sync.Mutex
	pending []Attempt
	kick    chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

// DefaultAttemptWindow is how long an ended attempt may wait to be written.
const DefaultAttemptWindow = 100 * time.Millisecond

// maxPendingAttempts bounds the memory of a log whose store is failing: the
// oldest attempts are dropped past it.
const maxPendingAttempts = 100_000

// NewAttemptLog starts a log writing to st every window (default
// DefaultAttemptWindow). Close it to write what is left.
func NewAttemptLog(st *Store, window time.Duration, log *slog.Logger) *AttemptLog {
	if window <= 0 {
		window = DefaultAttemptWindow
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &AttemptLog{st: st, window: window, log: log, kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go l.run()
	return l
}

// Add queues one ended attempt.
func (l *AttemptLog) Add(a Attempt) {
	l.mu.Lock()
	l.pending = append(l.pending, a)
	if over := len(l.pending) - maxPendingAttempts; over > 0 {
		l.pending = l.pending[over:]
	}
	full := len(l.pending) >= attemptsPerInsert
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

func (l *AttemptLog) run() {
	defer close(l.stopped)
	t := time.NewTicker(l.window)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.kick:
		case <-l.done:
			l.flush()
			return
		}
		l.flush()
	}
}

func (l *AttemptLog) flush() {
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.st.SaveAttempts(ctx, batch); err != nil {
		l.log.Warn("writing the attempt log failed; these attempts are not in it (their deliveries are unaffected)", "attempts", len(batch), "error", err)
	}
}

// Close writes what is pending and stops the log.
func (l *AttemptLog) Close() {
	close(l.done)
	<-l.stopped
}
