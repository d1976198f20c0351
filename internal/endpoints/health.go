package endpoints

import (
	"cmp"
	"slices"
	"time"
)

// Health is what the attempts to an endpoint looked like lately, as the
// admin API shows it. It lives in memory: a restart starts it afresh.
type Health struct {
	// LastAttemptAt is when the last attempt ended; zero before any.
	LastAttemptAt time.Time
	// LastStatus is the HTTP status of the last attempt; 0 when it got no
	// answer (LastError says why).
	LastStatus int
	// LastError is why the last attempt failed; empty when it succeeded.
	LastError string
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int
	// LastSuccessAt is when an attempt last succeeded.
	LastSuccessAt time.Time
}

// State is an endpoint as the admin API lists it.
type State struct {
	Endpoint
	Status         Status // Active, Disabled or Refused
	DisabledAt     time.Time
	DisabledReason string
	RefusedReason  string
	PausedAt       time.Time // zero unless paused through the admin API
	Health         Health
}

// RecordAttempt notes the end of an attempt to k. errText is empty for a
// successful (2xx) attempt. Attempts to endpoints no longer registered are
// ignored.
func (r *Registry) RecordAttempt(k Key, at time.Time, status int, errText string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.accounts[k.AccountID][k.ID]; !ok {
		return
	}
	h := r.health[k]
	if h == nil {
		h = &Health{}
		r.health[k] = h
	}
	if at.Before(h.LastAttemptAt) {
		return // a slower attempt that started earlier; the newer one tells more
	}
	h.LastAttemptAt, h.LastStatus, h.LastError = at, status, errText
	if errText == "" {
		h.ConsecutiveFailures = 0
		h.LastSuccessAt = at
	} else {
		h.ConsecutiveFailures++
	}
}

// List returns every registered endpoint with its status and health,
// sorted by account and id.
func (r *Registry) List() []State {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []State
	for _, acct := range r.accounts {
		for _, e := range acct {
			s := State{Endpoint: e.Endpoint, Status: e.status(), RefusedReason: e.refused}
			if s.Status == Disabled {
				s.DisabledAt, s.DisabledReason = e.disabledAt, e.disabledReason
			}
			if h := r.health[e.Key()]; h != nil {
				s.Health = *h
			}
			s.PausedAt = r.paused[e.Key()]
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b State) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Find returns the keys of the registered endpoints with webhook id id:
// Chatwoot's webhook ids are unique across accounts, but the registry only
// trusts them within one.
func (r *Registry) Find(id int64) []Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Key
	for acct, eps := range r.accounts {
		if _, ok := eps[id]; ok {
			out = append(out, Key{AccountID: acct, ID: id})
		}
	}
	slices.SortFunc(out, func(a, b Key) int { return cmp.Compare(a.AccountID, b.AccountID) })
	return out
}

// Enable clears the disabled mark of k. found is false when k is not
// registered; wasDisabled whether it was disabled.
func (r *Registry) Enable(k Key) (found, wasDisabled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.accounts[k.AccountID][k.ID]
	if !ok {
		return false, false
	}
	wasDisabled = e.disabled()
	e.disabledFP, e.disabledAt, e.disabledReason = "", time.Time{}, ""
	r.enabledAt[k] = time.Now()
	return true, wasDisabled
}

// DisabledCount returns how many registered endpoints are disabled.
func (r *Registry) DisabledCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 0
	for _, acct := range r.accounts {
		for _, e := range acct {
			if e.disabled() {
				n++
			}
		}
	}
	return n
}

// Len returns how many endpoints are registered.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 0
	for _, acct := range r.accounts {
		n += len(acct)
	}
	return n
}
