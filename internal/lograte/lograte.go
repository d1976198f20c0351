// Package lograte keeps repeated failures from flooding the logs: of each
// kind of log line (a key such as the message and its reason), it lets the
// first through, then one per interval, carrying how many were held back
// since the last one.
package lograte

import (
	"sync"
	"time"
)

// DefaultEvery is the interval the daemon uses.
const DefaultEvery = 10 * time.Second

// Limiter decides, per key, which log lines are written. The zero value is
// not usable; call New. It is safe for concurrent use.
type Limiter struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*window
}

type window struct {
	last time.Time
	held int
}

// New returns a Limiter letting one line per key through every interval;
// now is the clock (nil: time.Now).
func New(every time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, now: now, keys: map[string]*window{}}
}

// Allow reports whether a line of kind key is written now, and if so how
// many lines of that kind were held back since the last one written.
func (l *Limiter) Allow(key string) (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.keys[key]
	if w == nil {
		if len(l.keys) >= 10_000 { // keys come from a fixed set of messages; this is a backstop
			clear(l.keys)
		}
		l.keys[key] = &window{last: now}
		return true, 0
	}
	if now.Sub(w.last) < l.every {
		w.held++
		return false, 0
	}
	held, w.held, w.last = w.held, 0, now
	return true, held
}
