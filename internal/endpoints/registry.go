// Package endpoints keeps the daemon's view of where deliveries go: a
// registry of the webhooks Chatwoot holds for each account that go through
// the relay (id, destination, subscriptions, secret), filled by a
// reconciler that lists them through internal/chatwoot, plus the daemon's
// own marks: "disabled after 410 Gone" and "refused" (a destination that
// would make the daemon deliver to itself). Webhooks Chatwoot delivers to
// directly are not endpoints: the daemon never sends to them.
package endpoints

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Key identifies an endpoint: webhook ids are only unique within an account.
type Key struct {
	AccountID int64
	ID        int64
}

func (k Key) String() string { return fmt.Sprintf("%d/%d", k.AccountID, k.ID) }

// Endpoint is one Chatwoot webhook as the daemon delivers to it.
type Endpoint struct {
	AccountID int64
	ID        int64
	Name      string
	// URL is where the daemon delivers: the destination of a relayed
	// webhook.
	URL string
	// ChatwootURL is the url Chatwoot holds: the relay address of URL.
	ChatwootURL   string
	Subscriptions []string
	Secret        string
}

// Key returns the endpoint's registry key.
func (e Endpoint) Key() Key { return Key{e.AccountID, e.ID} }

// Subscribed reports whether the endpoint receives event.
func (e Endpoint) Subscribed(event string) bool { return slices.Contains(e.Subscriptions, event) }

// String names the endpoint for logs: never the secret, never the URL's
// query or credentials (receivers put tokens there).
func (e Endpoint) String() string {
	return fmt.Sprintf("webhook %d of account %d (%s)", e.ID, e.AccountID, chatwoot.RedactURL(e.URL))
}

// GoString keeps %#v from printing the secret.
func (e Endpoint) GoString() string { return e.String() }

// fingerprint changes whenever anything that decides a delivery changes
// upstream; a 410 disables the endpoint until it does.
// Fingerprint identifies what the endpoint is now: a hash of its
// destination, subscriptions and secret. A disabled mark holds it, so a
// webhook changed upstream since is not disabled any more.
func (e Endpoint) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", e.URL, strings.Join(e.Subscriptions, ","), e.Secret)
	return hex.EncodeToString(h.Sum(nil))
}

// Status is what the registry knows about an endpoint at lookup time.
type Status int

const (
	// Active endpoints receive deliveries.
	Active Status = iota
	// Disabled endpoints answered 410 Gone and receive nothing until their
	// webhook changes upstream.
	Disabled
	// Removed endpoints are no longer listed upstream (or their account is
	// no longer reconciled).
	Removed
	// Refused endpoints are relayed webhooks the daemon will not deliver
	// to (State.RefusedReason says why), such as one whose destination is
	// the daemon itself.
	Refused
)

func (s Status) String() string {
	switch s {
	case Active:
		return "active"
	case Disabled:
		return "disabled"
	case Refused:
		return "refused"
	default:
		return "removed"
	}
}

type entry struct {
	Endpoint
	refused        string // why the daemon never delivers to it; "" for most
	disabledFP     string // fingerprint when a 410 disabled it; "" when enabled
	disabledAt     time.Time
	disabledReason string
}

func (e *entry) disabled() bool { return e.disabledFP != "" && e.disabledFP == e.Fingerprint() }

// Registry is safe for concurrent use. Readers (ingest, workers) never
// block on the network: the reconciler swaps in whole accounts.
type Registry struct {
	mu       sync.RWMutex
	accounts map[int64]map[int64]*entry
	health   map[Key]*Health
	paused   map[Key]time.Time // paused through the admin API, by when
	// enabledAt and resumedAt are when this process last enabled or
	// resumed an endpoint: a store read begun before then may still hold
	// the mark or pause it cleared, and must not bring it back.
	enabledAt map[Key]time.Time
	resumedAt map[Key]time.Time
	ready     chan struct{}
	readyOnce sync.Once
}

// NewRegistry returns an empty, not yet ready registry.
func NewRegistry() *Registry {
	return &Registry{
		accounts: make(map[int64]map[int64]*entry), health: make(map[Key]*Health),
		paused: make(map[Key]time.Time), enabledAt: make(map[Key]time.Time), resumedAt: make(map[Key]time.Time),
		ready: make(chan struct{}),
	}
}

// Change is what one Replace did to an account's endpoints.
type Change struct {
	Added, Updated, Removed, Reenabled []Endpoint
}

// Empty reports whether nothing changed.
func (c Change) Empty() bool {
	return len(c.Added)+len(c.Updated)+len(c.Removed)+len(c.Reenabled) == 0
}

// Replace sets the endpoints of an account to hooks, each delivered to its
// own url (tests and benchmarks register endpoints this way). Webhooks
// whose url is not an http(s) URL are skipped.
func (r *Registry) Replace(accountID int64, hooks []chatwoot.Webhook) Change {
	next := make(map[int64]*entry, len(hooks))
	for _, h := range hooks {
		if !chatwoot.ValidWebhookURL(h.URL) {
			continue
		}
		next[h.ID] = newEntry(accountID, h, h.URL)
	}
	return r.replace(accountID, next)
}

// Refuse tells why the daemon must not deliver to a destination (it is
// the daemon itself), or "" when it may.
type Refuse func(destination string) string

// ReplaceRelayed sets the endpoints of an account to its webhooks as just
// listed from Chatwoot that go through the relay, each delivered to its
// destination. Webhooks Chatwoot delivers to directly are left out;
// relayed ones whose destination is not an http(s) url, that refuse
// names, or that repeat another's destination are kept as Refused.
func (r *Registry) ReplaceRelayed(accountID int64, hooks []chatwoot.Webhook, refuse Refuse) Change {
	hooks = slices.Clone(hooks)
	slices.SortFunc(hooks, func(a, b chatwoot.Webhook) int { return cmp.Compare(a.ID, b.ID) })
	next := make(map[int64]*entry, len(hooks))
	byDest := map[string]int64{}
	for _, h := range hooks {
		addr, ok := chatwoot.ParseRelayAddress(h.URL)
		if !ok || addr.AccountID != accountID {
			continue // Chatwoot's to deliver
		}
		e := newEntry(accountID, h, addr.Destination)
		switch first, dup := byDest[addr.Destination]; {
		case !chatwoot.ValidWebhookURL(addr.Destination):
			e.refused = "its destination is not an absolute http(s) url; fix the webhook's url in Chatwoot (or its Terraform config)"
		case dup:
			e.refused = fmt.Sprintf("webhook %d of this account already relays to the same destination; delete one of them", first)
		default:
			if refuse != nil {
				e.refused = refuse(addr.Destination)
			}
		}
		if e.refused == "" {
			byDest[addr.Destination] = h.ID
		}
		next[h.ID] = e
	}
	return r.replace(accountID, next)
}

func newEntry(accountID int64, h chatwoot.Webhook, dest string) *entry {
	return &entry{Endpoint: Endpoint{
		AccountID:     accountID,
		ID:            h.ID,
		Name:          h.Name,
		URL:           dest,
		ChatwootURL:   h.URL,
		Subscriptions: slices.Clone(h.Subscriptions),
		Secret:        h.Secret,
	}}
}

func (r *Registry) replace(accountID int64, next map[int64]*entry) Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ch Change
	prev := r.accounts[accountID]
	for id, e := range next {
		old, ok := prev[id]
		switch {
		case !ok:
			ch.Added = append(ch.Added, e.Endpoint)
		case old.Fingerprint() != e.Fingerprint():
			ch.Updated = append(ch.Updated, e.Endpoint)
			if old.disabledFP != "" {
				ch.Reenabled = append(ch.Reenabled, e.Endpoint)
			}
		default:
			e.disabledFP, e.disabledAt, e.disabledReason = old.disabledFP, old.disabledAt, old.disabledReason
		}
	}
	for id, old := range prev {
		if _, ok := next[id]; !ok {
			ch.Removed = append(ch.Removed, old.Endpoint)
			delete(r.health, old.Key())
			delete(r.paused, old.Key())
			delete(r.enabledAt, old.Key())
			delete(r.resumedAt, old.Key())
		}
	}
	r.accounts[accountID] = next
	sortByID(ch.Added, ch.Updated, ch.Removed, ch.Reenabled)
	return ch
}

// RemoveAccount forgets an account (the token no longer administers it)
// and returns its endpoints.
func (r *Registry) RemoveAccount(accountID int64) []Endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Endpoint
	for _, e := range r.accounts[accountID] {
		out = append(out, e.Endpoint)
		delete(r.health, e.Key())
	}
	delete(r.accounts, accountID)
	sortByID(out)
	return out
}

// Accounts returns the reconciled account ids, sorted.
func (r *Registry) Accounts() []int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]int64, 0, len(r.accounts))
	for id := range r.accounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Subscribers returns the endpoints of an account subscribed to event,
// sorted by id: the active ones and the disabled ones, whose deliveries are
// kept (stored, cancelled at their turn without an attempt, for recover or
// replay once enabled), not the refused; known is false when the account
// is not reconciled.
func (r *Registry) Subscribers(accountID int64, event string) (eps []Endpoint, known bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	acct, known := r.accounts[accountID]
	for _, e := range acct {
		if e.Subscribed(event) && e.refused == "" {
			eps = append(eps, e.Endpoint)
		}
	}
	sortByID(eps)
	return eps, known
}

// Relayed finds the relayed webhook of an account that delivers to
// destination, as the relay route names it; found is false when there is
// none. Its status is Active, Disabled or Refused.
func (r *Registry) Relayed(accountID int64, destination string) (ep Endpoint, status Status, found bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var best *entry
	for _, e := range r.accounts[accountID] {
		if e.URL != destination || e.ChatwootURL == e.URL {
			continue
		}
		// Of a repeated destination, the one not refused answers.
		if best == nil || (e.refused == "") != (best.refused == "") && e.refused == "" ||
			(e.refused == "") == (best.refused == "") && e.ID < best.ID {
			best = e
		}
	}
	if best == nil {
		return Endpoint{}, Removed, false
	}
	return best.Endpoint, best.status(), true
}

// RefusedReason says why the daemon refuses endpoint k; "" when it does not.
func (r *Registry) RefusedReason(k Key) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if e, ok := r.accounts[k.AccountID][k.ID]; ok {
		return e.refused
	}
	return ""
}

func (e *entry) status() Status {
	switch {
	case e.refused != "":
		return Refused
	case e.disabled():
		return Disabled
	}
	return Active
}

// Lookup returns the endpoint as currently known, and its status.
func (r *Registry) Lookup(k Key) (Endpoint, Status) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.accounts[k.AccountID][k.ID]
	if !ok {
		return Endpoint{}, Removed
	}
	return e.Endpoint, e.status()
}

// DisabledGone is why an endpoint gets disabled.
const DisabledGone = "it answered 410 Gone; it stays disabled until its webhook changes upstream or it is enabled through the admin API"

// Disable marks the endpoint disabled after a 410 Gone to ep, which is the
// endpoint as it was when the attempt started. If the webhook changed
// upstream since then, the 410 is about the old URL and nothing happens.
// It reports whether the endpoint is now disabled by this call.
func (r *Registry) Disable(ep Endpoint) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.accounts[ep.AccountID][ep.ID]
	if !ok || e.Fingerprint() != ep.Fingerprint() || e.disabled() {
		return false
	}
	e.disabledFP, e.disabledAt, e.disabledReason = e.Fingerprint(), time.Now(), DisabledGone
	return true
}

// Mark is a disabled mark as the store keeps it, for every replica and
// across restarts.
type Mark struct {
	Key
	Fingerprint string
	At          time.Time
	Reason      string
}

// markGrace is how long a mark this process just set may be missing from
// the store's list: the list may have been read before the mark's write
// committed.
const markGrace = 10 * time.Second

// ApplyMarks makes the registry's disabled marks the store's, read at
// readAt: an endpoint with a mark of its current fingerprint is disabled,
// unless this process enabled it after readAt (the read may predate the
// mark's removal); one disabled here with no such mark is enabled (another
// replica, or the admin API, enabled it), unless its mark is younger than
// markGrace. It returns the endpoints it disabled and enabled.
func (r *Registry) ApplyMarks(marks []Mark, readAt time.Time) (disabled, enabled []Endpoint) {
	byKey := make(map[Key]Mark, len(marks))
	for _, m := range marks {
		byKey[m.Key] = m
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, acct := range r.accounts {
		for _, e := range acct {
			m, ok := byKey[e.Key()]
			switch {
			case ok && m.Fingerprint == e.Fingerprint():
				if !e.disabled() && !readAt.Before(r.enabledAt[e.Key()]) {
					e.disabledFP, e.disabledAt, e.disabledReason = m.Fingerprint, m.At, m.Reason
					disabled = append(disabled, e.Endpoint)
				}
			case e.disabled() && e.disabledAt.Before(readAt.Add(-markGrace)):
				e.disabledFP, e.disabledAt, e.disabledReason = "", time.Time{}, ""
				enabled = append(enabled, e.Endpoint)
			}
		}
	}
	sortByID(disabled, enabled)
	return disabled, enabled
}

// Pause is a pause as the store keeps it.
type Pause struct {
	Key
	At time.Time
}

// Pause holds the deliveries of k (they wait, snoozed, until Resume).
// found is false when k is not registered.
func (r *Registry) Pause(k Key, at time.Time) (found bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.accounts[k.AccountID][k.ID]; !ok {
		return false
	}
	if _, ok := r.paused[k]; !ok {
		r.paused[k] = at
	}
	return true
}

// Resume lets the deliveries of k flow again.
func (r *Registry) Resume(k Key) (found, wasPaused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.accounts[k.AccountID][k.ID]; !ok {
		return false, false
	}
	_, wasPaused = r.paused[k]
	delete(r.paused, k)
	r.resumedAt[k] = time.Now()
	return true, wasPaused
}

// PausedAt reports whether k is paused, and since when.
func (r *Registry) PausedAt(k Key) (time.Time, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	at, ok := r.paused[k]
	return at, ok
}

// ApplyPauses makes the registry's pauses the store's, read at readAt, as
// ApplyMarks does for disabled marks (a pause read before this process
// resumed the endpoint is stale). It returns the endpoints it paused
// and resumed.
func (r *Registry) ApplyPauses(pauses []Pause, readAt time.Time) (paused, resumed []Key) {
	stored := make(map[Key]time.Time, len(pauses))
	for _, p := range pauses {
		stored[p.Key] = p.At
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, at := range stored {
		if _, registered := r.accounts[k.AccountID][k.ID]; !registered {
			continue
		}
		if _, ok := r.paused[k]; !ok && !readAt.Before(r.resumedAt[k]) {
			r.paused[k] = at
			paused = append(paused, k)
		}
	}
	for k, at := range r.paused {
		if _, ok := stored[k]; !ok && at.Before(readAt.Add(-markGrace)) {
			delete(r.paused, k)
			resumed = append(resumed, k)
		}
	}
	slices.SortFunc(paused, compareKeys)
	slices.SortFunc(resumed, compareKeys)
	return paused, resumed
}

func compareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.ID, b.ID))
}

// MarkReady records that the first complete reconcile happened.
func (r *Registry) MarkReady() { r.readyOnce.Do(func() { close(r.ready) }) }

// Ready reports whether the first complete reconcile happened.
func (r *Registry) Ready() bool {
	select {
	case <-r.ready:
		return true
	default:
		return false
	}
}

// ReadyC is closed after the first complete reconcile.
func (r *Registry) ReadyC() <-chan struct{} { return r.ready }

func sortByID(lists ...[]Endpoint) {
	for _, l := range lists {
		sort.Slice(l, func(i, j int) bool { return l[i].ID < l[j].ID })
	}
}
