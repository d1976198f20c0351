package store

import (
	"context"
	"reflect"
	"testing"
	"time"
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
