package store

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

type benchArgs struct {
	N int    `json:"n"`
	P string `json:"p"`
}

func (benchArgs) Kind() string { return "bench" }

type benchWorker struct {
	river.WorkerDefaults[benchArgs]
	done chan struct{}
}

func (w *benchWorker) Work(context.Context, *river.Job[benchArgs]) error {
	w.done <- struct{}{}
	return nil
}

// BenchmarkRiverNoopJobs is the SQLite store's ceiling, with and without the
// prepared statement cache: see benchRiverNoop.
//
//	go test -run '^$' -bench 'RiverNoopJobs$' -benchtime 20000x ./internal/store/
func BenchmarkRiverNoopJobs(b *testing.B) {
	for _, cache := range []bool{true, false} {
		name := map[bool]string{true: "stmt-cache", false: "no-stmt-cache"}[cache]
		b.Run(name, func(b *testing.B) {
			benchRiverNoop(b, func(b *testing.B) *Store {
				st, err := Open(context.Background(), Options{URL: "sqlite:" + filepath.Join(b.TempDir(), "b.db"), Synchronous: SyncFull, noStmtCache: !cache})
				if err != nil {
					b.Fatal(err)
				}
				return st
			})
		})
	}
}

// benchRiverNoop measures River alone on a store: b.N jobs with a 576-byte
// payload (a message_created's size) inserted in batches of 1,000, worked
// by a no-op worker with the store's tuning. Three ways: InsertMany then
// work; InsertManyFast then work; and InsertManyFast while working, as the
// daemon's ingest does — the ceiling of a delivery daemon before any HTTP.
// It reports inserted/s and worked/s.
func benchRiverNoop(b *testing.B, open func(*testing.B) *Store) {
	for _, tt := range []struct {
		name       string
		fast, both bool
	}{
		{"insert-then-work", false, false},
		{"fast-then-work", true, false},
		{"fast-while-working", true, true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			st := open(b)
			defer st.Close()
			w := &benchWorker{done: make(chan struct{}, b.N)}
			workers := river.NewWorkers()
			river.AddWorker(workers, w)
			c, err := st.NewClient(&river.Config{
				Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1000}},
				Workers:           workers,
				FetchCooldown:     st.Tuning.FetchCooldown,
				FetchPollInterval: st.Tuning.FetchPollInterval,
			})
			if err != nil {
				b.Fatal(err)
			}
			pad := strings.Repeat("x", 576)
			failed := make(chan struct{})
			insert := func() {
				for i := 0; i < b.N; i += 1000 {
					ps := make([]river.InsertManyParams, min(1000, b.N-i))
					for j := range ps {
						ps[j] = river.InsertManyParams{Args: benchArgs{N: i + j, P: pad}}
					}
					if tt.fast {
						_, err = c.InsertManyFast(ctx, ps)
					} else {
						_, err = c.InsertMany(ctx, ps)
					}
					if err != nil {
						b.Error(err)
						close(failed)
						return
					}
				}
			}
			b.ResetTimer()
			start := time.Now()
			var inserted atomic.Int64
			if tt.both {
				if err := c.Start(ctx); err != nil {
					b.Fatal(err)
				}
				go func() { insert(); inserted.Store(int64(time.Since(start))) }()
			} else {
				insert()
				inserted.Store(int64(time.Since(start)))
				start = time.Now()
				if err := c.Start(ctx); err != nil {
					b.Fatal(err)
				}
			}
			for range b.N {
				select {
				case <-w.done:
				case <-failed:
					return
				}
			}
			worked := time.Since(start)
			b.StopTimer()
			_ = c.Stop(ctx)
			b.ReportMetric(float64(b.N)/time.Duration(inserted.Load()).Seconds(), "inserted/s")
			b.ReportMetric(float64(b.N)/worked.Seconds(), "worked/s")
		})
	}
}
