package store

import (
	"context"
	"path/filepath"
	"strings"
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

// BenchmarkRiverNoopJobs is the store's ceiling: b.N jobs with a 576-byte
// payload inserted in batches of 1,000, then worked by a no-op worker with
// the daemon's fetch settings. It reports inserted/s and worked/s, with and
// without the prepared statement cache.
//
//	go test -run '^$' -bench RiverNoopJobs -benchtime 20000x ./internal/store/
func BenchmarkRiverNoopJobs(b *testing.B) {
	for _, cache := range []bool{true, false} {
		name := map[bool]string{true: "stmt-cache", false: "no-stmt-cache"}[cache]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			st, err := Open(ctx, Options{URL: "sqlite:" + filepath.Join(b.TempDir(), "b.db"), Synchronous: SyncFull, noStmtCache: !cache})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			w := &benchWorker{done: make(chan struct{}, b.N)}
			workers := river.NewWorkers()
			river.AddWorker(workers, w)
			c, err := st.NewClient(&river.Config{
				Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1000}},
				Workers:           workers,
				FetchCooldown:     5 * time.Millisecond,
				FetchPollInterval: 25 * time.Millisecond,
			})
			if err != nil {
				b.Fatal(err)
			}
			pad := strings.Repeat("x", 576)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i += 1000 {
				ps := make([]river.InsertManyParams, min(1000, b.N-i))
				for j := range ps {
					ps[j] = river.InsertManyParams{Args: benchArgs{N: i + j, P: pad}}
				}
				if _, err := c.InsertMany(ctx, ps); err != nil {
					b.Fatal(err)
				}
			}
			inserted := time.Since(start)
			start = time.Now()
			if err := c.Start(ctx); err != nil {
				b.Fatal(err)
			}
			for range b.N {
				<-w.done
			}
			worked := time.Since(start)
			b.StopTimer()
			_ = c.Stop(ctx)
			b.ReportMetric(float64(b.N)/inserted.Seconds(), "inserted/s")
			b.ReportMetric(float64(b.N)/worked.Seconds(), "worked/s")
		})
	}
}
