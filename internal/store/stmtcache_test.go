package store

import (
	"context"
	"path/filepath"
	"testing"
)

func TestStmtCacheReusesAndFallsBackWhenBusy(t *testing.T) {
	st, err := Open(context.Background(), Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "c.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := st.db
	if _, err := db.Exec(`CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.Exec(`INSERT INTO t (n) VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	const q = `SELECT n FROM t ORDER BY n`
	outer, err := tx.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for outer.Next() {
		var a int
		_ = outer.Scan(&a)
		// The same text again while the cached statement's rows are open.
		inner, err := tx.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			var b int
			_ = inner.Scan(&b)
			sum += a * b
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if sum != 100 { // (0+1+2+3+4)^2
		t.Fatalf("nested queries summed %d, want 100", sum)
	}
	var n int
	for range 3 { // reused after the rows closed
		if err := tx.QueryRow(q + ` DESC`).Scan(&n); err != nil || n != 4 {
			t.Fatalf("QueryRow = %d, %v", n, err)
		}
	}
}
