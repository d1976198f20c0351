package lograte

import (
	"testing"
	"time"
)

func TestLimiterOnePerIntervalWithACount(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(10*time.Second, func() time.Time { return now })
	type step struct {
		after time.Duration
		key   string
		ok    bool
		held  int
	}
	for i, s := range []step{
		{0, "store", true, 0},
		{time.Second, "store", false, 0},
		{time.Second, "store", false, 0},
		{0, "signature", true, 0}, // another kind is not held back
		{9 * time.Second, "store", true, 2},
		{5 * time.Second, "store", false, 0},
		{30 * time.Second, "store", true, 1},
		{30 * time.Second, "store", true, 0},
	} {
		now = now.Add(s.after)
		if ok, held := l.Allow(s.key); ok != s.ok || held != s.held {
			t.Fatalf("step %d (%s): Allow = %v, %d; want %v, %d", i, s.key, ok, held, s.ok, s.held)
		}
	}
}
