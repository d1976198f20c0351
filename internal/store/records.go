package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
}

// db is the little SQL the records need, over database/sql (SQLite) or a
// pgx pool (PostgreSQL). Placeholders are $1, $2, ... on both.
type db interface {
	exec(ctx context.Context, q string, args ...any) error
	query(ctx context.Context, q string, each func(scan func(dest ...any) error) error, args ...any) error
}

type sqlDB struct{ db *sql.DB }

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

// pgQuerier is a pgx pool or one connection (the migration lock's).
type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type pgDB struct{ q pgQuerier }

func (d pgDB) exec(ctx context.Context, q string, args ...any) error {
	_, err := d.q.Exec(ctx, q, args...)
	return err
}

func (d pgDB) query(ctx context.Context, q string, each func(scan func(dest ...any) error) error, args ...any) error {
	rows, err := d.q.Query(ctx, q, args...)
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

// migrateRecords applies the record migrations not applied yet.
func migrateRecords(ctx context.Context, d db) ([]int, error) {
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
	var done []int
	for v := 1; v < len(recordMigrations); v++ {
		if applied[v] {
			continue
		}
		if err := d.exec(ctx, recordMigrations[v]); err != nil {
			return done, fmt.Errorf("record migration %d: %w", v, err)
		}
		if err := d.exec(ctx, `INSERT INTO chatwoot_schema_version (version) VALUES ($1)`, v); err != nil {
			return done, fmt.Errorf("recording migration %d: %w", v, err)
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

// Attempt is one HTTP attempt of a delivery, whatever its outcome (a 2xx
// included), as the attempt log keeps it.
type Attempt struct {
	DeliveryID           string
	Attempt              int
	AccountID, WebhookID int64
	At                   time.Time // when the attempt started
	Status               int       // 0 when no answer came
	Error                string    // "" for a 2xx
	Duration             time.Duration
}

// attemptsPerInsert bounds one INSERT's rows (8 parameters each; SQLite
// takes 32,766).
const attemptsPerInsert = 500

// SaveAttempts stores attempts in as few statements as it can; an attempt
// already stored (same delivery and number) is kept as it was.
func (s *Store) SaveAttempts(ctx context.Context, as []Attempt) error {
	for len(as) > 0 {
		n := min(len(as), attemptsPerInsert)
		var q strings.Builder
		q.WriteString(`INSERT INTO chatwoot_attempts (delivery_id, attempt, account_id, webhook_id, at_us, status, error, duration_us) VALUES `)
		args := make([]any, 0, n*8)
		for i, a := range as[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			b := i * 8
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", b+1, b+2, b+3, b+4, b+5, b+6, b+7, b+8)
			args = append(args, a.DeliveryID, a.Attempt, a.AccountID, a.WebhookID, a.At.UnixMicro(), a.Status, a.Error, a.Duration.Microseconds())
		}
		q.WriteString(` ON CONFLICT (delivery_id, attempt) DO NOTHING`)
		if err := s.records.exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("saving %d attempts: %w", n, err)
		}
		as = as[n:]
	}
	return nil
}

// Attempts returns the stored attempts of a delivery, by number (the
// primary key's index).
func (s *Store) Attempts(ctx context.Context, deliveryID string) ([]Attempt, error) {
	var out []Attempt
	err := s.records.query(ctx, `SELECT attempt, account_id, webhook_id, at_us, status, error, duration_us FROM chatwoot_attempts WHERE delivery_id = $1 ORDER BY attempt`,
		func(scan func(...any) error) error {
			a := Attempt{DeliveryID: deliveryID}
			var at, dur int64
			if err := scan(&a.Attempt, &a.AccountID, &a.WebhookID, &at, &a.Status, &a.Error, &dur); err != nil {
				return err
			}
			a.At, a.Duration = time.UnixMicro(at).UTC(), time.Duration(dur)*time.Microsecond
			out = append(out, a)
			return nil
		}, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("reading the attempts of delivery %s: %w", deliveryID, err)
	}
	return out, nil
}
