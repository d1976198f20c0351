package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The daemon's own tables, next to River's: what the daemon knows about an
// endpoint lives here, shared by every replica of a PostgreSQL store and
// kept across restarts, not in River's job rows. They are created by the
// migrations below, run on every Open after River's (on PostgreSQL inside
// the same advisory lock), each once, recorded in chatwoot_schema_version.
// The SQL is the subset SQLite and PostgreSQL share; times are unix
// microseconds.

// recordMigrations are applied in order; append only.
var recordMigrations = []string{
	1: `CREATE TABLE chatwoot_endpoint_state (
		account_id           BIGINT NOT NULL,
		webhook_id           BIGINT NOT NULL,
		disabled_fingerprint TEXT   NOT NULL,
		disabled_at_us       BIGINT NOT NULL,
		disabled_reason      TEXT   NOT NULL,
		PRIMARY KEY (account_id, webhook_id)
	)`,
	2: `CREATE TABLE chatwoot_endpoint_pause (
		account_id   BIGINT NOT NULL,
		webhook_id   BIGINT NOT NULL,
		paused_at_us BIGINT NOT NULL,
		PRIMARY KEY (account_id, webhook_id)
	)`,
	3: `CREATE TABLE chatwoot_account_webhooks (
		account_id   BIGINT NOT NULL PRIMARY KEY,
		webhooks     TEXT   NOT NULL,
		listed_at_us BIGINT NOT NULL
	)`,
	4: `CREATE TABLE chatwoot_attempts (
		delivery_id TEXT   NOT NULL,
		attempt     BIGINT NOT NULL,
		account_id  BIGINT NOT NULL,
		webhook_id  BIGINT NOT NULL,
		at_us       BIGINT NOT NULL,
		status      BIGINT NOT NULL,
		error       TEXT   NOT NULL,
		duration_us BIGINT NOT NULL,
		PRIMARY KEY (delivery_id, attempt)
	)`,
	// 5-11: events, deliveries and attempts are the daemon's records (see
	// deliveries.go); the attempt log of 4, opt-in and keyed by the
	// delivery's UUID, gives way to attempts keyed by the delivery's row.
	5: `DROP TABLE chatwoot_attempts`,
	6: `CREATE TABLE chatwoot_events (
		id              {{id}},
		account_id      BIGINT NOT NULL,
		event           TEXT   NOT NULL,
		payload         TEXT   NOT NULL,
		received_at_us  BIGINT NOT NULL,
		idempotency_key TEXT   NOT NULL
	)`,
	7: `CREATE TABLE chatwoot_deliveries (
		id                 {{id}},
		uuid               TEXT   NOT NULL UNIQUE,
		event_id           BIGINT NOT NULL,
		account_id         BIGINT NOT NULL,
		webhook_id         BIGINT NOT NULL,
		state              TEXT   NOT NULL,
		attempts           BIGINT NOT NULL,
		max_attempts       BIGINT NOT NULL,
		job_id             BIGINT NOT NULL,
		created_at_us      BIGINT NOT NULL,
		next_attempt_at_us BIGINT NOT NULL,
		last_status        BIGINT NOT NULL,
		last_error         TEXT   NOT NULL,
		finished_at_us     BIGINT NOT NULL
	)`,
	8:  `CREATE INDEX chatwoot_deliveries_event ON chatwoot_deliveries (event_id)`,
	9:  `CREATE INDEX chatwoot_deliveries_endpoint ON chatwoot_deliveries (account_id, webhook_id, id)`,
	10: `CREATE INDEX chatwoot_deliveries_finished ON chatwoot_deliveries (state, finished_at_us)`,
	11: `CREATE TABLE chatwoot_attempts (
		delivery_id BIGINT NOT NULL,
		attempt     BIGINT NOT NULL,
		at_us       BIGINT NOT NULL,
		status      BIGINT NOT NULL,
		error       TEXT   NOT NULL,
		duration_us BIGINT NOT NULL,
		PRIMARY KEY (delivery_id, attempt)
	)`,
	// 12-13: retention's index holds finished deliveries only: indexing
	// every row made each outcome move its entry out of the pending ones,
	// the largest part of recording it.
	12: `DROP INDEX chatwoot_deliveries_finished`,
	13: `CREATE INDEX chatwoot_deliveries_finished ON chatwoot_deliveries (state, finished_at_us) WHERE finished_at_us > 0`,
	// 14: an endpoint's deliveries waiting for their first attempt, the
	// stored backlog that decides a new delivery's priority (Enqueue).
	14: `CREATE INDEX chatwoot_deliveries_unattempted ON chatwoot_deliveries (account_id, webhook_id) WHERE attempts = 0 AND state = 'pending'`,
	// 15-19: an outcome changes no indexed column, so that on PostgreSQL
	// its UPDATE is HOT (the new row version on the same page, no index
	// entry added): retention reads a log of finished deliveries instead
	// of an index on state and finish time, the backlog count reads the
	// endpoint's newest deliveries instead of an index on attempts, and
	// PostgreSQL leaves half of each new page free for the updated rows.
	15: `CREATE TABLE chatwoot_finished (
		state          TEXT   NOT NULL,
		finished_at_us BIGINT NOT NULL,
		delivery_id    BIGINT NOT NULL,
		PRIMARY KEY (state, finished_at_us, delivery_id)
	)`,
	16: `INSERT INTO chatwoot_finished (state, finished_at_us, delivery_id)
		SELECT state, finished_at_us, id FROM chatwoot_deliveries WHERE finished_at_us > 0
		ON CONFLICT (state, finished_at_us, delivery_id) DO NOTHING`,
	17: `DROP INDEX chatwoot_deliveries_finished`,
	18: `DROP INDEX chatwoot_deliveries_unattempted`,
	19: postgresOnly + `ALTER TABLE chatwoot_deliveries SET (fillfactor = 50)`,
	// 20-22: an entry of the finished log lists the deliveries of an
	// outcome write that finished in one state (finishedEntry), where a
	// row for each cost a third of the write's time on PostgreSQL.
	20: `CREATE TABLE chatwoot_finished_log (
		state          TEXT   NOT NULL,
		finished_at_us BIGINT NOT NULL,
		first_id       BIGINT NOT NULL,
		ids            TEXT   NOT NULL,
		PRIMARY KEY (state, finished_at_us, first_id)
	)`,
	21: `INSERT INTO chatwoot_finished_log (state, finished_at_us, first_id, ids)
		SELECT state, finished_at_us, delivery_id, CAST(delivery_id AS TEXT) FROM chatwoot_finished`,
	22: `DROP TABLE chatwoot_finished`,
}

// postgresOnly starts a migration that only PostgreSQL runs (SQLite
// records it as applied).
const postgresOnly = "-- PostgreSQL only\n"

// dialect is what differs between the two databases in the migrations:
// an id column that numbers rows itself and never reuses a number (a job
// may still name a deleted delivery's id), and migrations only PostgreSQL
// runs (postgresOnly).
type dialect struct {
	id       string
	postgres bool
}

var (
	sqliteDialect   = dialect{id: "INTEGER PRIMARY KEY AUTOINCREMENT"}
	postgresDialect = dialect{id: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", postgres: true}
)

// db is the little SQL the records need, over database/sql (SQLite) or a
// pgx pool (PostgreSQL). Placeholders are $1, $2, ... on both.
type db interface {
	// ph is the placeholder of the i-th (from 1) of a statement's
	// parameters, used once each in order: "?" on SQLite, where a "$N"
	// is a named parameter that its driver looks up by name at every
	// bind (quadratic in a statement of hundreds), "$N" on PostgreSQL.
	ph(i int) string
	// arrays reports whether a statement can take a column of rows as one
	// array parameter (PostgreSQL's unnest): one statement, whatever the
	// number of rows, instead of fixed-size multi-row VALUES lists.
	arrays() bool
	exec(ctx context.Context, q string, args ...any) error
	query(ctx context.Context, q string, each func(scan func(dest ...any) error) error, args ...any) error
}

type sqlDB struct{ db *sql.DB }

func (sqlDB) ph(int) string { return "?" }
func (sqlDB) arrays() bool  { return false }

func (d sqlDB) exec(ctx context.Context, q string, args ...any) error {
	_, err := d.db.ExecContext(ctx, q, args...)
	return err
}

func (d sqlDB) query(ctx context.Context, q string, each func(scan func(dest ...any) error) error, args ...any) error {
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, each)
}

// sqlInTx runs fn in a transaction of db, committed if fn returns nil.
func sqlInTx(sdb *sql.DB) func(context.Context, func(db) error) error {
	return func(ctx context.Context, fn func(db) error) error {
		tx, err := sdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(sqlTx{tx}); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}
}

// pgInTx runs fn in a transaction of conn, committed if fn returns nil.
func pgInTx(conn *pgx.Conn) func(context.Context, func(db) error) error {
	return func(ctx context.Context, fn func(db) error) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return fn(pgDB{q: tx}) })
	}
}

// pgQuerier is a pgx pool or one connection (the migration lock's).
type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgDB runs the records' statements on PostgreSQL. Unless prepared is
// set, each is planned when it runs (QueryExecModeExec: an unnamed
// statement, still one round trip), never from a generic plan made while
// the tables were small: the outcome UPDATE prepared on a new store kept
// seq-scanning the deliveries as they grew, until an ANALYZE invalidated
// it. Prepared statements are for those whose only plan looks rows up by
// key (forAttemptSQL), and for the write transactions' (beginPostgres):
// their generic plans are made under byKeyOnlySQL, which leaves the
// planner no scan, so they stay right as the tables grow, and the parse
// and planning of every ingest commit and outcome write is saved.
type pgDB struct {
	q        pgQuerier
	prepared bool
}

func (pgDB) ph(i int) string { return "$" + strconv.Itoa(i) }
func (pgDB) arrays() bool    { return true }

func (d pgDB) args(args []any) []any {
	if d.prepared {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

func (d pgDB) exec(ctx context.Context, q string, args ...any) error {
	_, err := d.q.Exec(ctx, q, d.args(args)...)
	return err
}

func (d pgDB) query(ctx context.Context, q string, each func(scan func(dest ...any) error) error, args ...any) error {
	rows, err := d.q.Query(ctx, q, d.args(args)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, each)
}

func eachRow(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}, each func(scan func(dest ...any) error) error) error {
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// migrateRecords applies the record migrations not applied yet, each in
// a transaction of inTx with its row of chatwoot_schema_version: one cut
// short (a crash, a kill during a long backfill) is not half applied, and
// runs whole at the next Open.
func migrateRecords(ctx context.Context, d db, inTx func(context.Context, func(db) error) error, dia dialect) ([]int, error) {
	if err := d.exec(ctx, `CREATE TABLE IF NOT EXISTS chatwoot_schema_version (version BIGINT PRIMARY KEY)`); err != nil {
		return nil, fmt.Errorf("creating chatwoot_schema_version: %w", err)
	}
	applied := map[int]bool{}
	if err := d.query(ctx, `SELECT version FROM chatwoot_schema_version`, func(scan func(...any) error) error {
		var v int
		err := scan(&v)
		applied[v] = true
		return err
	}); err != nil {
		return nil, fmt.Errorf("reading chatwoot_schema_version: %w", err)
	}
	for v := range applied {
		if v >= len(recordMigrations) {
			return nil, fmt.Errorf("the store has record migration %d and this daemon knows %d: a newer daemon upgraded it; run that version (or stop it and restore a backup from before the upgrade)",
				v, len(recordMigrations)-1)
		}
	}
	var done []int
	for v := 1; v < len(recordMigrations); v++ {
		if applied[v] {
			continue
		}
		m, pgOnly := strings.CutPrefix(recordMigrations[v], postgresOnly)
		err := inTx(ctx, func(t db) error {
			if !pgOnly || dia.postgres {
				if err := t.exec(ctx, strings.ReplaceAll(m, "{{id}}", dia.id)); err != nil {
					return err
				}
			}
			return t.exec(ctx, `INSERT INTO chatwoot_schema_version (version) VALUES ($1)`, v)
		})
		if err != nil {
			return done, fmt.Errorf("record migration %d: %w", v, err)
		}
		done = append(done, v)
	}
	return done, nil
}

// DisabledMark is an endpoint the daemon stopped delivering to, and why:
// Fingerprint is the endpoint's (a hash of its destination, subscriptions
// and secret) when it was disabled, so a webhook changed upstream since
// is not disabled any more.
type DisabledMark struct {
	AccountID, WebhookID int64
	Fingerprint          string
	At                   time.Time
	Reason               string
}

// SaveDisabled stores a disabled mark, replacing the endpoint's earlier one.
func (s *Store) SaveDisabled(ctx context.Context, m DisabledMark) error {
	if m.Fingerprint == "" {
		return errors.New("store: a disabled mark needs the endpoint's fingerprint")
	}
	err := s.records.exec(ctx, `INSERT INTO chatwoot_endpoint_state (account_id, webhook_id, disabled_fingerprint, disabled_at_us, disabled_reason)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (account_id, webhook_id) DO UPDATE SET
			disabled_fingerprint = excluded.disabled_fingerprint, disabled_at_us = excluded.disabled_at_us, disabled_reason = excluded.disabled_reason`,
		m.AccountID, m.WebhookID, m.Fingerprint, m.At.UnixMicro(), m.Reason)
	if err != nil {
		return fmt.Errorf("saving the disabled mark of webhook %d of account %d: %w", m.WebhookID, m.AccountID, err)
	}
	return nil
}

// ClearDisabled removes an endpoint's disabled mark, if any.
func (s *Store) ClearDisabled(ctx context.Context, accountID, webhookID int64) error {
	if err := s.records.exec(ctx, `DELETE FROM chatwoot_endpoint_state WHERE account_id = $1 AND webhook_id = $2`, accountID, webhookID); err != nil {
		return fmt.Errorf("clearing the disabled mark of webhook %d of account %d: %w", webhookID, accountID, err)
	}
	return nil
}

// DisabledMarks returns every stored disabled mark.
func (s *Store) DisabledMarks(ctx context.Context) ([]DisabledMark, error) {
	var out []DisabledMark
	err := s.records.query(ctx, `SELECT account_id, webhook_id, disabled_fingerprint, disabled_at_us, disabled_reason FROM chatwoot_endpoint_state ORDER BY account_id, webhook_id`,
		func(scan func(...any) error) error {
			var m DisabledMark
			var us int64
			if err := scan(&m.AccountID, &m.WebhookID, &m.Fingerprint, &us, &m.Reason); err != nil {
				return err
			}
			m.At = time.UnixMicro(us).UTC()
			out = append(out, m)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading the disabled marks: %w", err)
	}
	return out, nil
}

// PauseMark is an endpoint paused through the admin API: its deliveries
// wait until it is resumed.
type PauseMark struct {
	AccountID, WebhookID int64
	At                   time.Time
}

// SavePaused stores a pause; pausing a paused endpoint keeps the first time.
func (s *Store) SavePaused(ctx context.Context, accountID, webhookID int64, at time.Time) error {
	err := s.records.exec(ctx, `INSERT INTO chatwoot_endpoint_pause (account_id, webhook_id, paused_at_us) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, webhook_id) DO NOTHING`, accountID, webhookID, at.UnixMicro())
	if err != nil {
		return fmt.Errorf("saving the pause of webhook %d of account %d: %w", webhookID, accountID, err)
	}
	return nil
}

// ClearPaused removes an endpoint's pause, if any.
func (s *Store) ClearPaused(ctx context.Context, accountID, webhookID int64) error {
	if err := s.records.exec(ctx, `DELETE FROM chatwoot_endpoint_pause WHERE account_id = $1 AND webhook_id = $2`, accountID, webhookID); err != nil {
		return fmt.Errorf("clearing the pause of webhook %d of account %d: %w", webhookID, accountID, err)
	}
	return nil
}

// PauseMarks returns every stored pause.
func (s *Store) PauseMarks(ctx context.Context) ([]PauseMark, error) {
	var out []PauseMark
	err := s.records.query(ctx, `SELECT account_id, webhook_id, paused_at_us FROM chatwoot_endpoint_pause ORDER BY account_id, webhook_id`,
		func(scan func(...any) error) error {
			var m PauseMark
			var us int64
			if err := scan(&m.AccountID, &m.WebhookID, &us); err != nil {
				return err
			}
			m.At = time.UnixMicro(us).UTC()
			out = append(out, m)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading the pauses: %w", err)
	}
	return out, nil
}

// AccountWebhooks is the last list of an account's webhooks Chatwoot gave
// (secrets included, as Chatwoot's own database holds them), so a daemon
// restarted while Chatwoot is down can deliver its stored backlog.
type AccountWebhooks struct {
	AccountID int64
	Webhooks  []byte // the list as JSON
	ListedAt  time.Time
}

// SaveWebhooks stores an account's last good list of webhooks.
func (s *Store) SaveWebhooks(ctx context.Context, a AccountWebhooks) error {
	err := s.records.exec(ctx, `INSERT INTO chatwoot_account_webhooks (account_id, webhooks, listed_at_us) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET webhooks = excluded.webhooks, listed_at_us = excluded.listed_at_us`,
		a.AccountID, string(a.Webhooks), a.ListedAt.UnixMicro())
	if err != nil {
		return fmt.Errorf("saving the webhooks of account %d: %w", a.AccountID, err)
	}
	return nil
}

// DeleteWebhooks forgets an account's list (the token no longer
// administers it).
func (s *Store) DeleteWebhooks(ctx context.Context, accountID int64) error {
	if err := s.records.exec(ctx, `DELETE FROM chatwoot_account_webhooks WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("deleting the webhooks of account %d: %w", accountID, err)
	}
	return nil
}

// StoredWebhooks returns every account's last good list.
func (s *Store) StoredWebhooks(ctx context.Context) ([]AccountWebhooks, error) {
	var out []AccountWebhooks
	err := s.records.query(ctx, `SELECT account_id, webhooks, listed_at_us FROM chatwoot_account_webhooks ORDER BY account_id`,
		func(scan func(...any) error) error {
			var a AccountWebhooks
			var body string
			var us int64
			if err := scan(&a.AccountID, &body, &us); err != nil {
				return err
			}
			a.Webhooks, a.ListedAt = []byte(body), time.UnixMicro(us).UTC()
			out = append(out, a)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading the stored webhooks: %w", err)
	}
	return out, nil
}
