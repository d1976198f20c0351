// Package store opens the durable queue the deliveries live in: River over
// SQLite (modernc.org/sqlite, pure Go) from --store sqlite:PATH, with River's
// migrations run on open. It is the one place that knows which database is
// underneath; everything else talks to River through the Client interface,
// so PostgreSQL (riverpgxv5, --store postgres://...) is one more case here.
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

	"github.com/riverqueue/river"
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
	// URL is sqlite:PATH (postgres:// is the next step).
	URL string

	// Synchronous is SyncFull (default) or SyncNormal.
	Synchronous string

	// BusyTimeout is how long SQLite waits for a lock held by another
	// connection (another process inspecting the file); default 10s.
	BusyTimeout time.Duration

	// Logger receives River's migration logs.
	Logger *slog.Logger

	// noStmtCache turns the prepared statement cache off (benchmarks).
	noStmtCache bool
}

// Client is the part of a *river.Client the daemon uses, whatever the
// database's transaction type.
type Client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Stopped() <-chan struct{}
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobRetry(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Store is an open, migrated queue database.
type Store struct {
	// Description names the store for logs (e.g. "sqlite /path/x.db").
	Description string

	db        *sql.DB
	newClient func(*river.Config) (Client, error)
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
		return nil, errors.New("--store postgres://... is not supported yet (River's PostgreSQL driver is the next step); use --store sqlite:PATH")
	default:
		return nil, fmt.Errorf("--store %q: expected sqlite:PATH, like %s", opts.URL, DefaultURL)
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
	// SQLITE_BUSY when it upgrades from read to write.
	dsn := fmt.Sprintf("%s?_txlock=immediate&_busy_timeout=%d&_journal_mode=WAL&_synchronous=%s",
		abs, opts.BusyTimeout.Milliseconds(), strings.ToUpper(sync))
	registered, err := sql.Open("sqlite", "") // only to reach the registered driver
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", abs, err)
	}
	drv := registered.Driver()
	_ = registered.Close()
	var db *sql.DB
	if opts.noStmtCache {
		db = sql.OpenDB(plainConnector{drv, dsn})
	} else {
		db = sql.OpenDB(&cachingConnector{drv: drv, dsn: dsn})
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
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating %s: %w", abs, err)
	}
	return &Store{
		Description: fmt.Sprintf("sqlite %s (synchronous=%s)", abs, sync),
		db:          db,
		newClient: func(cfg *river.Config) (Client, error) {
			return river.NewClient(driver, cfg)
		},
	}, nil
}

// NewClient returns a River client over the store.
func (s *Store) NewClient(cfg *river.Config) (Client, error) { return s.newClient(cfg) }

// Close closes the database. Stop every client first.
func (s *Store) Close() error { return s.db.Close() }
