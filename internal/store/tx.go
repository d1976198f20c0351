package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
)

// txn is one transaction over the records and River's jobs together: what
// ingest commits (an event, its deliveries and the jobs carrying them) is
// all there or none of it.
type txn struct {
	db
	// insertJobs inserts River jobs in this transaction, without reading
	// them back (River's InsertManyFastTx).
	insertJobs func(ctx context.Context, c Client, params []river.InsertManyParams) (int, error)
	// completeJob completes a running job in this transaction (River's
	// JobCompleteTx; ctx must hold the job's client), or returns
	// rivertype.ErrNotFound if it is no longer running or gone.
	completeJob func(ctx context.Context, job *rivertype.JobRow) error
	commit      func(ctx context.Context) error
	rollback    func(ctx context.Context) error
}

type sqlTx struct{ tx *sql.Tx }

func (sqlTx) ph(int) string { return "?" }

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

func beginSQLite(db *sql.DB) func(context.Context) (*txn, error) {
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
			completeJob: func(ctx context.Context, job *rivertype.JobRow) error {
				return completed(river.JobCompleteTx[*riversqlite.Driver](ctx, tx, &river.Job[anyArgs]{JobRow: job}))
			},
			commit:   func(context.Context) error { return tx.Commit() },
			rollback: func(context.Context) error { return tx.Rollback() },
		}, nil
	}
}

func beginPostgres(pool *pgxpool.Pool) func(context.Context) (*txn, error) {
	return func(ctx context.Context) (*txn, error) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return nil, err
		}
		return &txn{
			db: pgDB{tx},
			insertJobs: func(ctx context.Context, c Client, params []river.InsertManyParams) (int, error) {
				rc, ok := c.(*river.Client[pgx.Tx])
				if !ok {
					return 0, fmt.Errorf("internal error: a PostgreSQL store given a River client of type %T", c)
				}
				return rc.InsertManyFastTx(ctx, tx, params)
			},
			completeJob: func(ctx context.Context, job *rivertype.JobRow) error {
				return completed(river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, &river.Job[anyArgs]{JobRow: job}))
			},
			commit:   tx.Commit,
			rollback: tx.Rollback,
		}, nil
	}
}

// completed is JobCompleteTx's result as completeJob's: River returns the
// row unchanged, not an error, when the job was no longer running.
func completed(job *river.Job[anyArgs], err error) error {
	if err == nil && job.State != rivertype.JobStateCompleted {
		return rivertype.ErrNotFound
	}
	return err
}

// anyArgs reads any job's args: completing a job needs only its row.
type anyArgs map[string]any

func (anyArgs) Kind() string { return "" }

// jobContext is the deadline of one context with the values of another: a
// job completed in the recorder's transaction needs its client (a value of
// the job's context), not the job's deadline.
type jobContext struct {
	context.Context
	values context.Context
}

func (c jobContext) Value(key any) any { return c.values.Value(key) }

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
