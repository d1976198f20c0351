package provider

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// webhookCache shares one webhook list per account between every resource
// and data source of a provider instance. Chatwoot has no GET of a single
// webhook, so without it refreshing N webhooks would list the account N
// times; with it a refresh costs one list per account.
//
// Concurrent reads of an account share one request (singleflight). Writes
// invalidate the account; a generation counter keeps a list that was in
// flight during a write from being stored or joined afterwards.
type webhookCache struct {
	client *chatwoot.Client
	flight singleflight.Group

	mu    sync.Mutex
	lists map[int64][]chatwoot.Webhook
	gen   map[int64]uint64
}

func newWebhookCache(client *chatwoot.Client) *webhookCache {
	return &webhookCache{client: client, lists: map[int64][]chatwoot.Webhook{}, gen: map[int64]uint64{}}
}

// List returns every webhook of the account. The slice is shared: callers
// must not modify it.
func (c *webhookCache) List(ctx context.Context, accountID int64) ([]chatwoot.Webhook, error) {
	c.mu.Lock()
	if hooks, ok := c.lists[accountID]; ok {
		c.mu.Unlock()
		return hooks, nil
	}
	gen := c.gen[accountID]
	c.mu.Unlock()

	key := strconv.FormatInt(accountID, 10) + "@" + strconv.FormatUint(gen, 10)
	v, err, _ := c.flight.Do(key, func() (any, error) {
		hooks, err := c.client.ListWebhooks(ctx, accountID)
		if err != nil {
			return nil, err // errors are not cached: the next read tries again
		}
		if hooks == nil {
			hooks = []chatwoot.Webhook{}
		}
		c.mu.Lock()
		if c.gen[accountID] == gen {
			c.lists[accountID] = hooks
		}
		c.mu.Unlock()
		return hooks, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]chatwoot.Webhook), nil
}

// Find returns the account's webhook with id webhookID; ok is false when
// there is none.
func (c *webhookCache) Find(ctx context.Context, accountID, webhookID int64) (hook chatwoot.Webhook, ok bool, err error) {
	hooks, err := c.List(ctx, accountID)
	if err != nil {
		return chatwoot.Webhook{}, false, err
	}
	for _, h := range hooks {
		if h.ID == webhookID {
			return h, true, nil
		}
	}
	return chatwoot.Webhook{}, false, nil
}

// FindFunc returns the account's first webhook, by id, for which match is true.
func (c *webhookCache) FindFunc(ctx context.Context, accountID int64, match func(chatwoot.Webhook) bool) (hook chatwoot.Webhook, ok bool, err error) {
	hooks, err := c.List(ctx, accountID)
	if err != nil {
		return chatwoot.Webhook{}, false, err
	}
	hooks = slices.Clone(hooks)
	slices.SortFunc(hooks, func(a, b chatwoot.Webhook) int { return cmp.Compare(a.ID, b.ID) })
	for _, h := range hooks {
		if match(h) {
			return h, true, nil
		}
	}
	return chatwoot.Webhook{}, false, nil
}

// Invalidate forgets the account's list; every write calls it, whether the
// write succeeded or not, since a failed write may still have landed.
func (c *webhookCache) Invalidate(accountID int64) {
	c.mu.Lock()
	delete(c.lists, accountID)
	c.gen[accountID]++
	c.mu.Unlock()
}
