package ingest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// Queue stores events, their deliveries and the jobs that carry them in
// one transaction (store.Store.Enqueue, with the daemon's River client and
// job builder), telling the duplicates.
type Queue interface {
	Enqueue(ctx context.Context, evs []store.NewEvent) ([]store.Queued, error)
}

var errClosed = errors.New("shutting down")

// batcher gathers the events of concurrent requests into one transaction:
// SQLite commits (and fsyncs) once per batch instead of once per event.
// There is no timer: while one batch commits, the next one gathers.
type batcher struct {
	q       Queue
	max     int // deliveries per transaction
	timeout time.Duration

	mu     sync.RWMutex
	closed bool
	in     chan *batchReq
	done   chan struct{}
}

type batchReq struct {
	ev  store.NewEvent
	res chan batchRes // buffered: the loop never blocks on a gone caller
}

type batchRes struct {
	queued []store.Queued
	err    error
}

func newBatcher(q Queue, maxDeliveries int, timeout time.Duration) *batcher {
	b := &batcher{q: q, max: maxDeliveries, timeout: timeout, in: make(chan *batchReq, 4096), done: make(chan struct{})}
	go b.loop()
	return b
}

// insert stores ev, batched with concurrent calls, and returns once it is
// committed (or not), with one Queued per delivery.
func (b *batcher) insert(ev store.NewEvent) ([]store.Queued, error) {
	r := &batchReq{ev: ev, res: make(chan batchRes, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, errClosed
	}
	b.in <- r
	b.mu.RUnlock()
	res := <-r.res
	return res.queued, res.err
}

// close stops accepting, commits what was submitted, and returns.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.in)
	}
	b.mu.Unlock()
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	for r := range b.in {
		batch, n := []*batchReq{r}, len(r.ev.Deliveries)
	gather:
		for n < b.max {
			select {
			case r, ok := <-b.in:
				if !ok {
					break gather
				}
				batch = append(batch, r)
				n += len(r.ev.Deliveries)
			default:
				break gather
			}
		}
		b.flush(batch)
	}
}

func (b *batcher) flush(batch []*batchReq) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	evs := make([]store.NewEvent, len(batch))
	for i, r := range batch {
		evs[i] = r.ev
	}
	queued, err := b.q.Enqueue(ctx, evs)
	if err == nil && len(queued) != countDeliveries(evs) {
		err = errors.New("the store returned fewer deliveries than given")
	}
	if err != nil && len(batch) > 1 {
		// Nothing of the batch was committed; isolate the failing request.
		for _, r := range batch {
			q, err := b.q.Enqueue(ctx, []store.NewEvent{r.ev})
			r.res <- batchRes{q, err}
		}
		return
	}
	for _, r := range batch {
		if err != nil {
			r.res <- batchRes{nil, err}
			continue
		}
		n := len(r.ev.Deliveries)
		r.res <- batchRes{queued[:n], nil}
		queued = queued[n:]
	}
}

func countDeliveries(evs []store.NewEvent) int {
	n := 0
	for _, ev := range evs {
		n += len(ev.Deliveries)
	}
	return n
}
