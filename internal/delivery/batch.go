package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// BatchKind is the River job kind of a batch: the first attempts of several
// deliveries to one endpoint, stored by one ingest transaction.
//
// River spends an insert, a fetch and a completing UPDATE per job; on
// SQLite those hold its one connection ~400µs, which capped the daemon near
// 1,700 deliveries/s to one endpoint (River alone, inserting while working,
// does ~3,000 jobs/s there). A batch pays them once for up to
// DefaultBatchSize deliveries. Only first attempts are batched: a delivery
// not answered 2xx at its first attempt goes on as a job of its own (Args),
// so retries, the delivery log and replay work on it as on any delivery.
const BatchKind = "chatwoot_delivery_batch"

// DefaultBatchSize is the most deliveries a batch carries (--batch-size).
const DefaultBatchSize = 50

// Kinds are the River job kinds that carry deliveries.
var Kinds = []string{Kind, BatchKind}

// BatchItem is one delivery of a batch.
type BatchItem struct {
	DeliveryID string `json:"delivery_id"`
	Event      string `json:"event"`
	Payload    string `json:"payload"` // a string for the reason given on Args
}

// BatchArgs is a batch: deliveries to one endpoint, in ingest order.
type BatchArgs struct {
	AccountID  int64       `json:"account_id"`
	EndpointID int64       `json:"endpoint_id"`
	Items      []BatchItem `json:"items"`
}

// Kind implements river.JobArgs.
func (BatchArgs) Kind() string { return BatchKind }

// Key returns the endpoint the batch goes to.
func (a BatchArgs) Key() endpoints.Key {
	return endpoints.Key{AccountID: a.AccountID, ID: a.EndpointID}
}

// Delivery returns item i as a delivery of its own.
func (a BatchArgs) Delivery(i int) Args {
	it := a.Items[i]
	return Args{DeliveryID: it.DeliveryID, AccountID: a.AccountID, EndpointID: a.EndpointID, Event: it.Event, Payload: it.Payload}
}

// Coalesce groups the plain deliveries of params (Args without an
// Idempotency-Key) by endpoint into batches of at most size deliveries,
// keeping their order; a batch takes the insert options of the first
// delivery of its endpoint. A delivery alone for its endpoint stays a job
// of its own, and so does every idempotent one (its uniqueness is per
// delivery). With size < 2 params come back as they are.
func Coalesce(params []river.InsertManyParams, size int) []river.InsertManyParams {
	if size < 2 || len(params) < 2 {
		return params
	}
	type group struct {
		opts  *river.InsertOpts
		items []int // indexes into params
	}
	groups := map[endpoints.Key]*group{}
	var order []endpoints.Key
	out := make([]river.InsertManyParams, 0, len(params))
	for i, p := range params {
		a, ok := p.Args.(Args)
		if !ok || p.InsertOpts == nil || p.InsertOpts.UniqueOpts.ByArgs || p.InsertOpts.MaxAttempts < 2 {
			out = append(out, p)
			continue
		}
		g := groups[a.Key()]
		if g == nil {
			g = &group{opts: p.InsertOpts}
			groups[a.Key()] = g
			order = append(order, a.Key())
		}
		g.items = append(g.items, i)
	}
	for _, k := range order {
		g := groups[k]
		for len(g.items) > 0 {
			n := min(size, len(g.items))
			chunk := g.items[:n]
			g.items = g.items[n:]
			if n == 1 {
				out = append(out, params[chunk[0]])
				continue
			}
			b := BatchArgs{AccountID: k.AccountID, EndpointID: k.ID, Items: make([]BatchItem, n)}
			for j, i := range chunk {
				a := params[i].Args.(Args)
				b.Items[j] = BatchItem{DeliveryID: a.DeliveryID, Event: a.Event, Payload: a.Payload}
			}
			out = append(out, river.InsertManyParams{Args: b, InsertOpts: &river.InsertOpts{MaxAttempts: g.opts.MaxAttempts, Priority: g.opts.Priority, Tags: g.opts.Tags}})
		}
	}
	return out
}

// MetadataSplit is the batch job metadata key listing the delivery ids
// that went on as jobs of their own; the others of a completed batch were
// delivered at their first attempt.
const MetadataSplit = "split"

// MetadataDelivered is the batch job metadata key holding, by delivery id,
// the attempt of a delivery answered 2xx but not 200 (a 200 is implied).
const MetadataDelivered = "delivered"

// BatchMetadata is what the batch worker writes into a batch job's metadata.
type BatchMetadata struct {
	Split     []string                 `json:"split,omitempty"`
	Delivered map[string]AttemptRecord `json:"delivered,omitempty"`
	Snoozes   int                      `json:"snoozes"`
}

// ParseBatchMetadata reads a batch job's metadata.
func ParseBatchMetadata(job *rivertype.JobRow) BatchMetadata {
	var m BatchMetadata
	if len(job.Metadata) > 2 {
		_ = json.Unmarshal(job.Metadata, &m)
	}
	return m
}

// BatchWorker makes the first attempt of each delivery of a batch, one
// after the other over one of the endpoint's limiter slots. A delivery
// answered 2xx is done. At the first one that is not — or once the batch
// has taken --timeout — that delivery (with its attempt) and the rest of
// the batch (not attempted) are inserted as delivery jobs of their own,
// which the Worker takes on from there.
type BatchWorker struct {
	river.WorkerDefaults[BatchArgs]
	w      *Worker
	insert func(context.Context, []river.InsertManyParams) error
}

// NewBatchWorker returns a BatchWorker attempting deliveries as w does;
// insert stores the deliveries that go on alone (a River client's
// InsertMany).
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
	w, a := b.w, &job.Args
	key := a.Key()
	ep, status := w.opts.Endpoints.Lookup(key)
	if status != endpoints.Active {
		err := map[endpoints.Status]error{endpoints.Disabled: ErrEndpointDisabled, endpoints.Refused: ErrEndpointRefused}[status]
		if err == nil {
			err = ErrEndpointRemoved
		}
		for range a.Items {
			w.report(Result{Endpoint: key, Attempt: 1, Start: time.Now(), Err: err, Outcome: Cancelled})
		}
		return river.JobCancel(err)
	}
	if _, paused := w.opts.Endpoints.PausedAt(key); paused {
		return river.JobSnooze(PauseSnooze)
	}
	meta := ParseBatchMetadata(job.JobRow)
	release, snooze, err := w.opts.Limiter.Acquire(ctx, key, meta.Snoozes)
	if err != nil {
		return err
	}
	if snooze > 0 {
		return river.JobSnooze(snooze)
	}
	defer release()

	var (
		split     []river.InsertManyParams
		splitIDs  []string
		delivered map[string]AttemptRecord
		deadline  = time.Now().Add(w.opts.Timeout)
	)
	// at zero: due now (River makes a job inserted with a scheduled_at
	// "scheduled", which waits for its scheduler's next run).
	goOn := func(i int, rec *AttemptRecord, at time.Time) {
		split = append(split, continuation(a.Delivery(i), job.MaxAttempts, rec, at))
		splitIDs = append(splitIDs, a.Items[i].DeliveryID)
	}
	for i, it := range a.Items {
		if !ep.Subscribed(it.Event) || time.Now().After(deadline) {
			goOn(i, nil, time.Time{}) // the Worker cancels or attempts it
			continue
		}
		start := time.Now()
		resp, sendErr := w.opts.Sender.Send(ctx, Request{URL: ep.URL, Secret: ep.Secret, DeliveryID: it.DeliveryID, Body: []byte(it.Payload)})
		elapsed := time.Since(start)
		if sendErr != nil && ctx.Err() != nil {
			// Stopping or timed out: the batch runs again, its delivered
			// ones too, as first attempts (as after its daemon died).
			return sendErr
		}
		rec := AttemptRecord{Attempt: 1, At: start.UTC(), Status: resp.Status, DurationMS: float64(elapsed.Microseconds()) / 1000}
		if sendErr == nil && resp.OK() {
			if resp.Status != http.StatusOK {
				if delivered == nil {
					delivered = map[string]AttemptRecord{}
				}
				delivered[it.DeliveryID] = rec
			}
			w.logBatch(hclog.Debug, "delivered", job, ep, it, "status", resp.Status, "elapsed", elapsed)
			w.report(Result{Endpoint: key, DeliveryID: it.DeliveryID, Attempt: 1, Start: start, Sent: true, Status: resp.Status, Duration: elapsed, Outcome: Delivered})
			continue
		}

		// The first failure: this delivery and the rest go on alone.
		logf := func(level hclog.Level, msg string, args ...any) { w.logBatch(level, msg, job, ep, it, args...) }
		gone, wait, err := w.judge(ctx, ep, resp, sendErr, logf)
		rec.Error = err.Error()
		next := time.Now().Add(w.opts.Schedule.Delay(1))
		switch {
		case gone:
			next = time.Time{} // the Worker cancels it: the endpoint is disabled
		case wait > 0:
			var d time.Duration
			d, err = w.retryAfter(ep, 1, wait, err)
			rec.Error = err.Error()
			next = time.Now().Add(d)
			logf(hclog.Warn, "delivery attempt failed; will retry", "error", err, "retry_after", wait, "next_attempt_in", d.Round(time.Millisecond))
		default:
			logf(hclog.Warn, "delivery attempt failed; will retry", "error", err)
		}
		w.report(Result{Endpoint: key, DeliveryID: it.DeliveryID, Attempt: 1, Start: start, Sent: true, Status: resp.Status, Duration: elapsed, Err: err, Outcome: Failed})
		goOn(i, &rec, next)
		for j := i + 1; j < len(a.Items); j++ {
			goOn(j, nil, time.Time{})
		}
		break
	}

	if len(split) > 0 {
		if err := b.insert(ctx, split); err != nil {
			return fmt.Errorf("storing the deliveries that go on alone: %w", err)
		}
		_ = river.MetadataSet(ctx, MetadataSplit, splitIDs)
	}
	if delivered != nil {
		_ = river.MetadataSet(ctx, MetadataDelivered, delivered)
	}
	return nil
}

// continuation is the job of a batch's delivery going on alone: after its
// first attempt rec (nil: not attempted yet), due at at (zero: now). It is unique by
// delivery id, so a batch that runs again cannot fork a delivery twice.
func continuation(a Args, maxAttempts int, rec *AttemptRecord, at time.Time) river.InsertManyParams {
	meta := metadata{}
	if rec != nil {
		meta.PriorAttempts = 1
		meta.Attempts = []AttemptRecord{*rec}
	}
	raw, _ := json.Marshal(meta)
	return river.InsertManyParams{Args: a, InsertOpts: &river.InsertOpts{
		MaxAttempts: maxAttempts - meta.PriorAttempts,
		ScheduledAt: at,
		Tags:        []string{EndpointTag(a.Key())},
		Metadata:    raw,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: rivertype.JobStates()},
	}}
}

// logBatch logs the first attempt of one delivery of a batch.
func (w *Worker) logBatch(level hclog.Level, msg string, job *river.Job[BatchArgs], ep endpoints.Endpoint, it BatchItem, args ...any) {
	if w.log.GetLevel() > level {
		return // the hot path (delivered, at debug) builds no log line
	}
	w.log.Log(level, msg, append([]any{
		"delivery", it.DeliveryID, "endpoint", ep.String(), "event", it.Event,
		"attempt", 1, "max_attempts", job.MaxAttempts, "batch", job.ID,
	}, args...)...)
}
