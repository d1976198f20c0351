package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// BenchmarkSaveOutcomes is the store's side of a drain: b.N stored
// deliveries are recorded succeeded, each with its attempt, in writes of
// 50 outcomes (a batch job's worth) on a synchronous=full SQLite store.
// Filling the store is not timed. It reports outcomes/s.
//
//	go test -run '^$' -bench 'SaveOutcomes' -benchtime 50000x -count 5 ./internal/store/
func BenchmarkSaveOutcomes(b *testing.B) {
	ctx := context.Background()
	st, err := Open(ctx, Options{URL: "sqlite:" + filepath.Join(b.TempDir(), "b.db"), Synchronous: SyncFull})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c, err := st.NewClient(&river.Config{})
	if err != nil {
		b.Fatal(err)
	}
	payload := `{"event":"message_created","content":"` + strings.Repeat("x", 500) + `"}`
	ids := enqueueN(b, st, c, b.N, []byte(payload))
	const perWrite = 50
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(ids); i += perWrite {
		os := make([]Outcome, 0, perWrite)
		for _, id := range ids[i:min(i+perWrite, len(ids))] {
			os = append(os, Outcome{ID: id, State: StateSucceeded, Attempts: 1, JobID: id, Status: 200,
				Attempt: &Attempt{Attempt: 1, At: time.Now(), Status: 200, Duration: 3 * time.Millisecond}})
		}
		if err := st.saveOutcomes(ctx, os, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ids))/time.Since(start).Seconds(), "outcomes/s")
	if b.N > 1 {
		if _, err := st.DeliveryByID(ctx, ids[len(ids)-1]); err != nil {
			b.Fatal(fmt.Errorf("last delivery: %w", err))
		}
	}
}

// enqueueN stores n events of payload, one delivery each to webhook 1 of
// account 1, in transactions of 1,000, and returns the deliveries' ids.
func enqueueN(tb testing.TB, st *Store, c Client, n int, payload []byte) []int64 {
	tb.Helper()
	var ids []int64
	for len(ids) < n {
		evs := make([]NewEvent, min(1000, n-len(ids)))
		for i := range evs {
			evs[i] = NewEvent{AccountID: 1, Event: "message_created", Payload: payload,
				Deliveries: []NewDelivery{{UUID: uuid.NewString(), WebhookID: 1, MaxAttempts: 10}}}
		}
		qs, err := st.Enqueue(context.Background(), c, evs, oneJob)
		if err != nil {
			tb.Fatal(err)
		}
		for _, q := range qs {
			ids = append(ids, q.ID)
		}
	}
	return ids
}
