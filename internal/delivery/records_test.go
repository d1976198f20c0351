package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// fakeRecords is the store as the workers see it, in memory: outcomes are
// applied to the rows as store.Recorder would, and kept.
type fakeRecords struct {
	mu       sync.Mutex
	rows     map[int64]store.Delivery
	outcomes []store.Outcome
	last     int64
	reads    [][]int64 // the ids of each ForAttempt call
	err      error     // ForAttempt fails with it
}

func newFakeRecords() *fakeRecords { return &fakeRecords{rows: map[int64]store.Delivery{}} }

// add stores a pending delivery of event to webhook 7 of account 1 and
// returns it.
func (r *fakeRecords) add(event string, attempts, maxAttempts int) store.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last++
	d := store.Delivery{
		ID: r.last, UUID: fmt.Sprintf("9a4e1f0e-2b7c-4d8e-8f00-%012d", r.last), EventID: r.last, AccountID: 1, WebhookID: 7,
		Event: event, Payload: []byte(fmt.Sprintf(`{"event":%q,"id":%d}`, event, r.last)), State: store.StatePending,
		Attempts: attempts, MaxAttempts: maxAttempts,
	}
	if attempts > 0 {
		d.State = store.StateFailed
	}
	r.rows[d.ID] = d
	return d
}

func (r *fakeRecords) get(id int64) store.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rows[id]
}

func (r *fakeRecords) ForAttempt(_ context.Context, ids []int64) ([]store.Delivery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads = append(r.reads, slices.Clone(ids))
	if r.err != nil {
		return nil, r.err
	}
	var out []store.Delivery
	for _, id := range ids {
		if d, ok := r.rows[id]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func (r *fakeRecords) Add(o store.Outcome) <-chan error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes = append(r.outcomes, o)
	d := r.rows[o.ID]
	d.State, d.Attempts, d.LastStatus, d.LastError, d.NextAttemptAt = o.State, o.Attempts, o.Status, o.Error, o.NextAttemptAt
	if o.JobID != 0 {
		d.JobID = o.JobID
	}
	r.rows[o.ID] = d
	ch := make(chan error, 1)
	ch <- nil
	return ch
}

func (r *fakeRecords) Finish(context.Context, *rivertype.JobRow, []river.InsertManyParams) <-chan error {
	ch := make(chan error, 1)
	ch <- errors.New("fakeRecords inserts no jobs")
	return ch
}

// attempts are the attempts recorded for delivery id.
func (r *fakeRecords) attempts(id int64) []store.Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []store.Attempt
	for _, o := range r.outcomes {
		if o.ID == id && o.Attempt != nil {
			out = append(out, *o.Attempt)
		}
	}
	return out
}
