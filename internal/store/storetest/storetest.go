// Package storetest gives tests a real PostgreSQL: the server named by
// $CHATWOOT_TEST_POSTGRES_URL (`.ci/postgres.sh start` runs one; `make
// test` starts one by itself), and a fresh database on it for each test, so
// tests and packages running at once never share River's tables.
//
// Without the variable the tests skip, saying how to start a server; in CI
// ($CI set) they fail instead, so a CI that lost its PostgreSQL cannot pass
// by skipping them.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvPostgresURL names the variable holding the test server's DSN, a
// postgres:// URL whose user may create databases.
const EnvPostgresURL = "CHATWOOT_TEST_POSTGRES_URL"

// InCI reports whether the tests run in CI ($CI set and not false/0).
func InCI() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

// PostgresURL returns the test server's DSN. Without one it skips t, or
// fails it in CI.
func PostgresURL(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgresURL)
	if dsn != "" {
		return dsn
	}
	const how = "$" + EnvPostgresURL + " is not set: this test needs a real PostgreSQL. " +
		"Start one with `eval \"$(.ci/postgres.sh start)\"` (stop it with `.ci/postgres.sh stop`), " +
		"or run `make test`, which does both"
	if InCI() {
		t.Fatal("CI is set and " + how)
	}
	t.Skip(how)
	return ""
}

// NewDatabase creates an empty database on the test server and returns its
// DSN; it is dropped when the test ends (connections still open to it,
// from subprocesses killed by the test, are terminated).
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, withoutPoolParams(base))
	if err != nil {
		t.Fatalf("connecting to $%s: %v", EnvPostgresURL, redact(err, base))
	}
	defer admin.Close(context.Background())

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "t_" + strings.ToLower(nonWord.ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	name += "_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating a test database (the user of $%s needs CREATEDB): %v", EnvPostgresURL, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, withoutPoolParams(base))
		if err != nil {
			t.Logf("dropping test database %s: %v", name, redact(err, base))
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("$%s is not a URL", EnvPostgresURL)
	}
	u.Path = "/" + name
	return u.String()
}

var nonWord = regexp.MustCompile(`\W+`)

// withoutPoolParams drops pgxpool's pool_* settings, which a single
// connection would send to the server as unknown parameters.
func withoutPoolParams(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// redact keeps the test server's password out of test logs.
func redact(err error, dsn string) string {
	s := err.Error()
	if u, perr := url.Parse(dsn); perr == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			s = strings.ReplaceAll(s, p, "xxxxx")
		}
	}
	return s
}
