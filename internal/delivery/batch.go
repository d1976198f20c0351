package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// BatchWorker makes the first attempt of each delivery of a batch, one
// after the other over one of the endpoint's limiter slots, recording each
// outcome as it comes (store.Recorder: a kill -9 repeats only attempts not
// recorded yet, never a whole batch). A delivery answered 2xx is done. At
// the first one that is not — or once the batch has taken --timeout —
// that delivery (after its attempt) and the rest of the batch (not
// attempted) go on in jobs of their own, which the Worker takes on.
type BatchWorker struct {
	river.WorkerDefaults[BatchArgs]
	w      *Worker
	insert func(context.Context, []river.InsertManyParams) error
}

// NewBatchWorker returns a BatchWorker attempting deliveries as w does;
// insert stores the jobs of the deliveries that go on alone (the River
// client's InsertMany).
func NewBatchWorker(w *Worker, insert func(context.Context, []river.InsertManyParams) error) *BatchWorker {
	return &BatchWorker{w: w, insert: insert}
}

// JobTimeout is how long one batch may run: a delivery's job timeout, plus
// --timeout, after which the rest of the batch is split off.
func (b *BatchWorker) JobTimeout() time.Duration { return b.w.JobTimeout() + b.w.opts.Timeout }

// Timeout implements river.Worker.
func (b *BatchWorker) Timeout(*river.Job[BatchArgs]) time.Duration { return b.JobTimeout() }

// Work implements river.Worker.
func (b *BatchWorker) Work(ctx context.Context, job *river.Job[BatchArgs]) error {
	w := b.w
	ds, err := w.opts.Records.ForAttempt(ctx, job.Args.IDs)
	if err != nil {
		return err
	}
	byID := make(map[int64]store.Delivery, len(ds))
	for _, d := range ds {
		byID[d.ID] = d
	}
	// In the batch's order; recorded succeeded (a batch run again after a
	// crash), cancelled or deleted ones are skipped.
	todo := make([]store.Delivery, 0, len(ds))
	for _, id := range job.Args.IDs {
		if d, ok := byID[id]; ok && !store.Final(d.State) {
			todo = append(todo, d)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	key := endpoints.Key{AccountID: todo[0].AccountID, ID: todo[0].WebhookID}
	ep, status := w.opts.Endpoints.Lookup(key)
	var recorded []<-chan error
	waitAll := func() error {
		for _, ch := range recorded {
			if err := w.wait(ctx, ch); err != nil {
				return err
			}
		}
		return nil
	}
	if status != endpoints.Active {
		err := w.refusal(status, ep, "")
		for _, d := range todo {
			w.report(Result{Endpoint: key, DeliveryID: d.UUID, Attempt: 1, Start: time.Now(), Err: err, Outcome: Cancelled})
			recorded = append(recorded, w.opts.Records.Add(store.Outcome{ID: d.ID, State: store.StateCancelled, Attempts: d.Attempts, Error: err.Error()}))
		}
		if err := waitAll(); err != nil {
			return err
		}
		return river.JobCancel(err)
	}
	if _, paused := w.opts.Endpoints.PausedAt(key); paused {
		return river.JobSnooze(PauseSnooze)
	}
	release, snooze, err := w.opts.Limiter.Acquire(ctx, key, parseMetadata(job.JobRow).Snoozes)
	if err != nil {
		return err
	}
	if snooze > 0 {
		return river.JobSnooze(snooze)
	}
	defer release()

	var split []river.InsertManyParams
	deadline := time.Now().Add(w.opts.Timeout)
	// at zero: due now (River makes a job inserted with a scheduled_at
	// "scheduled", which waits for its scheduler's next run).
	goOn := func(d store.Delivery, attemptsLeft int, at time.Time) {
		split = append(split, AloneParams(d, attemptsLeft, at))
	}
	for i, d := range todo {
		if d.Attempts > 0 || !ep.Subscribed(d.Event) || time.Now().After(deadline) {
			// The Worker cancels or attempts it (one with an attempt: a
			// batch run again after its failure was recorded).
			goOn(d, d.MaxAttempts-d.Attempts, d.NextAttemptAt)
			continue
		}
		start := time.Now()
		resp, sendErr := w.opts.Sender.Send(ctx, Request{URL: ep.URL, Secret: ep.Secret, DeliveryID: d.UUID, Body: d.Payload})
		elapsed := time.Since(start)
		if sendErr != nil && ctx.Err() != nil {
			// Stopping or timed out: the batch runs again; what was
			// recorded delivered is skipped then.
			return sendErr
		}
		out, aerr := w.outcome(ctx, d, ep, 1, d.MaxAttempts <= 1, resp, sendErr)
		out.Attempt = &store.Attempt{Attempt: 1, At: start.UTC(), Status: resp.Status, Error: errText(aerr), Duration: elapsed}
		w.reportAttempt(d, key, 1, start, elapsed, resp.Status, out.State, aerr)
		recorded = append(recorded, w.opts.Records.Add(out))
		if out.State == store.StateSucceeded {
			continue
		}
		// The first failure: this delivery (if it has attempts left) and
		// the rest go on alone.
		if out.State == store.StateFailed {
			goOn(d, d.MaxAttempts-1, out.NextAttemptAt)
		}
		for _, rest := range todo[i+1:] {
			goOn(rest, rest.MaxAttempts-rest.Attempts, time.Time{})
		}
		break
	}
	if err := waitAll(); err != nil {
		return err
	}
	if len(split) > 0 {
		if err := b.insert(ctx, split); err != nil {
			return fmt.Errorf("storing the deliveries that go on alone: %w", err)
		}
	}
	return nil
}
