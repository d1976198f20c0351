package delivery

import (
	"context"
	"fmt"
	"slices"
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
// attempted) go on in jobs of their own, which the Worker takes on. When
// the endpoint did not answer at all (connection refused, timeout), the
// rest wait together, not attempted, with that delivery, which is retried
// first in the batch (the probe) on its schedule; they flow once it is
// answered, and are dead with it if it never is.
type BatchWorker struct {
	river.WorkerDefaults[BatchArgs]
	w *Worker
}

// NewBatchWorker returns a BatchWorker attempting deliveries as w does,
// with w's Records.
func NewBatchWorker(w *Worker) *BatchWorker { return &BatchWorker{w: w} }

// JobTimeout is how long one batch may run: a delivery's job timeout, plus
// --timeout, after which the rest of the batch is split off.
func (b *BatchWorker) JobTimeout() time.Duration { return b.w.JobTimeout() + b.w.opts.Timeout }

// Timeout implements river.Worker.
func (b *BatchWorker) Timeout(*river.Job[BatchArgs]) time.Duration { return b.JobTimeout() }

// Work implements river.Worker.
func (b *BatchWorker) Work(ctx context.Context, job *river.Job[BatchArgs]) error {
	w := b.w
	key, release, err := w.enter(ctx, job.JobRow)
	if err != nil {
		return err
	}
	defer release()
	// Unless the endpoint's last attempt here was answered, the first
	// delivery is read alone, and the rest (their payloads) once it was
	// delivered: a batch to an endpoint that does not answer reads one
	// payload, not the batch's, and one that does reads its batch at once.
	first := 1
	if w.opts.Limiter.Answering(key) {
		first = len(job.Args.IDs)
	}
	todo, err := b.pending(ctx, job.Args.IDs[:first])
	unread := job.Args.IDs[first:]
	if err == nil && len(todo) == 0 && len(unread) > 0 {
		todo, err = b.pending(ctx, unread)
		unread = nil
	}
	if err != nil {
		return err
	}
	readRest := func() error {
		if len(unread) == 0 {
			return nil
		}
		more, err := b.pending(ctx, unread)
		unread = nil
		todo = append(todo, more...)
		return err
	}
	// doneWith reads the rest once the last delivery read is done with.
	doneWith := func(i int) error {
		if i < len(todo)-1 {
			return nil
		}
		return readRest()
	}
	if len(todo) == 0 {
		return nil
	}
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
		if err := readRest(); err != nil {
			return err
		}
		release()
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

	var split []river.InsertManyParams
	// waitOn: the batch waits for its probe's retry at at, behind other
	// endpoints' first attempts. A job that is that batch already (the
	// same deliveries, at BehindPriority) is snoozed: one store write,
	// where completing it and inserting its successor took four on SQLite
	// (River's completer still visits a job completed in our write).
	var later bool
	var laterAt time.Time
	waitOn := func(ids []int64, at time.Time) {
		if job.Priority == BehindPriority && slices.Equal(ids, job.Args.IDs) {
			later, laterAt = true, at
			return
		}
		split = append(split, laterBatch(job, ids, at))
	}
	deadline := time.Now().Add(w.opts.Timeout)
	// at zero: due now (River makes a job inserted with a scheduled_at
	// "scheduled", which waits for its scheduler's next run).
	goOn := func(d store.Delivery, attemptsLeft int, at time.Time) {
		split = append(split, AloneParams(d, attemptsLeft, at))
	}
deliveries:
	for i := 0; i < len(todo); i++ {
		d := todo[i]
		attempt := 1
		if d.Attempts > 0 {
			switch {
			case carried(d):
				if err := doneWith(i); err != nil {
					return err
				}
				continue
			case i == 0 && d.State == store.StateFailed && d.LastStatus == 0:
				// The batch's probe: its first delivery got no answer, and
				// the rest wait with it (see below). It is retried here
				// when due, or the batch waits on with it.
				if d.NextAttemptAt.After(time.Now()) {
					waitOn(append(ids(todo), unread...), d.NextAttemptAt)
					break deliveries
				}
				attempt = d.Attempts + 1
			default:
				// A batch run again after this one's failure was recorded
				// and before the jobs it left were: the Worker takes it on.
				goOn(d, d.MaxAttempts-d.Attempts, d.NextAttemptAt)
				if err := doneWith(i); err != nil {
					return err
				}
				continue
			}
		}
		if !ep.Subscribed(d.Event) || time.Now().After(deadline) {
			// The Worker cancels or attempts it.
			goOn(d, d.MaxAttempts-d.Attempts, d.NextAttemptAt)
			if err := doneWith(i); err != nil {
				return err
			}
			continue
		}
		start := time.Now()
		resp, sendErr := w.opts.Sender.Send(ctx, Request{URL: ep.URL, Secret: ep.Secret, DeliveryID: d.UUID, Body: d.Payload})
		elapsed := time.Since(start)
		w.opts.Limiter.Result(key, sendErr == nil && resp.OK())
		if sendErr != nil && ctx.Err() != nil {
			// Stopping or timed out: the batch runs again; what was
			// recorded delivered is skipped then.
			return sendErr
		}
		out, aerr := w.outcome(ctx, d, ep, attempt, attempt >= d.MaxAttempts, resp, sendErr)
		out.Attempt = &store.Attempt{Attempt: attempt, At: start.UTC(), Status: resp.Status, Error: errText(aerr), Duration: elapsed}
		w.reportAttempt(d, key, attempt, start, elapsed, resp.Status, out.State, aerr)
		recorded = append(recorded, w.opts.Records.Add(out))
		if out.State == store.StateSucceeded {
			if err := doneWith(i); err != nil {
				return err
			}
			continue
		}
		// The first failure. When the endpoint did not answer at all, the
		// rest wait with this delivery, still a batch and not attempted,
		// and it probes the endpoint at each of its retries: a dead
		// endpoint's backlog costs an attempt per batch and retry. If its
		// schedule runs out unanswered, the rest are dead with it. When
		// the endpoint answered, this delivery (if it has attempts left)
		// and the rest go on alone.
		rest := todo[i+1:]
		if sendErr != nil && out.State == store.StateFailed {
			waitOn(append(append([]int64{d.ID}, ids(rest)...), unread...), out.NextAttemptAt)
			break
		}
		if out.State == store.StateFailed {
			goOn(d, d.MaxAttempts-attempt, out.NextAttemptAt)
		}
		if err := readRest(); err != nil {
			return err
		}
		for _, r := range todo[i+1:] {
			if carried(r) {
				continue
			}
			if sendErr != nil && out.State == store.StateDead && r.Attempts == 0 {
				err := fmt.Errorf("not attempted: the endpoint answered none of the %d attempts of delivery %s, ahead of it in its batch", attempt, d.UUID)
				w.report(Result{Endpoint: key, DeliveryID: r.UUID, Attempt: 1, Start: time.Now(), Err: err, Outcome: Dead})
				recorded = append(recorded, w.opts.Records.Add(store.Outcome{ID: r.ID, State: store.StateDead, Error: err.Error()}))
				continue
			}
			goOn(r, r.MaxAttempts-r.Attempts, time.Time{})
		}
		break
	}
	release() // the sends are over (Worker.enter says why)
	var finished <-chan error
	if len(split) > 0 {
		// Completed with its follow-ups, or neither: run again, it does
		// not fork its deliveries twice.
		finished = w.opts.Records.Finish(ctx, job.JobRow, split)
	}
	if err := waitAll(); err != nil {
		return err
	}
	if finished != nil {
		if err := w.wait(ctx, finished); err != nil {
			return fmt.Errorf("storing the deliveries that go on without the batch: %w", err)
		}
	}
	if later {
		return river.JobSnooze(max(time.Until(laterAt), 0))
	}
	return nil
}

// carried reports whether a job of its own carries d, a delivery of a
// batch already attempted: its retries (the job recorded itself), or a
// replay (pending again). The batch leaves it to that job.
func carried(d store.Delivery) bool {
	return d.Attempts > 0 && (d.JobID != 0 || d.State == store.StatePending)
}

// laterBatch is the job of a batch's deliveries not attempted yet, as job
// carried them, due at at. Like every follow-up job it is not unique
// (River's scheduler checks a unique job's collisions one by one, which on
// SQLite held the store for hundreds of milliseconds at each retry wave of
// a dead endpoint): it is inserted as its batch completes, never twice.
func laterBatch(job *river.Job[BatchArgs], ids []int64, at time.Time) river.InsertManyParams {
	return river.InsertManyParams{Args: BatchArgs{IDs: ids}, InsertOpts: &river.InsertOpts{
		MaxAttempts: job.MaxAttempts,
		Priority:    BehindPriority,
		ScheduledAt: at,
		Tags:        job.Tags,
	}}
}

// pending reads the deliveries of ids that are still to be attempted, in
// ids' order: those recorded final (a batch run again after a crash) or
// deleted are left out.
func (b *BatchWorker) pending(ctx context.Context, ids []int64) ([]store.Delivery, error) {
	ds, err := b.w.opts.Records.ForAttempt(ctx, ids)
	if err != nil {
		return nil, err
	}
	// Ordered in place (the rows of a batch mostly come in its order
	// already), not copied: a batch's deliveries are its largest values.
	pos := make(map[int64]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	slices.SortFunc(ds, func(a, b store.Delivery) int { return pos[a.ID] - pos[b.ID] })
	return slices.DeleteFunc(ds, func(d store.Delivery) bool { return store.Final(d.State) }), nil
}

func ids(ds []store.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}
