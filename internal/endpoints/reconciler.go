package endpoints

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/singleflight"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Lister is the part of *chatwoot.Client the reconciler uses.
type Lister interface {
	ListWebhooks(ctx context.Context, accountID int64) ([]chatwoot.Webhook, error)
	Profile(ctx context.Context) (chatwoot.Profile, error)
}

// Snapshot is an account's last good list of webhooks, as stored.
type Snapshot struct {
	AccountID int64
	Webhooks  []chatwoot.Webhook
	ListedAt  time.Time
}

// Stored is what the store keeps about endpoints for every replica.
type Stored struct {
	Disabled []Mark
	Paused   []Pause
}

// ReconcilerOptions configures a Reconciler.
type ReconcilerOptions struct {
	Client   Lister
	Registry *Registry

	// Accounts to reconcile; empty means every account where the token's
	// user is an administrator (GET /api/v1/profile), re-read each pass.
	Accounts []int64

	// Interval between passes; default 30s.
	Interval time.Duration

	// OnRemoved is called (outside any lock) with endpoints that stopped
	// existing upstream, so their pending deliveries can be cancelled.
	OnRemoved func(ctx context.Context, removed []Endpoint)

	// OnPass is called after every pass with its errors (nil for a pass
	// where every account was listed), for metrics.
	OnPass func(err error)

	// Refuse names relayed destinations never to deliver to (the daemon
	// itself); nil refuses none.
	Refuse Refuse

	// RefreshEvery is the least time between two lists of one account by
	// Refresh; default 1s.
	RefreshEvery time.Duration

	// Stored reads the disabled marks and pauses the store keeps for every
	// replica; each pass applies them after listing the accounts, and the
	// registry turns ready only once they were read. nil keeps them in
	// memory.
	Stored func(ctx context.Context) (Stored, error)

	// OnListed is called with each account's list after Chatwoot answered
	// it (hooks nil: the account is no longer administered), to keep it.
	OnListed func(ctx context.Context, accountID int64, hooks []chatwoot.Webhook)

	// Snapshots reads the lists OnListed kept. When the first pass cannot
	// reach Chatwoot, the registry is filled from them and turns ready, so
	// a daemon restarted while Chatwoot is down delivers its stored backlog.
	Snapshots func(ctx context.Context) ([]Snapshot, error)

	Logger hclog.Logger
}

// Reconciler keeps a Registry in step with Chatwoot. API errors keep the
// last good state of the account concerned; they are logged, never fatal.
type Reconciler struct {
	opts ReconcilerOptions
	log  hclog.Logger

	// listMu orders the list-and-replace of accounts, so that an older
	// list never replaces a newer one.
	listMu  sync.Mutex
	flight  singleflight.Group
	lastMu  sync.Mutex
	lastRef map[int64]time.Time
}

// NewReconciler returns a Reconciler; call Run.
func NewReconciler(opts ReconcilerOptions) *Reconciler {
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if opts.RefreshEvery <= 0 {
		opts.RefreshEvery = time.Second
	}
	return &Reconciler{opts: opts, log: log.Named("reconciler"), lastRef: map[int64]time.Time{}}
}

// Refresh lists one account now, for the relay route's miss: Chatwoot
// never retries, so the first event of a webhook created a moment ago
// must find it. Concurrent calls for an account share one list, and an
// account is listed at most once per RefreshEvery (a caller inside that
// window returns at once). Only reconciled accounts are listed.
func (r *Reconciler) Refresh(ctx context.Context, accountID int64) error {
	if !slices.Contains(r.opts.Registry.Accounts(), accountID) {
		return nil
	}
	key := strconv.FormatInt(accountID, 10)
	ch := r.flight.DoChan(key, func() (any, error) {
		r.lastMu.Lock()
		if time.Since(r.lastRef[accountID]) < r.opts.RefreshEvery {
			r.lastMu.Unlock()
			return nil, nil
		}
		r.lastRef[accountID] = time.Now()
		r.lastMu.Unlock()
		// Not the caller's context: a caller that gives up must not fail the others.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return nil, r.reconcileAccount(lctx, accountID)
	})
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reconcileAccount lists one account and replaces its endpoints.
func (r *Reconciler) reconcileAccount(ctx context.Context, id int64) error {
	r.listMu.Lock()
	hooks, err := r.opts.Client.ListWebhooks(ctx, id)
	if err != nil {
		r.listMu.Unlock()
		return err
	}
	ch := r.opts.Registry.ReplaceRelayed(id, hooks, r.opts.Refuse)
	r.listMu.Unlock()
	if r.opts.OnListed != nil {
		r.opts.OnListed(ctx, id, hooks)
	}
	r.logChange(id, len(hooks), ch)
	r.removed(ctx, ch.Removed)
	return nil
}

// restore fills a registry that never became ready from the stored lists
// and the stored marks, and marks it ready; false when nothing is stored.
func (r *Reconciler) restore(ctx context.Context) bool {
	if r.opts.Snapshots == nil {
		return false
	}
	snaps, err := r.opts.Snapshots(ctx)
	if err != nil || len(snaps) == 0 {
		if err != nil {
			r.log.Warn("reading the stored endpoints failed", "error", err)
		}
		return false
	}
	var stored Stored
	if r.opts.Stored != nil {
		if stored, err = r.opts.Stored(ctx); err != nil {
			r.log.Warn("reading the endpoints' state from the store failed; not delivering from the stored endpoints", "error", err)
			return false
		}
	}
	reg := r.opts.Registry
	readAt := time.Now()
	oldest := snaps[0].ListedAt
	r.listMu.Lock()
	for _, sn := range snaps {
		reg.ReplaceRelayed(sn.AccountID, sn.Webhooks, r.opts.Refuse)
		if sn.ListedAt.Before(oldest) {
			oldest = sn.ListedAt
		}
	}
	r.listMu.Unlock()
	reg.ApplyPauses(stored.Paused, readAt)
	reg.ApplyMarks(stored.Disabled, readAt)
	reg.MarkReady()
	r.log.Warn("Chatwoot is not reachable: delivering with the endpoints stored at the last good reconcile until it answers",
		"accounts", reg.Accounts(), "listed_at", oldest)
	return true
}

// Run reconciles at once and then every Interval until ctx ends. Until the
// first complete pass it retries sooner (1s, doubling up to Interval), so a
// daemon started while Chatwoot is briefly down becomes ready quickly.
func (r *Reconciler) Run(ctx context.Context) {
	retry := time.Second
	for {
		err := r.ReconcileOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.log.Warn("reconcile incomplete; keeping the last good endpoints", "error", err)
			if !r.opts.Registry.Ready() {
				r.restore(ctx)
			}
		}
		if r.opts.OnPass != nil {
			r.opts.OnPass(err)
		}
		wait := r.opts.Interval
		if !r.opts.Registry.Ready() {
			wait, retry = min(retry, wait), retry*2
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// ReconcileOnce runs one pass. It marks the registry ready the first time
// every account got a definitive answer: its list, or a 4xx (other than
// 429) that retrying will not change, such as a token that does not
// administer the account. It returns the errors of the pass.
func (r *Reconciler) ReconcileOnce(ctx context.Context) error {
	reg := r.opts.Registry
	accounts, err := r.accounts(ctx)
	if err != nil {
		// Keep reconciling the accounts we already know.
		accounts = reg.Accounts()
	}
	complete := err == nil
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}

	if err == nil && len(r.opts.Accounts) == 0 {
		for _, id := range reg.Accounts() {
			if !slices.Contains(accounts, id) {
				removed := reg.RemoveAccount(id)
				if r.opts.OnListed != nil {
					r.opts.OnListed(ctx, id, nil)
				}
				r.log.Warn("account no longer administered by the token; its endpoints stop receiving", "account", id, "endpoints", len(removed))
				r.removed(ctx, removed)
			}
		}
	}

	for _, id := range accounts {
		if err := r.reconcileAccount(ctx, id); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
			if !definitive(err) {
				complete = false
			}
		}
	}
	if r.opts.Stored != nil {
		readAt := time.Now()
		stored, err := r.opts.Stored(ctx)
		if err != nil {
			errs, complete = append(errs, fmt.Errorf("reading the endpoints' state from the store: %w", err)), false
		} else {
			paused, resumed := reg.ApplyPauses(stored.Paused, readAt)
			for _, k := range paused {
				r.log.Info("endpoint paused through another replica's admin API", "account", k.AccountID, "webhook", k.ID)
			}
			for _, k := range resumed {
				r.log.Info("endpoint resumed through another replica's admin API", "account", k.AccountID, "webhook", k.ID)
			}
			disabled, enabled := reg.ApplyMarks(stored.Disabled, readAt)
			for _, e := range disabled {
				r.log.Info("endpoint disabled: another replica, or an earlier run, got 410 Gone from it", "endpoint", e.String())
			}
			for _, e := range enabled {
				r.log.Info("endpoint enabled: its disabled mark left the store (enabled through the admin API)", "endpoint", e.String())
			}
		}
	}
	if complete && !reg.Ready() {
		reg.MarkReady()
		r.log.Info("endpoints reconciled; ready", "accounts", reg.Accounts())
	}
	return errors.Join(errs...)
}

func (r *Reconciler) accounts(ctx context.Context) ([]int64, error) {
	if len(r.opts.Accounts) > 0 {
		return r.opts.Accounts, nil
	}
	p, err := r.opts.Client.Profile(ctx)
	if err != nil {
		return nil, err
	}
	ids := p.AdministeredAccounts()
	if len(ids) == 0 && !r.opts.Registry.Ready() {
		r.log.Warn("the API access token administers no account; nothing will be delivered (use an administrator's token or --accounts)")
	}
	return ids, nil
}

func (r *Reconciler) removed(ctx context.Context, eps []Endpoint) {
	if len(eps) > 0 && r.opts.OnRemoved != nil {
		r.opts.OnRemoved(ctx, eps)
	}
}

func (r *Reconciler) logChange(account int64, n int, ch Change) {
	for _, e := range ch.Added {
		if why := r.opts.Registry.RefusedReason(e.Key()); why != "" {
			r.log.Warn("relayed webhook refused; nothing is delivered to it", "endpoint", e.String(), "reason", why)
			continue
		}
		r.log.Info("endpoint added", "endpoint", e.String(), "subscriptions", e.Subscriptions)
	}
	for _, e := range ch.Updated {
		r.log.Info("endpoint changed upstream", "endpoint", e.String(), "subscriptions", e.Subscriptions)
	}
	for _, e := range ch.Reenabled {
		r.log.Info("endpoint re-enabled: its webhook changed upstream since it answered 410 Gone", "endpoint", e.String())
	}
	for _, e := range ch.Removed {
		r.log.Info("endpoint removed upstream; its pending deliveries are cancelled", "endpoint", e.String())
	}
	r.log.Debug("account reconciled", "account", account, "webhooks", n)
}

// definitive reports whether an error is an answer retrying will not
// change soon (401, 403, 404...), as opposed to 429, 5xx or the network.
func definitive(err error) bool {
	var apiErr *chatwoot.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 &&
		apiErr.StatusCode != http.StatusTooManyRequests && apiErr.StatusCode != http.StatusRequestTimeout
}
