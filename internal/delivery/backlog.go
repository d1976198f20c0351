package delivery

import (
	"sync"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// Backlog counts, per endpoint, the deliveries this daemon stored that have
// not had their first attempt yet, and decides from that count alone
// whether a new delivery is stored Behind: once an endpoint has Threshold
// such deliveries, the next ones go behind every other endpoint's.
//
// The decision is a fact of what was stored, never of timing: at any
// moment at most Threshold deliveries of an endpoint wait at the normal
// priority, so a delivery to an endpoint without a backlog is fetched
// after at most that many of another's. (River fetches by priority before
// age, and its open-source fetch has no per-key limit.)
//
// Counts start at zero when the daemon starts and cover only what this
// process stored: a backlog left by a previous run, or stored by another
// replica, is not counted here.
type Backlog struct {
	threshold int

	mu sync.Mutex
	n  map[endpoints.Key]int
}

// NewBacklog returns a Backlog; threshold is at least 1 (the endpoint's
// concurrency is a good one: that many can start at once).
func NewBacklog(threshold int) *Backlog {
	return &Backlog{threshold: max(threshold, 1), n: map[endpoints.Key]int{}}
}

// Reserve counts a delivery about to be stored for k and reports whether
// it goes Behind. Undo it with Release if the delivery is not stored.
func (b *Backlog) Reserve(k endpoints.Key) (behind bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	behind = b.n[k] >= b.threshold
	b.n[k]++
	return behind
}

// Release uncounts a delivery: its first attempt ended (whatever its
// outcome), or it was not stored after all.
func (b *Backlog) Release(k endpoints.Key) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch n := b.n[k]; {
	case n > 1:
		b.n[k] = n - 1
	case n == 1:
		delete(b.n, k)
	}
}

// Forget drops the count of an endpoint that went away.
func (b *Backlog) Forget(k endpoints.Key) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.n, k)
}

// Len is the count of k.
func (b *Backlog) Len(k endpoints.Key) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n[k]
}
