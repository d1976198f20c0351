// Package store opens the durable queue the deliveries live in, with River's
// migrations run on open: River over SQLite (modernc.org/sqlite, pure Go)
// from --store sqlite:PATH, the embedded default for one daemon, or over
// PostgreSQL (riverpgxv5, pgx) from --store postgres://..., which several
// daemon replicas share. It is the one place that knows which database is
// underneath; everything else talks to River through the Client interface,
// and to the daemon's own tables (records.go) through Store's methods.
//
// # SQLite
//
// One connection runs every statement, River's and ours, in WAL mode; a
// second only checkpoints the WAL into the database (checkpoint.go), so no
// commit waits for a checkpoint.
//
// # PostgreSQL
//
// Each replica opens one pgx pool of --store's pool_max_conns connections
// (default DefaultPoolMaxConns): River's LISTEN holds one, the fetch loop,
// the batch completer, the ingest batcher and, on the elected leader, the
// maintenance services use a few more at a time. A database serving N
// replicas needs N × pool_max_conns connections below max_connections.
//
// Migrations run on every start inside a PostgreSQL advisory lock held by a
// dedicated session, so replicas starting together migrate one after the
// other (the later ones find nothing to do), and a replica killed mid-way
// releases the lock with its session. `daemon migrate` runs them alone.
//
// The DSN's password never reaches a log or an error: Description and every
// error carry RedactDSN's form. It may also come from $PGPASSWORD or
// ~/.pgpass (pgx follows libpq), which keeps it off the command line;
// likewise PGSSLMODE, PGSSLROOTCERT and the other PG* variables apply.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DefaultURL is the store used when --store is not given.
const DefaultURL = "sqlite:./chatwoot-deliveries.db"

// Synchronous modes of the SQLite store (PRAGMA synchronous, in WAL mode).
const (
	// SyncFull fsyncs the WAL at every commit: an event answered 202
	// survives kill -9 and power loss.
	SyncFull = "full"
	// SyncNormal fsyncs only at checkpoints: an event answered 202
	// survives kill -9 but the last commits can be lost on power loss.
	SyncNormal = "normal"
)

// Options configures Open.
type Options struct {
	// URL is sqlite:PATH or postgres://user:password@host:port/db?sslmode=...
	URL string

	// Synchronous is SyncFull (default) or SyncNormal.
	Synchronous string

	// BusyTimeout is how long SQLite waits for a lock held by another
	// connection (another process inspecting the file); default 10s.
	BusyTimeout time.Duration

	// Logger receives River's migration logs and the store's own notices
	// (waiting for another replica's migration).
	Logger *slog.Logger

	// ConnectTimeout bounds reaching PostgreSQL at open; default 15s.
	ConnectTimeout time.Duration

	// noStmtCache turns the prepared statement cache off (benchmarks).
	noStmtCache bool
	// checkpointInterval is how often SQLite's WAL is checkpointed
	// (checkpoint.go); tests set it long to run the steps themselves.
	checkpointInterval time.Duration
}

// logger is Logger, or a logger that discards.
func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Client is the part of a *river.Client the daemon uses, whatever the
// database's transaction type.
type Client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Stopped() <-chan struct{}
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	InsertManyFast(ctx context.Context, params []river.InsertManyParams) (int, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobRetry(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Tuning is how River's fetch loop suits the database: how often a client
// may look for due deliveries (FetchCooldown) and how often it looks when
// nothing told it to (FetchPollInterval).
type Tuning struct {
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
}

// Store is an open, migrated queue database.
type Store struct {
	// Description names the store for logs, never with a password (e.g.
	// "sqlite /path/x.db", "postgres postgres://u:xxxxx@db:5432/q").
	Description string

	// Tuning is the fetch loop suited to this database; the daemon's
	// --fetch-cooldown and --fetch-poll-interval override it.
	Tuning Tuning

	// Shared reports whether several daemons may use the store at once
	// (PostgreSQL), each delivery being attempted by one of them at a time.
	Shared bool

	// Migrated lists the River migration versions this Open applied;
	// Version is the schema version after it.
	Migrated []int
	Version  int
	// RecordsMigrated lists the migrations of the daemon's own tables this
	// Open applied (see records.go).
	RecordsMigrated []int

	db      *sql.DB       // SQLite only
	ck      *checkpointer // SQLite only
	records db
	// attemptReads reads a worker's deliveries (ForAttempt).
	attemptReads db
	ping         func(context.Context) error
	close        func() error
	newClient    func(*river.Config) (Client, error)
	exec         riverdriver.Executor
	begin        func(context.Context) (*txn, error)
}

// Open opens and migrates the store named by opts.URL.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.URL == "" {
		opts.URL = DefaultURL
	}
	switch {
	case strings.HasPrefix(opts.URL, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(opts.URL, "sqlite:"), opts)
	case strings.HasPrefix(opts.URL, "postgres://"), strings.HasPrefix(opts.URL, "postgresql://"):
		return openPostgres(ctx, opts.URL, opts)
	default:
		return nil, fmt.Errorf("--store %q: expected sqlite:PATH, like %s, or postgres://user:password@host:5432/database?sslmode=require", RedactDSN(opts.URL), DefaultURL)
	}
}

func openSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	path = strings.TrimPrefix(path, "//")
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("--store sqlite:%s: give a file path without '?' or '#', like %s", path, DefaultURL)
	}
	sync := strings.ToLower(opts.Synchronous)
	switch sync {
	case "":
		sync = SyncFull
	case SyncFull, SyncNormal:
	default:
		return nil, fmt.Errorf("--sqlite-synchronous %q: use full (survives power loss) or normal (survives kill -9, faster)", opts.Synchronous)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("--store sqlite:%s: %w", path, err)
	}
	if dir := filepath.Dir(abs); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--store sqlite:%s: directory %s does not exist; create it or choose another path", path, dir)
		}
	}

	// The queue holds event payloads (personal data): create it private.
	// SQLite gives its -wal and -shm files the database file's mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--store sqlite:%s: %w", path, err)
	}
	_ = f.Close()

	// Plain file name form: modernc strips the query and applies the
	// underscore keys on every new connection. _txlock=immediate takes the
	// write lock at BEGIN, so a transaction never fails half way with
	// SQLITE_BUSY when it upgrades from read to write. temp_store=MEMORY
	// keeps the statement journals of multi-row statements (their undo
	// within a transaction) in memory: on files they were a write syscall
	// per page.
	dsn := fmt.Sprintf("%s?_txlock=immediate&_busy_timeout=%d&_journal_mode=WAL&_synchronous=%s&_pragma=temp_store(MEMORY)",
		abs, opts.BusyTimeout.Milliseconds(), strings.ToUpper(sync))
	writerDSN := dsn + "&_pragma=wal_autocheckpoint(0)" // checkpoint.go checkpoints
	registered, err := sql.Open("sqlite", "")           // only to reach the registered driver
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", abs, err)
	}
	drv := registered.Driver()
	_ = registered.Close()
	var db *sql.DB
	if opts.noStmtCache {
		db = sql.OpenDB(plainConnector{drv, writerDSN})
	} else {
		db = sql.OpenDB(&cachingConnector{drv: drv, dsn: writerDSN})
	}
	// SQLite has one writer; River runs many things concurrently. One
	// connection serialises them in Go instead of in SQLITE_BUSY retries.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", abs, err)
	}

	driver := riversqlite.New(db)
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: opts.Logger})
	if err != nil {
		db.Close()
		return nil, err
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating %s: %w", abs, err)
	}
	recs, err := migrateRecords(ctx, sqlDB{db}, sqlInTx(db), sqliteDialect)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating %s: %w", abs, err)
	}
	own := sql.OpenDB(plainConnector{drv, dsn})
	own.SetMaxOpenConns(1)
	if opts.checkpointInterval == 0 {
		opts.checkpointInterval = checkpointInterval
	}
	ck := startCheckpointer(db, own, opts.logger(), opts.checkpointInterval)
	closeDB := func() error { return errors.Join(ck.Close(), db.Close()) }
	st := &Store{
		Description: fmt.Sprintf("sqlite %s (synchronous=%s)", abs, sync),
		// SQLite has no LISTEN: the poll interval is the pickup latency of
		// a new delivery. River's defaults (100ms, 1s) cap SQLite near
		// 1,000 jobs/s with p99 in seconds.
		Tuning:          Tuning{FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 25 * time.Millisecond},
		RecordsMigrated: recs,
		db:              db,
		ck:              ck,
		records:         sqlDB{db},
		attemptReads:    sqlDB{db},
		ping: func(ctx context.Context) error {
			var one int
			return db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		},
		close: closeDB,
		newClient: func(cfg *river.Config) (Client, error) {
			return river.NewClient(driver, cfg)
		},
		exec:  driver.GetExecutor(),
		begin: beginSQLite(db, driver),
	}
	if err := st.noteMigrations(ctx, migrator, res); err != nil {
		_ = closeDB()
		return nil, err
	}
	return st, nil
}

// noteMigrations records what a migration run did and the version after it.
func (s *Store) noteMigrations(ctx context.Context, m interface {
	ExistingVersions(context.Context) ([]rivermigrate.Migration, error)
}, res *rivermigrate.MigrateResult) error {
	for _, v := range res.Versions {
		s.Migrated = append(s.Migrated, v.Version)
	}
	existing, err := m.ExistingVersions(ctx)
	if err != nil {
		return fmt.Errorf("reading River's migration versions: %w", err)
	}
	for _, v := range existing {
		s.Version = max(s.Version, v.Version)
	}
	return nil
}

// NewClient returns a River client over the store.
func (s *Store) NewClient(cfg *river.Config) (Client, error) { return s.newClient(cfg) }

// JobCounts counts River's jobs by state, without a River client.
func (s *Store) JobCounts(ctx context.Context) (map[rivertype.JobState]int, error) {
	return s.exec.JobCountByAllStates(ctx, &riverdriver.JobCountByAllStatesParams{})
}

// ClientFromContext returns the River client working the job whose context
// ctx is, whatever the store's driver: workers are registered before their
// client exists, and reach it this way instead of through a variable set
// later.
func ClientFromContext(ctx context.Context) (Client, error) {
	if c, err := river.ClientFromContextSafely[*sql.Tx](ctx); err == nil {
		return c, nil
	}
	c, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Ping checks that the database answers: a round trip, cheap enough for
// a readiness probe.
func (s *Store) Ping(ctx context.Context) error { return s.ping(ctx) }

// Close closes the database. Stop every client first.
func (s *Store) Close() error { return s.close() }
