package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store/storetest"
)

func TestDisabledMarks(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "s.db") }},
		{"postgres", func(t *testing.T) string { return storetest.NewDatabase(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			url := tt.url(t)
			st, err := Open(ctx, Options{URL: url, Synchronous: SyncNormal})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st.RecordsMigrated, []int{1, 2, 3, 4}) {
				t.Fatalf("first open applied record migrations %v, want [1 2 3 4]", st.RecordsMigrated)
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
}

func TestAttemptLog(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "s.db"), Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	l := NewAttemptLog(st, 10*time.Millisecond, nil)
	for i := range attemptsPerInsert + 3 { // more than one INSERT's worth
		l.Add(Attempt{DeliveryID: fmt.Sprintf("d-%d", i%3), Attempt: i/3 + 1, AccountID: 1, WebhookID: 7, At: at, Status: 503, Error: "503", Duration: 1500 * time.Microsecond})
	}
	ok := Attempt{DeliveryID: "d-ok", Attempt: 1, AccountID: 1, WebhookID: 7, At: at, Status: 200, Duration: 2 * time.Millisecond}
	l.Add(ok)
	l.Add(Attempt{DeliveryID: "d-ok", Attempt: 1, Status: 500}) // a repeat of a stored attempt is ignored
	l.Close()
	got, err := st.Attempts(ctx, "d-ok")
	if err != nil || !reflect.DeepEqual(got, []Attempt{ok}) {
		t.Fatalf("attempts of d-ok: %+v %v", got, err)
	}
	got, _ = st.Attempts(ctx, "d-1")
	if len(got) != (attemptsPerInsert+3+2)/3 || got[0].Attempt != 1 || got[len(got)-1].Attempt != len(got) {
		t.Fatalf("d-1 has %d attempts", len(got))
	}
}
