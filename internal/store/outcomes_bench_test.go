package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
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
	benchSaveOutcomes(b, "sqlite:"+filepath.Join(b.TempDir(), "b.db"))
}

// BenchmarkSaveOutcomesPostgres is BenchmarkSaveOutcomes on PostgreSQL:
//
//	eval "$(.ci/postgres.sh start)"
//	go test -run '^$' -bench SaveOutcomesPostgres -benchtime 50000x -count 5 ./internal/store/
func BenchmarkSaveOutcomesPostgres(b *testing.B) {
	benchSaveOutcomes(b, storetest.NewDatabase(b))
}

func benchSaveOutcomes(b *testing.B, url string) {
	ctx := context.Background()
	st, c := openWith(b, Options{URL: url, Synchronous: SyncFull})
	payload := `{"event":"message_created","content":"` + strings.Repeat("x", 500) + `"}`
	ids := enqueueN(b, st, c, b.N, []byte(payload))
	const perWrite = 50
	cpu0 := time.Duration(-1)
	if st.records.arrays() {
		cpu0 = serverCPU(b, st)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(ids); i += perWrite {
		os := make([]Outcome, 0, perWrite)
		for _, id := range ids[i:min(i+perWrite, len(ids))] {
			os = append(os, Outcome{ID: id, State: StateSucceeded, Attempts: 1, Status: 200, // JobID 0: as a batch job writes them
				Attempt: &Attempt{Attempt: 1, At: time.Now(), Status: 200, Duration: 3 * time.Millisecond}})
		}
		if err := st.saveOutcomes(ctx, os, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ids))/time.Since(start).Seconds(), "outcomes/s")
	if cpu0 >= 0 {
		b.ReportMetric((serverCPU(b, st)-cpu0).Seconds()*1e6/float64(len(ids)), "pg-µs/outcome")
	}
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

// BenchmarkRecordsPostgres is what the records of a delivery cost
// PostgreSQL: b.N deliveries are stored as ingest stores them (an event, its
// delivery and a job, transactions of 30) and each recorded succeeded with
// its attempt (a write per 30). It reports the CPU of the database's server
// processes per delivery (read from /proc: the server must be local) and
// the share of HOT outcome updates, for three stores:
//
//   - schema: as migrated;
//
//   - floor: only the primary keys and the uuid's unique index (not the
//     deliveries' by event, for retention, and by endpoint, for the
//     backlog count and an endpoint's log): the least a schema with these
//     rows can cost, and the difference from schema the most that index
//     work could gain;
//
//   - jobs: no records, as before them: one River job per 30 deliveries
//     carrying their payloads, inserted, set running and completed.
//
//     eval "$(.ci/postgres.sh start)"
//     go test -run '^$' -bench RecordsPostgres -benchtime 60000x -count 3 ./internal/store/
func BenchmarkRecordsPostgres(b *testing.B) {
	floor := []string{
		`DROP INDEX chatwoot_deliveries_event`,
		`DROP INDEX chatwoot_deliveries_endpoint`,
	}
	payload := []byte(`{"event":"message_created","content":"` + strings.Repeat("x", 540) + `"}`)
	const per = 30
	records := func(ctx context.Context, b *testing.B, st *Store, c Client, n int) {
		evs := make([]NewEvent, n)
		for i := range evs {
			evs[i] = NewEvent{AccountID: 1, Event: "message_created", Payload: payload,
				Deliveries: []NewDelivery{{UUID: uuid.Must(uuid.NewV7()).String(), WebhookID: 1, MaxAttempts: 10}}}
		}
		qs, err := st.Enqueue(ctx, c, evs, oneJob)
		if err != nil {
			b.Fatal(err)
		}
		outs := make([]Outcome, len(qs))
		for i, q := range qs {
			outs[i] = Outcome{ID: q.ID, State: StateSucceeded, Attempts: 1, Status: 200,
				Attempt: &Attempt{Attempt: 1, At: time.Now(), Status: 200, Duration: 3 * time.Millisecond}}
		}
		if err := st.saveOutcomes(ctx, outs, nil); err != nil {
			b.Fatal(err)
		}
	}
	jobs := func(ctx context.Context, b *testing.B, st *Store, c Client, n int) {
		args := payloadsArgs{Payloads: make([]json.RawMessage, n)}
		for i := range args.Payloads {
			args.Payloads[i] = payload
		}
		var id int64
		err := st.inTx(ctx, func(t *txn) error {
			if _, err := t.insertJobs(ctx, c, []river.InsertManyParams{{Args: args}}); err != nil {
				return err
			}
			return t.query(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now()
				WHERE id = (SELECT max(id) FROM river_job) RETURNING id`, func(scan func(...any) error) error { return scan(&id) })
		})
		if err == nil {
			err = st.inTx(ctx, func(t *txn) error { _, err := t.completeJobs(ctx, []int64{id}); return err })
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, v := range []struct {
		name  string
		ddl   []string
		store func(context.Context, *testing.B, *Store, Client, int)
	}{{"schema", nil, records}, {"floor", floor, records}, {"jobs", nil, jobs}} {
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := Open(ctx, Options{URL: storetest.NewDatabase(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			for _, q := range v.ddl {
				if err := st.records.exec(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			c, err := st.NewClient(&river.Config{})
			if err != nil {
				b.Fatal(err)
			}
			cpu0 := serverCPU(b, st)
			b.ResetTimer()
			for done := 0; done < b.N; done += per {
				v.store(ctx, b, st, c, min(per, b.N-done))
			}
			b.StopTimer()
			if cpu0 >= 0 {
				b.ReportMetric((serverCPU(b, st)-cpu0).Seconds()*1e6/float64(b.N), "pg-µs/delivery")
			}
			// A backend reports its tables' counts to the statistics
			// when it goes idle, within a second.
			time.Sleep(time.Second)
			var hot, all float64
			if err := st.records.query(ctx, `SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables WHERE relname = 'chatwoot_deliveries'`,
				func(scan func(...any) error) error { return scan(&hot, &all) }); err != nil {
				b.Fatal(err)
			}
			if all > 0 {
				b.ReportMetric(100*hot/all, "%HOT")
			}
		})
	}
}

// payloadsArgs is a job carrying its deliveries' payloads, as jobs did
// before the records.
type payloadsArgs struct {
	Payloads []json.RawMessage `json:"payloads"`
}

func (payloadsArgs) Kind() string { return "test_payloads" }

// serverCPU sums the CPU time of st's database's server processes, read
// from /proc; -1 when they are not on this machine.
func serverCPU(tb testing.TB, st *Store) time.Duration {
	var pids []int64
	if err := st.records.query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`,
		func(scan func(...any) error) error {
			var pid int64
			err := scan(&pid)
			pids = append(pids, pid)
			return err
		}); err != nil {
		tb.Fatal(err)
	}
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return -1
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
		user, _ := strconv.ParseInt(f[11], 10, 64)
		system, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += user + system
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// BenchmarkAttemptReads is what batch jobs' reads cost: b.N deliveries
// stored as ingest stores them, then read for their attempts a batch at a
// time, each batch the deliveries of one endpoint stored in one
// transaction. "one endpoint": transactions of 1,000 events to one
// endpoint, read in batches of 50 (a drain); "100 endpoints": transactions
// of 30 events, each to 100 endpoints, read in batches of 30 (a fan-out).
//
//	go test -run '^$' -bench 'AttemptReads' -benchtime 60000x -count 5 ./internal/store/
func BenchmarkAttemptReads(b *testing.B) {
	benchAttemptReads(b, func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "b.db") })
}

// BenchmarkAttemptReadsPostgres is BenchmarkAttemptReads on PostgreSQL; it
// also reports the CPU of the database's server processes per delivery
// read.
//
//	eval "$(.ci/postgres.sh start)"
//	go test -run '^$' -bench AttemptReadsPostgres -benchtime 60000x -count 5 ./internal/store/
func BenchmarkAttemptReadsPostgres(b *testing.B) {
	benchAttemptReads(b, func(b *testing.B) string { return storetest.NewDatabase(b) })
}

func benchAttemptReads(b *testing.B, newURL func(*testing.B) string) {
	payload := []byte(`{"event":"message_created","content":"` + strings.Repeat("x", 540) + `"}`)
	for _, v := range []struct {
		name                         string
		events, endpoints, readBatch int
	}{{"one endpoint", 1000, 1, 50}, {"100 endpoints", 30, 100, 30}} {
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			st, c := openInsertOnly(b, newURL(b))
			var batches [][]int64
			for stored := 0; stored < b.N; {
				evs := make([]NewEvent, min(v.events, (b.N-stored+v.endpoints-1)/v.endpoints))
				for i := range evs {
					evs[i] = NewEvent{AccountID: 1, Event: "message_created", Payload: payload}
					for w := range v.endpoints {
						evs[i].Deliveries = append(evs[i].Deliveries, NewDelivery{UUID: uuid.Must(uuid.NewV7()).String(), WebhookID: int64(w + 1), MaxAttempts: 10})
					}
				}
				qs, err := st.Enqueue(ctx, c, evs, oneJob)
				if err != nil {
					b.Fatal(err)
				}
				stored += len(qs)
				byEndpoint := map[int64][]int64{}
				for _, q := range qs {
					byEndpoint[q.WebhookID] = append(byEndpoint[q.WebhookID], q.ID)
				}
				for _, ids := range byEndpoint {
					for len(ids) > 0 {
						n := min(v.readBatch, len(ids))
						batches, ids = append(batches, ids[:n]), ids[n:]
					}
				}
			}
			read := 0
			cpu0 := time.Duration(-1)
			if st.records.arrays() {
				cpu0 = serverCPU(b, st)
			}
			b.ResetTimer()
			for _, ids := range batches {
				ds, err := st.ForAttempt(ctx, ids)
				if err != nil {
					b.Fatal(err)
				}
				if len(ds) != len(ids) {
					b.Fatalf("read %d of %d deliveries", len(ds), len(ids))
				}
				read += len(ds)
			}
			b.StopTimer()
			if cpu0 >= 0 {
				b.ReportMetric((serverCPU(b, st)-cpu0).Seconds()*1e6/float64(read), "pg-µs/delivery")
			}
		})
	}
}
