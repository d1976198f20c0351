package store

import (
	"context"
	"testing"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
)

// BenchmarkRiverNoopJobsPostgres is the PostgreSQL store's ceiling, as
// BenchmarkRiverNoopJobs is SQLite's: see benchRiverNoop.
//
//	eval "$(.ci/postgres.sh start)"
//	go test -run '^$' -bench RiverNoopJobsPostgres -benchtime 50000x ./internal/store/
func BenchmarkRiverNoopJobsPostgres(b *testing.B) {
	benchRiverNoop(b, func(b *testing.B) *Store {
		st, err := Open(context.Background(), Options{URL: storetest.NewDatabase(b)})
		if err != nil {
			b.Fatal(err)
		}
		return st
	})
}
