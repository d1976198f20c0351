package store

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// SQLite's automatic checkpoint runs inside the commit that fills the WAL
// past 1,000 pages: that commit took 150–340 ms, and every statement
// queued on the store's one connection waited for it. The writer's
// connection therefore never checkpoints (wal_autocheckpoint(0)); a
// checkpointer on a connection of its own copies the WAL into the database
// PASSIVE, which takes no lock the writer needs. A passive checkpoint
// cannot reset the WAL while the writer keeps appending, so once the WAL
// passes walResetFrames the writer's connection runs one more passive
// checkpoint between two transactions: it only has the frames written
// since to copy, and the next transaction then starts the WAL over.

const (
	checkpointInterval = 100 * time.Millisecond
	walResetFrames     = 4096 // 16 MiB of 4 KiB pages
)

type checkpointer struct {
	writer, own *sql.DB
	log         *slog.Logger
	interval    time.Duration

	stop context.CancelFunc
	done sync.WaitGroup
}

func startCheckpointer(writer, own *sql.DB, log *slog.Logger, interval time.Duration) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{writer: writer, own: own, log: log, interval: interval, stop: stop}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		c.run(ctx)
	}()
	return c
}

func (c *checkpointer) run(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := c.step(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			c.log.Warn("SQLite checkpoint failed; the WAL file grows until one succeeds", "error", err)
		case err == nil && failing:
			failing = false
			c.log.Info("SQLite checkpoints succeed again")
		}
	}
}

// step checkpoints on the checkpointer's connection and, past
// walResetFrames, once more on the writer's.
func (c *checkpointer) step(ctx context.Context) error {
	frames, err := checkpoint(ctx, c.own)
	if err == nil && frames >= walResetFrames {
		_, err = checkpoint(ctx, c.writer)
	}
	return err
}

// checkpoint runs a passive checkpoint on db and returns the WAL's length
// in frames.
func checkpoint(ctx context.Context, db *sql.DB) (frames int, err error) {
	var busy, done int
	err = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done)
	return frames, err
}

// Close stops the checkpointer and closes its connection.
func (c *checkpointer) Close() error {
	c.stop()
	c.done.Wait()
	return c.own.Close()
}
