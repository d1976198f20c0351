package endpoints

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
)

// fakeLister serves webhooks and a profile from memory, with errors to inject.
type fakeLister struct {
	mu         sync.Mutex
	hooks      map[int64][]chatwoot.Webhook
	roles      map[int64]string
	listErr    map[int64]error
	profileErr error
}

func (f *fakeLister) ListWebhooks(_ context.Context, id int64) ([]chatwoot.Webhook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.listErr[id]; err != nil {
		return nil, err
	}
	return f.hooks[id], nil
}

func (f *fakeLister) Profile(context.Context) (chatwoot.Profile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.profileErr != nil {
		return chatwoot.Profile{}, f.profileErr
	}
	var p chatwoot.Profile
	for id, role := range f.roles {
		p.Accounts = append(p.Accounts, chatwoot.AccountProfile{ID: id, Role: role})
	}
	return p, nil
}

func (f *fakeLister) set(fn func(f *fakeLister)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

var errUnavailable = &chatwoot.APIError{StatusCode: http.StatusServiceUnavailable, Method: "GET", Path: "/x"}

func TestReconcilerKeepsLastGoodOnErrors(t *testing.T) {
	f := &fakeLister{
		hooks:   map[int64][]chatwoot.Webhook{1: {hook(1, relayed(1, "https://a.example/h"), "message_created")}},
		roles:   map[int64]string{1: chatwoot.RoleAdministrator, 2: chatwoot.RoleAgent},
		listErr: map[int64]error{},
	}
	reg := NewRegistry()
	var removed []Endpoint
	rec := NewReconciler(ReconcilerOptions{Client: f, Registry: reg, OnRemoved: func(_ context.Context, eps []Endpoint) { removed = append(removed, eps...) }})
	ctx := context.Background()

	if err := rec.ReconcileOnce(ctx); err != nil || !reg.Ready() {
		t.Fatalf("first pass: %v, ready %v", err, reg.Ready())
	}
	if got := reg.Accounts(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("accounts %v; want only the administered one", got)
	}

	// The API fails: the last good registry stays.
	f.set(func(f *fakeLister) { f.listErr[1] = errUnavailable; f.hooks[1] = nil })
	if err := rec.ReconcileOnce(ctx); err == nil {
		t.Fatal("want the list error reported")
	}
	if eps, _ := reg.Subscribers(1, "message_created"); len(eps) != 1 {
		t.Fatalf("after an API error the registry has %v", eps)
	}
	f.set(func(f *fakeLister) { f.profileErr = errors.New("connection refused") })
	if err := rec.ReconcileOnce(ctx); err == nil {
		t.Fatal("want the profile error reported")
	}
	if eps, _ := reg.Subscribers(1, "message_created"); len(eps) != 1 || len(removed) != 0 {
		t.Fatalf("after a profile error: %v, removed %v", eps, removed)
	}

	// Recovery: the webhook is gone upstream now.
	f.set(func(f *fakeLister) { f.profileErr = nil; delete(f.listErr, 1) })
	if err := rec.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if eps, _ := reg.Subscribers(1, "message_created"); len(eps) != 0 || len(removed) != 1 || removed[0].ID != 1 {
		t.Fatalf("after recovery: %v, removed %v", eps, removed)
	}

	// The token stops administering account 1: the account goes.
	f.set(func(f *fakeLister) {
		f.hooks[1] = []chatwoot.Webhook{hook(5, relayed(1, "https://e.example/h"), "message_created")}
	})
	_ = rec.ReconcileOnce(ctx)
	f.set(func(f *fakeLister) { f.roles[1] = chatwoot.RoleAgent })
	_ = rec.ReconcileOnce(ctx)
	if _, known := reg.Subscribers(1, "message_created"); known || removed[len(removed)-1].ID != 5 {
		t.Fatalf("account 1 still known (%v) or its endpoint not reported removed (%v)", known, removed)
	}
}

func TestReconcilerReadiness(t *testing.T) {
	f := &fakeLister{hooks: map[int64][]chatwoot.Webhook{}, listErr: map[int64]error{1: errUnavailable}}
	reg := NewRegistry()
	rec := NewReconciler(ReconcilerOptions{Client: f, Registry: reg, Accounts: []int64{1, 2}})
	_ = rec.ReconcileOnce(context.Background())
	if reg.Ready() {
		t.Fatal("ready although account 1 failed with a 503")
	}
	// A definitive answer (the token is not an administrator there) completes the pass.
	f.set(func(f *fakeLister) { f.listErr[1] = &chatwoot.APIError{StatusCode: 401, AccountID: 1} })
	_ = rec.ReconcileOnce(context.Background())
	if !reg.Ready() {
		t.Fatal("not ready after every account got a definitive answer")
	}
	if got := reg.Accounts(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("accounts %v, want [2] (1 answered 401)", got)
	}
}

func TestReconcilerRunStopsWithContext(t *testing.T) {
	f := &fakeLister{hooks: map[int64][]chatwoot.Webhook{1: {hook(1, relayed(1, "https://a.example/h"), "message_created")}}}
	reg := NewRegistry()
	rec := NewReconciler(ReconcilerOptions{Client: f, Registry: reg, Accounts: []int64{1}, Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	<-reg.ReadyC()
	f.set(func(f *fakeLister) {
		f.hooks[1] = append(f.hooks[1], hook(2, relayed(1, "https://b.example/h"), "message_created"))
	})
	deadline := time.Now().Add(2 * time.Second)
	for {
		if eps, _ := reg.Subscribers(1, "message_created"); len(eps) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not pick up the new webhook")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// TestReconcilerAgainstMock reconciles through the real client from the
// Chatwoot mock, the way the daemon runs.
func TestReconcilerAgainstMock(t *testing.T) {
	mock, ts := mockapi.NewTestServer(t, mockapi.Options{})
	client, err := chatwoot.NewClient(chatwoot.Options{BaseURL: ts.URL, Token: mockapi.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	created, err := client.CreateWebhook(ctx, 2, chatwoot.WebhookInput{URL: relayed(2, "https://hooks.example/globex"), Subscriptions: []string{"message_created"}})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := client.CreateWebhook(ctx, 2, chatwoot.WebhookInput{URL: "https://hooks.example/direct", Subscriptions: []string{"message_created"}})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	var removed []Endpoint
	rec := NewReconciler(ReconcilerOptions{Client: client, Registry: reg, OnRemoved: func(_ context.Context, eps []Endpoint) { removed = append(removed, eps...) }})
	if err := rec.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := reg.Accounts(); len(got) != 2 {
		t.Fatalf("accounts %v; the admin token administers 1 and 2", got)
	}
	ep, st := reg.Lookup(Key{2, created.ID})
	if st != Active || ep.Secret != created.Secret || ep.URL != "https://hooks.example/globex" || ep.ChatwootURL != created.URL {
		t.Fatalf("Lookup = %+v (%s), want the created webhook with its destination and secret", ep, st)
	}
	if _, st := reg.Lookup(Key{2, direct.ID}); st != Removed {
		t.Fatalf("a webhook Chatwoot delivers to directly is an endpoint (%s); the daemon must never send to it", st)
	}

	mock.InjectFault(mockapi.Fault{Method: "GET", PathPrefix: "/api/v1/accounts/2/webhooks", Count: 1, Status: 500})
	if err := rec.ReconcileOnce(ctx); err == nil {
		t.Fatal("want the injected 500 reported")
	}
	if _, st := reg.Lookup(Key{2, created.ID}); st != Active {
		t.Fatal("a 500 dropped the endpoint")
	}

	if err := client.DeleteWebhook(ctx, 2, created.ID); err != nil {
		t.Fatal(err)
	}
	if err := rec.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, st := reg.Lookup(Key{2, created.ID}); st != Removed || len(removed) != 1 {
		t.Fatalf("after delete: status %s, removed %v", st, removed)
	}
}

func relayed(account int64, dest string) string {
	return chatwoot.RelayAddress{Base: "https://relay.example", AccountID: account, Destination: dest}.String()
}

// TestReconcilerRelayedOnly: only webhooks whose url is a relay address of
// their own account are endpoints, delivered to their destination; the
// ones refused are listed with the reason and never delivered to.
func TestReconcilerRelayedOnly(t *testing.T) {
	f := &fakeLister{hooks: map[int64][]chatwoot.Webhook{1: {
		hook(1, "https://direct.example/h", "message_created"),
		hook(2, relayed(1, "https://dest.example/h?token=x"), "message_created"),
		hook(3, relayed(2, "https://other-account.example/h"), "message_created"),
		hook(4, relayed(1, "https://relay.example/v1/accounts/1/relay?to=x"), "message_created"),
		hook(5, relayed(1, "not a url"), "message_created"),
		hook(6, chatwoot.RelayAddress{Base: "https://another-relay.example", AccountID: 1, Destination: "https://dest.example/h?token=x"}.String(), "message_created"),
	}}}
	reg := NewRegistry()
	self := func(dest string) string {
		if strings.HasPrefix(dest, "https://relay.example/") {
			return "its destination is this daemon"
		}
		return ""
	}
	rec := NewReconciler(ReconcilerOptions{Client: f, Registry: reg, Accounts: []int64{1}, Refuse: self})
	if err := rec.ReconcileOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	eps, _ := reg.Subscribers(1, "message_created")
	if len(eps) != 1 || eps[0].ID != 2 || eps[0].URL != "https://dest.example/h?token=x" {
		t.Fatalf("subscribers %+v, want only webhook 2 delivered to its destination", eps)
	}
	want := map[int64]string{2: "active", 4: "refused", 5: "refused", 6: "refused"}
	got := map[int64]string{}
	for _, s := range reg.List() {
		got[s.ID] = s.Status.String()
		if s.Status == Refused && s.RefusedReason == "" {
			t.Errorf("webhook %d refused without a reason", s.ID)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	if why := reg.RefusedReason(Key{1, 4}); !strings.Contains(why, "this daemon") {
		t.Fatalf("webhook 4 refused because %q", why)
	}
	if ep, st, ok := reg.Relayed(1, "https://dest.example/h?token=x"); !ok || ep.ID != 2 || st != Active {
		t.Fatalf("Relayed = %v %s %v, want webhook 2 (6 repeats its destination)", ep, st, ok)
	}
	if _, _, ok := reg.Relayed(1, "https://direct.example/h"); ok {
		t.Fatal("a direct webhook found as relayed")
	}
}

// TestReconcilerRefresh: a relay miss lists the account at once, one list
// for concurrent callers, and no more than once per RefreshEvery.
func TestReconcilerRefresh(t *testing.T) {
	var lists atomic.Int64
	f := &countingLister{fakeLister: &fakeLister{hooks: map[int64][]chatwoot.Webhook{}}, n: &lists}
	reg := NewRegistry()
	rec := NewReconciler(ReconcilerOptions{Client: f, Registry: reg, Accounts: []int64{1}, RefreshEvery: time.Hour})
	ctx := context.Background()
	if err := rec.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	f.set(func(f *fakeLister) {
		f.hooks[1] = []chatwoot.Webhook{hook(9, relayed(1, "https://new.example/h"), "message_created")}
	})
	before := lists.Load()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = rec.Refresh(ctx, 1) }()
	}
	wg.Wait()
	if _, _, ok := reg.Relayed(1, "https://new.example/h"); !ok {
		t.Fatal("Refresh did not find the new webhook")
	}
	_ = rec.Refresh(ctx, 1)
	if n := lists.Load() - before; n != 1 {
		t.Fatalf("%d lists for 21 refreshes within RefreshEvery, want 1", n)
	}
	if err := rec.Refresh(ctx, 42); err != nil || lists.Load()-before != 1 {
		t.Fatal("an account not reconciled was listed")
	}
}

type countingLister struct {
	*fakeLister
	n *atomic.Int64
}

func (c *countingLister) ListWebhooks(ctx context.Context, id int64) ([]chatwoot.Webhook, error) {
	c.n.Add(1)
	time.Sleep(10 * time.Millisecond) // long enough for the callers to overlap
	return c.fakeLister.ListWebhooks(ctx, id)
}

// A pass that cannot reach Chatwoot before the registry was ever ready
// fills it from the kept lists (with the stored marks) and turns it ready;
// OnListed keeps every list Chatwoot gives, and nil for a dropped account.
func TestReconcilerRestoresKeptListsWhenChatwootIsDown(t *testing.T) {
	kept := map[int64][]chatwoot.Webhook{}
	f := &fakeLister{
		hooks: map[int64][]chatwoot.Webhook{1: {hook(1, relayed(1, "https://a.example/h"), "message_created")}},
		roles: map[int64]string{1: chatwoot.RoleAdministrator},
	}
	opts := ReconcilerOptions{
		Client: f, Interval: 10 * time.Millisecond,
		OnListed: func(_ context.Context, id int64, hooks []chatwoot.Webhook) { kept[id] = hooks },
	}
	opts.Registry = NewRegistry()
	if err := NewReconciler(opts).ReconcileOnce(context.Background()); err != nil || len(kept[1]) != 1 {
		t.Fatalf("first run: %v, kept %v", err, kept)
	}

	// A restart while Chatwoot is down.
	f.set(func(f *fakeLister) { f.profileErr = errUnavailable })
	reg := NewRegistry()
	opts.Registry = reg
	opts.Snapshots = func(context.Context) ([]Snapshot, error) {
		return []Snapshot{{AccountID: 1, Webhooks: kept[1], ListedAt: time.Now()}}, nil
	}
	opts.Stored = func(context.Context) (Stored, error) {
		return Stored{Paused: []Pause{{Key: Key{1, 1}, At: time.Now()}}}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { NewReconciler(opts).Run(ctx); close(done) }()
	select {
	case <-reg.ReadyC():
	case <-time.After(5 * time.Second):
		t.Fatal("not ready from the kept lists")
	}
	cancel()
	<-done
	if eps, _ := reg.Subscribers(1, "message_created"); len(eps) != 1 {
		t.Fatalf("restored endpoints %v", eps)
	}
	if _, paused := reg.PausedAt(Key{1, 1}); !paused {
		t.Fatal("the stored pause was not applied with the kept lists")
	}

	// Nothing kept: not ready.
	reg2 := NewRegistry()
	opts.Registry, opts.Snapshots = reg2, func(context.Context) ([]Snapshot, error) { return nil, nil }
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	NewReconciler(opts).Run(ctx2)
	if reg2.Ready() {
		t.Fatal("ready with nothing kept and Chatwoot down")
	}

	// An account the token no longer administers is forgotten.
	f.set(func(f *fakeLister) { f.profileErr, f.roles = nil, map[int64]string{} })
	opts.Registry = reg
	if err := NewReconciler(opts).ReconcileOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hooks, ok := kept[1]; !ok || hooks != nil {
		t.Fatalf("a dropped account's list was not forgotten: %v %v", hooks, ok)
	}
}
