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
	// pipeline runs stmts in order, in one round trip where the store
	// allows it (PostgreSQL); a statement's rows are read before the next
	// one's.
	pipeline func(ctx context.Context, stmts []stmt) error
	// withCommit runs s with the commit, in its round trip where the
	// store allows it (PostgreSQL: a transaction that sent nothing before
	// is then one round trip in all, s's failure the commit's), or at once.
	withCommit func(ctx context.Context, s stmt) error
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

// stmt is one statement of a pipeline: each, when set, reads its rows;
// what, when set, names it in an error, after mapErr.
type stmt struct {
	what   string
	sql    string
	args   []any
	each   func(scan func(dest ...any) error) error
	mapErr func(error) error
}

func (s stmt) fail(err error) error {
	if s.mapErr != nil {
		err = s.mapErr(err)
	}
	if s.what == "" {
		return err
	}
	return fmt.Errorf("%s: %w", s.what, err)
}

// inOrder runs stmts one after the other on d.
func inOrder(ctx context.Context, d db, stmts []stmt) error {
	for _, s := range stmts {
		var err error
		if s.each == nil {
			err = d.exec(ctx, s.sql, s.args...)
		} else {
			err = d.query(ctx, s.sql, s.each, s.args...)
		}
		if err != nil {
			return s.fail(err)
		}
	}
	return nil
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
			pipeline: func(ctx context.Context, stmts []stmt) error {
				return inOrder(ctx, sqlTx{tx}, stmts)
			},
			withCommit: func(ctx context.Context, s stmt) error {
				return inOrder(ctx, sqlTx{tx}, []stmt{s})
			},
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
	return func(context.Context) (*txn, error) {
		p := &pgTxn{pool: pool}
		return &txn{
			db:       p,
			pipeline: p.send,
			withCommit: func(_ context.Context, s stmt) error {
				p.atCommit = append(p.atCommit, s)
				return nil
			},
			insertJobs: func(ctx context.Context, c Client, params []river.InsertManyParams) (int, error) {
				rc, ok := c.(*river.Client[pgx.Tx])
				if !ok {
					return 0, fmt.Errorf("internal error: a PostgreSQL store given a River client of type %T", c)
				}
				tx, err := p.begun(ctx)
				if err != nil {
					return 0, err
				}
				// InsertManyTx is one prepared statement; InsertManyFastTx's
				// COPY is two round trips and a goroutine, for the one or
				// few jobs a commit carries.
				res, err := rc.InsertManyTx(ctx, tx, params)
				return len(res), err
			},
			completeJobs: func(ctx context.Context, ids []int64) (map[int64]bool, error) {
				tx, err := p.begun(ctx)
				if err != nil {
					return nil, err
				}
				return completeJobs(ctx, driver.UnwrapExecutor(tx), ids)
			},
			commit:   p.commit,
			rollback: p.rollback,
		}, nil
	}
}

// pgTxn is a write transaction on PostgreSQL that spends no round trip of
// its own on BEGIN or COMMIT where it can help it: under load each round
// trip waits for both processes to be scheduled. BEGIN goes to the server
// with the first statements (pgx's Batch.BeginTx); the statements given
// withCommit go with the COMMIT, or, when nothing was sent before them,
// alone in the implicit transaction of one batch (an outcome write is then
// one round trip). Its statements are prepared: their generic plans, made
// under byKeyOnlySQL, look rows up by key
// (TestPostgresWriteStatementsGenericPlans).
type pgTxn struct {
	pool     *pgxpool.Pool
	tx       pgx.Tx // nil until the first round trip
	atCommit []stmt
}

func (*pgTxn) ph(i int) string { return pgDB{}.ph(i) }
func (*pgTxn) arrays() bool    { return true }

func (p *pgTxn) exec(ctx context.Context, q string, args ...any) error {
	if p.tx == nil {
		return p.send(ctx, []stmt{{sql: q, args: args}})
	}
	_, err := p.tx.Exec(ctx, q, args...)
	return err
}

func (p *pgTxn) query(ctx context.Context, q string, each func(scan func(dest ...any) error) error, args ...any) error {
	if p.tx == nil {
		return p.send(ctx, []stmt{{sql: q, args: args, each: each}})
	}
	return pgDB{q: p.tx, prepared: true}.query(ctx, q, each, args...)
}

// begun is the transaction, begun alone if no statement has gone yet
// (for River's calls, which take a pgx.Tx).
func (p *pgTxn) begun(ctx context.Context) (pgx.Tx, error) {
	if p.tx == nil {
		if err := p.send(ctx, nil); err != nil {
			return nil, err
		}
	}
	return p.tx, nil
}

// send runs stmts in one round trip, BEGIN ahead of them if the
// transaction has not begun.
func (p *pgTxn) send(ctx context.Context, stmts []stmt) error {
	b := &pgx.Batch{}
	if p.tx != nil {
		return runBatch(p.tx.SendBatch(ctx, queue(b, stmts)), stmts)
	}
	b.BeginTx(pgx.TxOptions{})
	br := p.pool.SendBatch(ctx, queue(b, stmts))
	p.tx = br.Tx() // closed if BEGIN failed; rollback releases it otherwise
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return err
	}
	return runBatch(br, stmts)
}

func queue(b *pgx.Batch, stmts []stmt) *pgx.Batch {
	for _, s := range stmts {
		b.Queue(s.sql, s.args...)
	}
	return b
}

// runBatch reads the results of stmts from br, and closes it.
func runBatch(br pgx.BatchResults, stmts []stmt) error {
	for _, s := range stmts {
		if err := batchResult(br, s); err != nil {
			_ = br.Close()
			return s.fail(err)
		}
	}
	return br.Close()
}

func batchResult(br pgx.BatchResults, s stmt) error {
	if s.each == nil {
		_, err := br.Exec()
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, s.each)
}

func (p *pgTxn) commit(ctx context.Context) error {
	stmts := p.atCommit
	p.atCommit = nil
	if p.tx == nil {
		if len(stmts) == 0 {
			return nil
		}
		// Nothing sent yet: the statements alone, in the implicit
		// transaction of one batch, which its end commits.
		return runBatch(p.pool.SendBatch(ctx, queue(&pgx.Batch{}, stmts)), stmts)
	}
	if len(stmts) > 0 {
		if err := p.send(ctx, stmts); err != nil {
			_ = p.tx.Rollback(ctx)
			return err
		}
	}
	return p.tx.Commit(ctx)
}

func (p *pgTxn) rollback(ctx context.Context) error {
	p.atCommit = nil
	if p.tx == nil {
		return nil
	}
	return p.tx.Rollback(ctx)
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
