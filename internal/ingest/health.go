package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// StoreHealth is the store's part of readiness, shared by /readyz and the
// metrics: the store's own check (a ping), run at most once per second,
// and the outcome of the last commit ingest made — a store that answers
// pings but refuses writes (a full disk) is not healthy either.
type StoreHealth struct {
	check func(context.Context) error
	every time.Duration
	// failedFor is how long a failed commit keeps the store unhealthy
	// without a successful one since; then the check decides again (with
	// readiness off, no traffic may come to prove it recovered).
	failedFor time.Duration
	now       func() time.Time

	mu        sync.Mutex
	checkedAt time.Time
	checkErr  error
	commitErr error
	commitAt  time.Time
}

// NewStoreHealth returns a StoreHealth over check (nil: only commits count).
func NewStoreHealth(check func(context.Context) error) *StoreHealth {
	return &StoreHealth{check: check, every: time.Second, failedFor: 5 * time.Second, now: time.Now}
}

// Err returns why the store is unhealthy, or nil.
func (s *StoreHealth) Err(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.commitErr != nil && now.Sub(s.commitAt) < s.failedFor {
		return fmt.Errorf("the last commit failed %s ago: %w", now.Sub(s.commitAt).Round(time.Millisecond), s.commitErr)
	}
	if s.check == nil {
		return nil
	}
	if s.checkedAt.IsZero() || now.Sub(s.checkedAt) >= s.every {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s.checkErr = s.check(cctx)
		cancel()
		s.checkedAt = now
	}
	return s.checkErr
}

// Note records the outcome of a commit.
func (s *StoreHealth) Note(err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.commitErr, s.commitAt = err, s.now()
	} else if s.commitErr != nil {
		s.commitErr = nil
	}
}

// Up is 1 when the store is healthy, 0 when not (a metric).
func (s *StoreHealth) Up(ctx context.Context) float64 {
	if s.Err(ctx) != nil {
		return 0
	}
	return 1
}
