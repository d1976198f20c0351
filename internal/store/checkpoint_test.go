package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The writer's connection never checkpoints (a commit that did held every
// queued statement); the checkpointer's steps copy the WAL into the
// database and keep the WAL file from growing with what was written.
func TestCheckpointerKeepsTheWALBounded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	st, err := Open(ctx, Options{URL: "sqlite:" + path, Synchronous: SyncNormal, checkpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	var auto int
	if err := st.db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("the writer's wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	if _, err := st.db.ExecContext(ctx, "CREATE TABLE filler (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	row := strings.Repeat("x", 64<<10)
	write := func() { // 1 MiB: 16 rows of 64 KiB, one transaction
		tx, err := st.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 16 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO filler (b) VALUES (?)", row); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}

	// With no step, the WAL takes everything written: nothing else
	// checkpoints.
	for range 8 {
		write()
	}
	if got := walSize(); got < 8<<20 {
		t.Fatalf("WAL is %d bytes after 8 MiB written; something checkpointed besides the checkpointer", got)
	}
	if err := st.ck.step(ctx); err != nil {
		t.Fatal(err)
	}
	high := walSize()
	for range 32 {
		write()
		if err := st.ck.step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := walSize(); got > high {
		t.Fatalf("WAL grew from %d to %d bytes with a checkpoint step after each MiB", high, got)
	}
	var n int
	if err := st.db.QueryRowContext(ctx, "SELECT count(*) FROM filler").Scan(&n); err != nil || n != 40*16 {
		t.Fatalf("filler rows %d (%v)", n, err)
	}
}
