package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
)

func TestDisabledMarks(t *testing.T) {
	eachStoreURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st, err := Open(ctx, Options{URL: url, Synchronous: SyncNormal})
		if err != nil {
			t.Fatal(err)
		}
		var all []int
		for v := 1; v < len(recordMigrations); v++ {
			all = append(all, v)
		}
		if !reflect.DeepEqual(st.RecordsMigrated, all) {
			t.Fatalf("first open applied record migrations %v, want %v", st.RecordsMigrated, all)
		}
		at := time.Date(2026, 12, 2, 10, 0, 0, 123456000, time.UTC)
		a := DisabledMark{AccountID: 1, WebhookID: 7, Fingerprint: "fp-a", At: at, Reason: "410"}
		b := DisabledMark{AccountID: 2, WebhookID: 7, Fingerprint: "fp-b", At: at, Reason: "410"}
		for _, m := range []DisabledMark{b, a} {
			if err := st.SaveDisabled(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		a.Fingerprint = "fp-a2" // a later 410 after a change replaces the mark
		if err := st.SaveDisabled(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveDisabled(ctx, DisabledMark{AccountID: 1, WebhookID: 8}); err == nil {
			t.Fatal("a mark without a fingerprint was saved")
		}
		got, err := st.DisabledMarks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, []DisabledMark{a, b}) {
			t.Fatalf("marks %+v, want %+v", got, []DisabledMark{a, b})
		}
		_ = st.Close()

		// Another open (a restart, or a second replica) sees them and migrates nothing.
		st2, err := Open(ctx, Options{URL: url, Synchronous: SyncNormal})
		if err != nil {
			t.Fatal(err)
		}
		defer st2.Close()
		if len(st2.RecordsMigrated) != 0 {
			t.Fatalf("second open applied %v", st2.RecordsMigrated)
		}
		if err := st2.ClearDisabled(ctx, 2, 7); err != nil {
			t.Fatal(err)
		}
		if err := st2.ClearDisabled(ctx, 9, 9); err != nil {
			t.Fatal("clearing an absent mark must succeed:", err)
		}
		got, _ = st2.DisabledMarks(ctx)
		if !reflect.DeepEqual(got, []DisabledMark{a}) {
			t.Fatalf("after clear %+v", got)
		}

		// Pauses: the first pause's time stays; a clear removes it.
		p := PauseMark{AccountID: 1, WebhookID: 7, At: at}
		for _, m := range []PauseMark{p, {AccountID: 1, WebhookID: 7, At: at.Add(time.Hour)}} {
			if err := st2.SavePaused(ctx, m.AccountID, m.WebhookID, m.At); err != nil {
				t.Fatal(err)
			}
		}
		if ps, err := st2.PauseMarks(ctx); err != nil || !reflect.DeepEqual(ps, []PauseMark{p}) {
			t.Fatalf("pauses %+v %v", ps, err)
		}
		if err := st2.ClearPaused(ctx, 1, 7); err != nil {
			t.Fatal(err)
		}
		if ps, _ := st2.PauseMarks(ctx); len(ps) != 0 {
			t.Fatalf("after clear %+v", ps)
		}
		if got, _ := st2.DisabledMarks(ctx); !reflect.DeepEqual(got, []DisabledMark{a}) {
			t.Fatal("clearing a pause touched the disabled marks")
		}

		// The last good lists of webhooks, one row per account.
		l1 := AccountWebhooks{AccountID: 1, Webhooks: []byte(`[{"id":7}]`), ListedAt: at}
		l2 := AccountWebhooks{AccountID: 2, Webhooks: []byte(`[]`), ListedAt: at}
		for _, l := range []AccountWebhooks{l2, {AccountID: 1, Webhooks: []byte(`[{"id":6}]`), ListedAt: at}, l1} {
			if err := st2.SaveWebhooks(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := st2.StoredWebhooks(ctx); err != nil || !reflect.DeepEqual(got, []AccountWebhooks{l1, l2}) {
			t.Fatalf("stored webhooks %+v %v", got, err)
		}
		if err := st2.DeleteWebhooks(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if got, _ := st2.StoredWebhooks(ctx); !reflect.DeepEqual(got, []AccountWebhooks{l1}) {
			t.Fatalf("after delete %+v", got)
		}
	})
}

// TestUpgradeKeepsRetentionOfFinishedDeliveries opens a store made before
// the finished log (record migration 15) with a delivery finished and one
// waiting: after the upgrade, retention deletes the finished one, found
// in the log the upgrade filled, and the waiting one still counts in its
// endpoint's backlog.
func TestUpgradeKeepsRetentionOfFinishedDeliveries(t *testing.T) {
	eachStoreURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st, ids := storeBeforeTheFinishedLog(t, url, 15)
		_ = st.Close()

		st, _ = openInsertOnly(t, url)
		if want := []int{15, 16, 17, 18, 19, 20, 21, 22}; !reflect.DeepEqual(st.RecordsMigrated, want) {
			t.Fatalf("the upgrade applied %v, want %v", st.RecordsMigrated, want)
		}
		if n, _, err := st.DeleteFinished(ctx, StateSucceeded, time.Now().Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("retention after the upgrade: %d %v", n, err)
		}
		if _, err := st.DeliveryByID(ctx, ids[0]); !errors.Is(err, ErrNoDelivery) {
			t.Fatalf("the finished delivery after retention: %v", err)
		}
		var waiting int
		err := st.inTx(ctx, func(tx *txn) error {
			stmts, counts := unattempted(tx, []NewEvent{{AccountID: 1, Deliveries: []NewDelivery{{WebhookID: 1, BehindAfter: 16}}}})
			err := tx.pipeline(ctx, stmts)
			waiting = counts[endpointKey{1, 1}]
			return err
		})
		if err != nil || waiting != 1 {
			t.Fatalf("the endpoint's backlog after the upgrade: %d %v; want 1", waiting, err)
		}
	})
}

// TestUpgradeListsTheFinishedLogInEntries opens a store made with a
// finished log of a row per delivery (before record migration 20), with
// two deliveries succeeded and one dead in it: after the upgrade, each is
// an entry of the new log, and retention deletes by state as before.
func TestUpgradeListsTheFinishedLogInEntries(t *testing.T) {
	eachStoreURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		all := recordMigrations
		recordMigrations = all[:20]
		st, c := openInsertOnly(t, url)
		recordMigrations = all
		ids := enqueueN(t, st, c, 4, []byte(`{}`))
		for i, state := range []string{StateSucceeded, StateSucceeded, StateDead} {
			if err := st.records.exec(ctx, `UPDATE chatwoot_deliveries SET state = $1, attempts = 1, finished_at_us = $2 WHERE id = $3`, state, 10+i, ids[i]); err != nil {
				t.Fatal(err)
			}
			if err := st.records.exec(ctx, `INSERT INTO chatwoot_finished (state, finished_at_us, delivery_id) VALUES ($1, $2, $3)`, state, 10+i, ids[i]); err != nil {
				t.Fatal(err)
			}
		}
		_ = st.Close()

		st, _ = openInsertOnly(t, url)
		if want := []int{20, 21, 22}; !reflect.DeepEqual(st.RecordsMigrated, want) {
			t.Fatalf("the upgrade applied %v, want %v", st.RecordsMigrated, want)
		}
		if n, more, err := st.DeleteFinished(ctx, StateSucceeded, time.Now()); err != nil || n != 2 || more {
			t.Fatalf("retention of the succeeded after the upgrade: %d %v %v", n, more, err)
		}
		if _, ds, _, _ := st.RecordCounts(ctx); ds != 2 {
			t.Fatalf("%d deliveries after the succeeded went; want the dead and the waiting ones", ds)
		}
		if n, _, err := st.DeleteFinished(ctx, StateDead, time.Now()); err != nil || n != 1 {
			t.Fatalf("retention of the dead after the upgrade: %d %v", n, err)
		}
		if d, err := st.DeliveryByID(ctx, ids[3]); err != nil || d.State != StatePending {
			t.Fatalf("the waiting delivery after retention: %+v %v", d, err)
		}
	})
}

// TestOpenRefusesAStoreOfANewerDaemon: a store with a record migration
// this code does not know (a newer daemon upgraded it) does not open,
// rather than being written as this code's schema.
func TestOpenRefusesAStoreOfANewerDaemon(t *testing.T) {
	eachStoreURL(t, func(t *testing.T, url string) {
		st, _ := openInsertOnly(t, url)
		next := len(recordMigrations)
		if err := st.records.exec(context.Background(), `INSERT INTO chatwoot_schema_version (version) VALUES ($1)`, next); err != nil {
			t.Fatal(err)
		}
		_ = st.Close()
		_, err := Open(context.Background(), Options{URL: url})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("record migration %d", next)) || !strings.Contains(err.Error(), "newer daemon") {
			t.Fatalf("open of a store a newer daemon migrated: %v", err)
		}
	})
}

// TestPostgresMigrationCutShortIsNotHalfApplied fails the recording of
// record migration 16 (the finished log's backfill) after the backfill
// ran: the open fails, and nothing of it stays, so the next open runs it
// whole instead of failing on the rows it left.
func TestPostgresMigrationCutShortIsNotHalfApplied(t *testing.T) {
	ctx := context.Background()
	url := storetest.NewDatabase(t)
	st, _ := storeBeforeTheFinishedLog(t, url, 16)
	if err := st.records.exec(ctx, `ALTER TABLE chatwoot_schema_version ADD CONSTRAINT cut_short CHECK (version < 16)`); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	if _, err := Open(ctx, Options{URL: url}); err == nil || !strings.Contains(err.Error(), "record migration 16") {
		t.Fatalf("open with migration 16 failing: %v", err)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var logged int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM chatwoot_finished`).Scan(&logged); err != nil || logged != 0 {
		t.Fatalf("%d entries in the finished log after the failed open, %v; want none: the backfill is undone", logged, err)
	}
	if _, err := conn.Exec(ctx, `ALTER TABLE chatwoot_schema_version DROP CONSTRAINT cut_short`); err != nil {
		t.Fatal(err)
	}
	st, _ = openInsertOnly(t, url)
	if want := []int{16, 17, 18, 19, 20, 21, 22}; !reflect.DeepEqual(st.RecordsMigrated, want) {
		t.Fatalf("the next open applied %v, want %v", st.RecordsMigrated, want)
	}
	if n, _, err := st.DeleteFinished(ctx, StateSucceeded, time.Now().Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("retention after the upgrade: %d %v", n, err)
	}
}

// storeBeforeTheFinishedLog opens the store at url with the record
// migrations before the n-th (15: the finished log, 16: its backfill) and
// stores two deliveries, the first succeeded as the code before the log
// recorded it (no entry in the log); it returns their ids.
func storeBeforeTheFinishedLog(t *testing.T, url string, n int) (*Store, []int64) {
	t.Helper()
	all := recordMigrations
	recordMigrations = all[:n]
	st, c := openInsertOnly(t, url)
	recordMigrations = all
	ids := enqueueN(t, st, c, 2, []byte(`{}`))
	if err := st.records.exec(context.Background(), `UPDATE chatwoot_deliveries SET state = $1, attempts = 1, finished_at_us = $2 WHERE id = $3`,
		StateSucceeded, time.Now().UnixMicro(), ids[0]); err != nil {
		t.Fatal(err)
	}
	return st, ids
}
