package store

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// PostgreSQL pool sizes.
const (
	// DefaultPoolMaxConns is a replica's pool size when the DSN has no
	// pool_max_conns. River needs a handful at a time (LISTEN, fetch,
	// completer, inserts, leader maintenance); more only pile up in
	// PostgreSQL when the CPU is the limit.
	DefaultPoolMaxConns = 10
	// MinPoolMaxConns is the least pool_max_conns accepted: River's LISTEN
	// holds one connection for good, and fetching, completing and inserting
	// must not wait on each other.
	MinPoolMaxConns = 4
	// writeConns is the pool of the daemon's own transactions, beside
	// pool_max_conns.
	writeConns = 3
)

// migrateLockKey is the PostgreSQL advisory lock around migrations:
// "cwriver" in ASCII. Every daemon of the project uses the same key.
const migrateLockKey int64 = 0x63777269766572

const pgExample = "postgres://user:password@host:5432/database?sslmode=require"

func openPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	redacted := RedactDSN(dsn)
	fail := func(format string, a ...any) error {
		return &redactedError{err: fmt.Errorf("--store %s: "+format, append([]any{redacted}, a...)...), secrets: dsnSecrets(dsn)}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fail("not a valid URL; expected %s", pgExample)
	}
	if u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return nil, fail("name the host and the database, like %s", pgExample)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fail("%v; expected %s", err, pgExample)
	}
	if !u.Query().Has("pool_max_conns") {
		cfg.MaxConns = DefaultPoolMaxConns
	}
	if cfg.MaxConns < MinPoolMaxConns {
		return nil, fail("pool_max_conns=%d is too small: River keeps one connection listening and works with a few more; use %d or more (default %d)", cfg.MaxConns, MinPoolMaxConns, DefaultPoolMaxConns)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "chatwoot-delivery-daemon"
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 15 * time.Second
	}
	log := opts.logger()

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fail("%v", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	err = pool.Ping(pingCtx)
	cancel()
	if err != nil {
		pool.Close()
		return nil, fail("cannot connect: %v; check that PostgreSQL runs there and that the user, password, database and sslmode are right", err)
	}

	// The daemon's own transactions (ingest's commits and the recorder's
	// outcome writes, one in flight each; replays, cancels and retention
	// now and then) get connections of their own, so they never queue for
	// one behind hundreds of workers reading deliveries and River's
	// fetches and completions.
	wcfg := cfg.Copy()
	wcfg.MaxConns, wcfg.MinConns = writeConns, 0
	wcfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, byKeyOnlySQL)
		return err
	}
	writes, err := pgxpool.NewWithConfig(ctx, wcfg)
	if err != nil {
		pool.Close()
		return nil, fail("%v", err)
	}
	closePools := func() { writes.Close(); pool.Close() }

	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		closePools()
		return nil, err
	}
	var recs []int
	res, err := migrateLocked(ctx, cfg.ConnConfig, log, func(ctx context.Context, conn *pgx.Conn) (*rivermigrate.MigrateResult, error) {
		res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return nil, fmt.Errorf("the River tables: %w", err)
		}
		recs, err = migrateRecords(ctx, pgDB{q: conn}, pgInTx(conn), postgresDialect)
		return res, err
	})
	if err != nil {
		closePools()
		return nil, fail("migrating: %v", err)
	}
	st := &Store{
		Description: fmt.Sprintf("postgres %s (pool %d, and %d for the daemon's writes)", redacted, cfg.MaxConns, writeConns),
		// LISTEN/NOTIFY wakes the fetch loop when a delivery is inserted,
		// by any replica; polling only catches what no notification
		// announces (retries and snoozes coming due), so it can be slower.
		Tuning:          Tuning{FetchCooldown: time.Millisecond, FetchPollInterval: 200 * time.Millisecond},
		Shared:          true,
		RecordsMigrated: recs,
		records:         pgDB{q: pool},
		attemptReads:    pgDB{q: pool, prepared: true},
		ping: func(ctx context.Context) error {
			if err := pool.Ping(ctx); err != nil {
				return &redactedError{err: err, secrets: dsnSecrets(dsn)}
			}
			return nil
		},
		close: func() error { closePools(); return nil },
		newClient: func(cfg *river.Config) (Client, error) {
			return river.NewClient(driver, cfg)
		},
		exec:  driver.GetExecutor(),
		begin: beginPostgres(writes, driver),
	}
	if err := st.noteMigrations(ctx, migrator, res); err != nil {
		closePools()
		return nil, fail("%v", err)
	}
	return st, nil
}

// migrateLocked runs migrate while holding the migration advisory lock in a
// session of its own: closing it releases the lock whatever happened, and a
// replica killed mid-way releases it with its connection.
func migrateLocked(ctx context.Context, cc *pgx.ConnConfig, log *slog.Logger, migrate func(context.Context, *pgx.Conn) (*rivermigrate.MigrateResult, error)) (*rivermigrate.MigrateResult, error) {
	conn, err := pgx.ConnectConfig(ctx, cc.Copy())
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", migrateLockKey).Scan(&got); err != nil {
		return nil, fmt.Errorf("taking the migration lock: %w", err)
	}
	if !got {
		log.InfoContext(ctx, "another replica is migrating the store; waiting for it")
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
			return nil, fmt.Errorf("waiting for the migration lock: %w", err)
		}
	}
	return migrate(ctx, conn)
}

// RedactDSN returns dsn with its password (in the userinfo or a password
// query parameter) replaced by xxxxx: fit for logs and errors. What is not
// a postgres URL comes back with everything after "://" hidden, and a
// libpq key=value string with its password's value hidden.
func RedactDSN(dsn string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		if scheme, _, ok := strings.Cut(dsn, "://"); ok {
			return scheme + "://xxxxx"
		}
		return keywordPassword.ReplaceAllString(dsn, "${1}xxxxx")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://xxxxx (not a valid URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// dsnSecrets returns the password of dsn in the forms an error text may
// carry it (as given, and decoded), however malformed dsn is.
func dsnSecrets(dsn string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 3 {
			out = append(out, s)
			if d, err := url.PathUnescape(s); err == nil && d != s {
				out = append(out, d)
			}
			if q := url.QueryEscape(s); q != s {
				out = append(out, q)
			}
		}
	}
	if u, err := url.Parse(dsn); err == nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
		add(u.Query().Get("password"))
	}
	// Malformed URLs: what sits between "user:" and the last "@".
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at > 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				add(pw)
			}
		}
	}
	for _, m := range passwordParam.FindAllStringSubmatch(dsn, -1) {
		add(m[1])
	}
	return out
}

var passwordParam = regexp.MustCompile(`password=([^&\s]+)`)

// keywordPassword is the password of a libpq keyword/value string:
// password=secret, password = 'quoted \' secret'.
var keywordPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*)`)

// redactedError hides secrets in the text of an error whose causes (from
// pgx or net/url) may quote the DSN.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	s := e.err.Error()
	for _, p := range e.secrets {
		s = strings.ReplaceAll(s, p, "xxxxx")
	}
	return s
}

func (e *redactedError) Unwrap() error { return e.err }
