package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
)

// txn is one transaction over the records and River's jobs together: what
// ingest commits (an event, its deliveries and the jobs carrying them) is
// all there or none of it.
type txn struct {
	db
	// insertJobs inserts River jobs in this transaction (River's
	// InsertManyFastTx on SQLite, InsertManyTx on PostgreSQL).
	insertJobs func(ctx context.Context, c Client, params []river.InsertManyParams) (int, error)
	// completeJobs completes running jobs in this transaction, in one
	// statement (River's JobSetStateIfRunningMany, which JobCompleteTx
	// calls for one job), and reports which were: one no longer running
	// (rescued, cancelled) or gone is left as it is.
	completeJobs func(ctx context.Context, ids []int64) (map[int64]bool, error)
	commit       func(ctx context.Context) error
	rollback     func(ctx context.Context) error
}

type sqlTx struct{ tx *sql.Tx }

func (sqlTx) ph(int) string { return "?" }
func (sqlTx) arrays() bool  { return false }

func (d sqlTx) exec(ctx context.Context, q string, args ...any) error {
	_, err := d.tx.ExecContext(ctx, q, args...)
	return err
}

func (d sqlTx) query(ctx context.Context, q string, each func(scan func(dest ...any) error) error, args ...any) error {
	rows, err := d.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, each)
}

func beginSQLite(db *sql.DB, driver *riversqlite.Driver) func(context.Context) (*txn, error) {
	return func(ctx context.Context) (*txn, error) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		return &txn{
			db: sqlTx{tx},
			insertJobs: func(ctx context.Context, c Client, params []river.InsertManyParams) (int, error) {
				rc, ok := c.(*river.Client[*sql.Tx])
				if !ok {
					return 0, fmt.Errorf("internal error: a SQLite store given a River client of type %T", c)
				}
				return rc.InsertManyFastTx(ctx, tx, params)
			},
			completeJobs: func(ctx context.Context, ids []int64) (map[int64]bool, error) {
				return completeJobs(ctx, driver.UnwrapExecutor(tx), ids)
			},
			commit:   func(context.Context) error { return tx.Commit() },
			rollback: func(context.Context) error { return tx.Rollback() },
		}, nil
	}
}

// byKeyOnlySQL leaves PostgreSQL's planner, on the connections of the
// daemon's write transactions (Open sets it once on each), only index scans
// and joins that look rows up by key. The daemon's transactions read and
// write rows they name (ids, an endpoint's newest deliveries through its
// index), but the planner, from statistics that need not fit the moment,
// chose otherwise: with statistics taken during a dead endpoint's backlog
// it scanned the whole table per endpoint to count a backlog (LIMIT 16,
// expecting to stop at once), and for hundreds of outcomes in one write it
// hashed a scan of the deliveries, slower than the lookups it priced
// higher (their pages are cached). Set per connection rather than per
// transaction: a statement less in every transaction.
const byKeyOnlySQL = `SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off`

func beginPostgres(pool *pgxpool.Pool, driver *riverpgxv5.Driver) func(context.Context) (*txn, error) {
	return func(ctx context.Context) (*txn, error) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return nil, err
		}
		return &txn{
			// Prepared: their generic plans, made under byKeyOnlySQL, look
			// rows up by key (TestPostgresWriteStatementsGenericPlans).
			db: pgDB{q: tx, prepared: true},
			insertJobs: func(ctx context.Context, c Client, params []river.InsertManyParams) (int, error) {
				rc, ok := c.(*river.Client[pgx.Tx])
				if !ok {
					return 0, fmt.Errorf("internal error: a PostgreSQL store given a River client of type %T", c)
				}
				// InsertManyTx is one prepared statement; InsertManyFastTx's
				// COPY is two round trips and a goroutine, for the one or
				// few jobs a commit carries.
				res, err := rc.InsertManyTx(ctx, tx, params)
				return len(res), err
			},
			completeJobs: func(ctx context.Context, ids []int64) (map[int64]bool, error) {
				return completeJobs(ctx, driver.UnwrapExecutor(tx), ids)
			},
			commit:   tx.Commit,
			rollback: tx.Rollback,
		}, nil
	}
}

// completeJobs marks the running jobs of ids completed through exec (a
// transaction's) and reports which it completed: River returns a job no
// longer running unchanged, not an error.
func completeJobs(ctx context.Context, exec riverdriver.Executor, ids []int64) (map[int64]bool, error) {
	now := time.Now().UTC()
	p := &riverdriver.JobSetStateIfRunningManyParams{
		ID:              ids,
		Attempt:         make([]*int, len(ids)),
		ErrData:         make([][]byte, len(ids)),
		FinalizedAt:     make([]*time.Time, len(ids)),
		MetadataDoMerge: make([]bool, len(ids)),
		MetadataUpdates: make([][]byte, len(ids)),
		ScheduledAt:     make([]*time.Time, len(ids)),
		State:           make([]rivertype.JobState, len(ids)),
	}
	for i := range ids {
		p.FinalizedAt[i], p.State[i] = &now, rivertype.JobStateCompleted
	}
	rows, err := exec.JobSetStateIfRunningMany(ctx, p)
	if err != nil {
		return nil, err
	}
	done := make(map[int64]bool, len(rows))
	for _, r := range rows {
		done[r.ID] = r.State == rivertype.JobStateCompleted
	}
	return done, nil
}

// inTx runs fn in a transaction, committed if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(t *txn) error) error {
	t, err := s.begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		_ = t.rollback(context.WithoutCancel(ctx))
		return err
	}
	return t.commit(ctx)
}
