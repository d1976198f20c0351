package store

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/riverqueue/river"
)

type payloadArgs struct {
	Payload string `json:"payload"`
}

func (payloadArgs) Kind() string { return "payload_test" }

type nopWorker struct {
	river.WorkerDefaults[payloadArgs]
}

func (nopWorker) Work(context.Context, *river.Job[payloadArgs]) error { return nil }

func openTest(t *testing.T) (*Store, Client) {
	t.Helper()
	return openTestURL(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
}

func openTestURL(t *testing.T, url string) (*Store, Client) {
	t.Helper()
	st, err := Open(context.Background(), Options{URL: url, Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	workers := river.NewWorkers()
	river.AddWorker(workers, nopWorker{})
	c, err := st.NewClient(&river.Config{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return st, c
}

// TestPayloadRoundTripsByteForByte stores strings through River's JSON
// args and SQLite's JSONB column and reads them back: the daemon signs and
// sends exactly what comes back.
func TestPayloadRoundTripsByteForByte(t *testing.T) {
	_, c := openTest(t)
	payloadRoundTrip(t, c, func(string) bool { return true })
}

func payloadRoundTrip(t *testing.T, c Client, keep func(string) bool) {
	ctx := context.Background()
	payloads := []string{
		`{"event":"message_created","content":"<b>a & b</b>"}`,
		"{ \"event\" : \"message_created\" ,\n\t\"x\":\"\\u00e9\\/\\\"\" }\n",
		`{"event":"message_created","emoji":"😀","ls":"` + "\u2028\u2029" + `","nul":"\u0000"}`,
		"{\"event\":\"message_created\",\"raw\":\"\x00\x01\x1f\x7f\"}",
		strings.Repeat(`{"a":[1,2,{"b":"c"}]}`, 2000),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]rune, rng.IntN(300))
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = rune(rng.IntN(0x80))
			case 1:
				b[i] = rune(0x80 + rng.IntN(0x800))
			case 2:
				b[i] = rune(0x800 + rng.IntN(0xD000))
			default:
				b[i] = rune(0x10000 + rng.IntN(0x10000))
			}
		}
		payloads = append(payloads, string(b))
	}
	payloads = slices.DeleteFunc(payloads, func(p string) bool { return !keep(p) })
	params := make([]river.InsertManyParams, len(payloads))
	for i, p := range payloads {
		if !utf8.ValidString(p) {
			t.Fatalf("test payload %d is not UTF-8", i)
		}
		params[i] = river.InsertManyParams{Args: payloadArgs{Payload: p}}
	}
	res, err := c.InsertMany(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		j, err := c.JobGet(ctx, r.Job.ID)
		if err != nil {
			t.Fatal(err)
		}
		var back payloadArgs
		if err := json.Unmarshal(j.EncodedArgs, &back); err != nil {
			t.Fatal(err)
		}
		if back.Payload != payloads[i] {
			t.Fatalf("payload %d changed in the store:\n got %q\nwant %q", i, back.Payload, payloads[i])
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ url, sync, want string }{
		{"postgres://u:pw@h", "", "name the host and the database"},
		{"mysql://x", "", "expected sqlite:PATH"},
		{"./x.db", "", "expected sqlite:PATH"},
		{"sqlite:", "", "give a file path"},
		{"sqlite:" + dir + "/x.db?mode=ro", "", "without '?'"},
		{"sqlite:" + dir + "/missing/x.db", "", "does not exist"},
		{"sqlite:" + dir + "/x.db", "extra", "--sqlite-synchronous"},
	}
	for _, tt := range tests {
		_, err := Open(context.Background(), Options{URL: tt.url, Synchronous: tt.sync})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q, %q) = %v, want an error containing %q", tt.url, tt.sync, err, tt.want)
		}
	}
}

func TestOpenSetsPragmasAndMigrates(t *testing.T) {
	for _, sync := range []string{SyncFull, SyncNormal} {
		st, err := Open(context.Background(), Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "p.db"), Synchronous: sync})
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var level, busy int
		if err := st.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		_ = st.db.QueryRow("PRAGMA synchronous").Scan(&level)
		_ = st.db.QueryRow("PRAGMA busy_timeout").Scan(&busy)
		wantLevel := map[string]int{SyncNormal: 1, SyncFull: 2}[sync]
		if mode != "wal" || level != wantLevel || busy != 10000 {
			t.Fatalf("%s: journal_mode %s synchronous %d busy_timeout %d", sync, mode, level, busy)
		}
		var tables int
		_ = st.db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'river_job'`).Scan(&tables)
		if tables != 1 {
			t.Fatal("river_job not created by the migrations")
		}
		for _, name := range []string{"p.db", "p.db-wal"} {
			fi, err := os.Stat(filepath.Join(filepath.Dir(strings.Fields(st.Description)[1]), name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s has mode %v; the queue holds personal data and must be private (0600)", name, fi.Mode().Perm())
			}
		}
		_ = st.Close()
	}
}
