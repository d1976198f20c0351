package store

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
)

// BenchmarkRiverNoopJobsPostgres is the PostgreSQL store's ceiling, as
// BenchmarkRiverNoopJobs is SQLite's: b.N jobs with a 576-byte payload
// inserted in batches of 1,000 (InsertMany, and InsertManyFast's COPY),
// then worked by a no-op worker with the store's tuning; and the two at
// once, inserting while working.
//
//	eval "$(.ci/postgres.sh start)"
//	go test -run '^$' -bench RiverNoopJobsPostgres -benchtime 50000x ./internal/store/
func BenchmarkRiverNoopJobsPostgres(b *testing.B) {
	for _, tt := range []struct {
		name       string
		fast, both bool
	}{
		{"insert-then-work", false, false},
		{"copy-then-work", true, false},
		{"copy-while-working", true, true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := Open(ctx, Options{URL: storetest.NewDatabase(b)})
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
				FetchCooldown:     st.Tuning.FetchCooldown,
				FetchPollInterval: st.Tuning.FetchPollInterval,
			})
			if err != nil {
				b.Fatal(err)
			}
			pad := strings.Repeat("x", 576)
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
				<-w.done
			}
			worked := time.Since(start)
			b.StopTimer()
			_ = c.Stop(ctx)
			b.ReportMetric(float64(b.N)/time.Duration(inserted.Load()).Seconds(), "inserted/s")
			b.ReportMetric(float64(b.N)/worked.Seconds(), "worked/s")
		})
	}
}
