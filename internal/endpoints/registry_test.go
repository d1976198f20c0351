package endpoints

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

func hook(id int64, url string, subs ...string) chatwoot.Webhook {
	return chatwoot.Webhook{ID: id, URL: url, Subscriptions: subs, Secret: fmt.Sprintf("secret-%d", id)}
}

func TestRegistryReplaceReportsChanges(t *testing.T) {
	r := NewRegistry()
	ch := r.Replace(1, []chatwoot.Webhook{hook(1, "https://a.example/h", "message_created"), hook(2, "https://b.example/h", "conversation_created")})
	if len(ch.Added) != 2 || len(ch.Removed)+len(ch.Updated) != 0 {
		t.Fatalf("first Replace = %+v", ch)
	}
	ch = r.Replace(1, []chatwoot.Webhook{hook(2, "https://b.example/v2", "conversation_created"), hook(3, "https://c.example/h", "message_created")})
	if len(ch.Added) != 1 || ch.Added[0].ID != 3 || len(ch.Updated) != 1 || ch.Updated[0].ID != 2 || len(ch.Removed) != 1 || ch.Removed[0].ID != 1 {
		t.Fatalf("second Replace = %+v", ch)
	}
	if ch := r.Replace(1, []chatwoot.Webhook{hook(2, "https://b.example/v2", "conversation_created"), hook(3, "https://c.example/h", "message_created")}); !ch.Empty() {
		t.Fatalf("identical Replace = %+v, want no change", ch)
	}
}

func TestRegistrySubscribersAndLookup(t *testing.T) {
	r := NewRegistry()
	r.Replace(1, []chatwoot.Webhook{
		hook(2, "https://b.example/h", "message_created", "conversation_created"),
		hook(1, "https://a.example/h", "message_created"),
		hook(3, "https://c.example/h", "contact_created"),
		hook(4, "not a url", "message_created"), // skipped
	})
	eps, known := r.Subscribers(1, "message_created")
	if !known || len(eps) != 2 || eps[0].ID != 1 || eps[1].ID != 2 {
		t.Fatalf("Subscribers = %v, %v", eps, known)
	}
	if _, known := r.Subscribers(2, "message_created"); known {
		t.Fatal("account 2 was never reconciled")
	}
	if eps, known := r.Subscribers(1, "inbox_created"); !known || len(eps) != 0 {
		t.Fatalf("Subscribers(no subscriber) = %v, %v", eps, known)
	}
	if _, st := r.Lookup(Key{1, 4}); st != Removed {
		t.Fatalf("invalid url webhook status %s", st)
	}
	if ep, st := r.Lookup(Key{1, 2}); st != Active || ep.Secret != "secret-2" {
		t.Fatalf("Lookup = %+v %s", ep, st)
	}
	if got := r.RemoveAccount(1); len(got) != 3 {
		t.Fatalf("RemoveAccount returned %d endpoints", len(got))
	}
	if _, st := r.Lookup(Key{1, 2}); st != Removed {
		t.Fatal("endpoint of a removed account still active")
	}
}

func TestRegistryDisableUntilWebhookChanges(t *testing.T) {
	r := NewRegistry()
	r.Replace(1, []chatwoot.Webhook{hook(1, "https://a.example/h", "message_created")})
	ep, _ := r.Lookup(Key{1, 1})

	// A 410 about an older version of the webhook does not disable the new one.
	stale := ep
	stale.URL = "https://old.example/h"
	if r.Disable(stale) {
		t.Fatal("Disable with a stale endpoint disabled the current one")
	}
	if !r.Disable(ep) || r.Disable(ep) {
		t.Fatal("Disable should report true once")
	}
	if _, st := r.Lookup(Key{1, 1}); st != Disabled {
		t.Fatalf("status %s, want disabled", st)
	}
	// Reconciling the same webhook keeps it disabled.
	r.Replace(1, []chatwoot.Webhook{hook(1, "https://a.example/h", "message_created")})
	if _, st := r.Lookup(Key{1, 1}); st != Disabled {
		t.Fatal("an unchanged webhook was re-enabled by a reconcile")
	}
	// Any change upstream re-enables it.
	ch := r.Replace(1, []chatwoot.Webhook{hook(1, "https://a.example/h", "message_created", "message_updated")})
	if len(ch.Reenabled) != 1 {
		t.Fatalf("Replace after a change = %+v, want it re-enabled", ch)
	}
	if _, st := r.Lookup(Key{1, 1}); st != Active {
		t.Fatalf("status %s after the webhook changed, want active", st)
	}
}

func TestEndpointStringHidesSecrets(t *testing.T) {
	ep := Endpoint{AccountID: 1, ID: 2, URL: "https://user:pw@hooks.example/in?token=abc#frag", Secret: "whsec"}
	for _, s := range []string{ep.String(), fmt.Sprintf("%v %+v %#v %s", ep, ep, ep, ep)} {
		for _, leak := range []string{"whsec", "pw", "token=abc", "user"} {
			if strings.Contains(s, leak) {
				t.Fatalf("%q leaks %q", s, leak)
			}
		}
	}
}

func TestRegistryReady(t *testing.T) {
	r := NewRegistry()
	if r.Ready() {
		t.Fatal("ready before any reconcile")
	}
	r.MarkReady()
	r.MarkReady()
	select {
	case <-r.ReadyC():
	default:
		t.Fatal("ReadyC not closed")
	}
}

// The store's marks are every replica's: applied, they disable and enable;
// a mark this replica set moments ago survives a list read before it was
// written.
func TestRegistryApplyMarks(t *testing.T) {
	r := NewRegistry()
	r.Replace(1, []chatwoot.Webhook{hook(1, "https://a.example/h", "message_created"), hook(2, "https://b.example/h", "message_created")})
	ep1, _ := r.Lookup(Key{1, 1})
	ep2, _ := r.Lookup(Key{1, 2})
	now := time.Now()

	disabled, enabled := r.ApplyMarks([]Mark{
		{Key: ep1.Key(), Fingerprint: ep1.Fingerprint(), At: now.Add(-time.Hour), Reason: DisabledGone},
		{Key: ep2.Key(), Fingerprint: "an older version of the webhook", At: now.Add(-time.Hour), Reason: DisabledGone},
	}, now)
	if len(disabled) != 1 || disabled[0].ID != 1 || len(enabled) != 0 {
		t.Fatalf("disabled %v enabled %v", disabled, enabled)
	}
	if _, st := r.Lookup(ep1.Key()); st != Disabled {
		t.Fatal("a mark of the current fingerprint did not disable")
	}
	if _, st := r.Lookup(ep2.Key()); st != Active {
		t.Fatal("a mark of another fingerprint disabled")
	}
	if d, e := r.ApplyMarks([]Mark{{Key: ep1.Key(), Fingerprint: ep1.Fingerprint(), At: now}}, now); len(d)+len(e) != 0 {
		t.Fatal("applying the same marks again changed something")
	}

	// This replica disables 2 just now; a list read a moment before keeps it.
	if !r.Disable(ep2) {
		t.Fatal("Disable")
	}
	if _, e := r.ApplyMarks(nil, time.Now()); len(e) != 1 || e[0].ID != 1 {
		t.Fatalf("enabled %v, want only 1 (2's mark is younger than the grace)", e)
	}
	if _, st := r.Lookup(ep2.Key()); st != Disabled {
		t.Fatal("a fresh local mark was cleared by a list that could not hold it yet")
	}
	// Later, absent from the store, it is enabled.
	if _, e := r.ApplyMarks(nil, time.Now().Add(markGrace+time.Second)); len(e) != 1 || e[0].ID != 2 {
		t.Fatalf("enabled %v", e)
	}
}

// A store read begun before the admin API enabled or resumed an endpoint
// may still hold its mark or pause: applied after, it must not undo the
// admin's change. A read begun after it is the store's word.
func TestRegistryStaleReadDoesNotUndoEnableOrResume(t *testing.T) {
	r := NewRegistry()
	r.Replace(1, []chatwoot.Webhook{hook(1, "https://a.example/h", "message_created")})
	ep, _ := r.Lookup(Key{1, 1})
	marks := []Mark{{Key: ep.Key(), Fingerprint: ep.Fingerprint(), At: time.Now(), Reason: DisabledGone}}
	pauses := []Pause{{Key: ep.Key(), At: time.Now()}}
	r.ApplyMarks(marks, time.Now())
	r.ApplyPauses(pauses, time.Now())

	readAt := time.Now() // the poll's read begins; then the admin API acts
	if found, was := r.Enable(ep.Key()); !found || !was {
		t.Fatal("Enable")
	}
	if found, was := r.Resume(ep.Key()); !found || !was {
		t.Fatal("Resume")
	}
	if d, _ := r.ApplyMarks(marks, readAt); len(d) != 0 {
		t.Fatalf("a read from before the enable disabled %v again", d)
	}
	if p, _ := r.ApplyPauses(pauses, readAt); len(p) != 0 {
		t.Fatalf("a read from before the resume paused %v again", p)
	}
	if _, st := r.Lookup(ep.Key()); st != Active {
		t.Fatalf("status %v, want active", st)
	}
	if _, ok := r.PausedAt(ep.Key()); ok {
		t.Fatal("paused again")
	}

	// Another replica disables and pauses it after the enable: honoured.
	if d, _ := r.ApplyMarks(marks, time.Now()); len(d) != 1 {
		t.Fatalf("a read after the enable disabled %v", d)
	}
	if p, _ := r.ApplyPauses(pauses, time.Now()); len(p) != 1 {
		t.Fatalf("a read after the resume paused %v", p)
	}
}

func TestRegistryPause(t *testing.T) {
	r := NewRegistry()
	r.Replace(1, []chatwoot.Webhook{hook(1, "https://a.example/h", "message_created"), hook(2, "https://b.example/h", "message_created")})
	k1, k2 := Key{1, 1}, Key{1, 2}
	now := time.Now()
	if r.Pause(Key{1, 9}, now) {
		t.Fatal("paused an unknown endpoint")
	}
	if !r.Pause(k1, now) || !r.Pause(k1, now.Add(time.Hour)) {
		t.Fatal("Pause")
	}
	if at, ok := r.PausedAt(k1); !ok || !at.Equal(now) {
		t.Fatalf("paused at %v %v; a second pause keeps the first time", at, ok)
	}
	// Another replica paused 2 and resumed 1 (long ago).
	old := now.Add(-time.Hour)
	r.paused[k1] = old
	paused, resumed := r.ApplyPauses([]Pause{{Key: k2, At: old}, {Key: Key{1, 9}, At: old}}, now)
	if len(paused) != 1 || paused[0] != k2 || len(resumed) != 1 || resumed[0] != k1 {
		t.Fatalf("paused %v resumed %v", paused, resumed)
	}
	// A fresh local pause survives a list that could not hold it yet.
	r.Pause(k1, time.Now())
	if _, resumed := r.ApplyPauses([]Pause{{Key: k2, At: old}}, time.Now()); len(resumed) != 0 {
		t.Fatalf("resumed %v", resumed)
	}
	if found, was := r.Resume(k1); !found || !was {
		t.Fatal("Resume")
	}
	if _, ok := r.PausedAt(k1); ok {
		t.Fatal("still paused")
	}
	if got := r.List(); got[1].PausedAt.IsZero() || !got[0].PausedAt.IsZero() {
		t.Fatalf("List shows pauses %v / %v", got[0].PausedAt, got[1].PausedAt)
	}
}
