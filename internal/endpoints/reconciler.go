package endpoints

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Lister is the part of *chatwoot.Client the reconciler uses.
type Lister interface {
	ListWebhooks(ctx context.Context, accountID int64) ([]chatwoot.Webhook, error)
	Profile(ctx context.Context) (chatwoot.Profile, error)
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

	Logger hclog.Logger
}

// Reconciler keeps a Registry in step with Chatwoot. API errors keep the
// last good state of the account concerned; they are logged, never fatal.
type Reconciler struct {
	opts ReconcilerOptions
	log  hclog.Logger
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
	return &Reconciler{opts: opts, log: log.Named("reconciler")}
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
				r.log.Warn("account no longer administered by the token; its endpoints stop receiving", "account", id, "endpoints", len(removed))
				r.removed(ctx, removed)
			}
		}
	}

	for _, id := range accounts {
		hooks, err := r.opts.Client.ListWebhooks(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
			if !definitive(err) {
				complete = false
			}
			continue
		}
		ch := reg.Replace(id, hooks)
		r.logChange(id, len(hooks), ch)
		r.removed(ctx, ch.Removed)
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
