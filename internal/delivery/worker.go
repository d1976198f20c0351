package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// Endpoints is the registry as the worker sees it.
type Endpoints interface {
	Lookup(k endpoints.Key) (endpoints.Endpoint, endpoints.Status)
	Disable(ep endpoints.Endpoint) bool
	PausedAt(k endpoints.Key) (time.Time, bool)
}

// PauseSnooze is how long a delivery of a paused endpoint waits before it
// looks again; resuming re-queues the waiting ones at once, in order.
const PauseSnooze = 5 * time.Minute

// Records is the store as the workers see it: the deliveries to attempt,
// and where their outcomes go (a store.Recorder), with the jobs a batch
// leaves (those of its deliveries that go on without it), inserted as the
// batch's job is completed (store.Recorder.Finish).
type Records interface {
	ForAttempt(ctx context.Context, ids []int64) ([]store.Delivery, error)
	Add(o store.Outcome) <-chan error
	Finish(ctx context.Context, job *rivertype.JobRow, params []river.InsertManyParams) <-chan error
}

// WorkerOptions configures a Worker.
type WorkerOptions struct {
	Records   Records
	Endpoints Endpoints
	Sender    *Sender
	Limiter   *Limiter

	// Timeout is the sender's per-attempt timeout; the job's own timeout
	// adds the limiter's wait and a margin to it.
	Timeout time.Duration

	// Schedule is the retry schedule, for a batch's first attempts (the
	// River client's RetryPolicy schedules the Worker's).
	Schedule Schedule

	// OnDisabled is called once when an endpoint answered 410 Gone and got
	// disabled, to cancel its other pending deliveries; ctx is the job's
	// (store.ClientFromContext finds the River client in it).
	OnDisabled func(ctx context.Context, ep endpoints.Endpoint)

	// OnResult, when set, is called after every attempt and every delivery
	// cancelled without one (endpoint health, metrics). It must be quick:
	// it runs on the worker's goroutine.
	OnResult func(Result)

	Logger hclog.Logger
}

// MaxRetryAfter caps how long an endpoint's Retry-After can postpone a retry.
const MaxRetryAfter = 24 * time.Hour

// Worker makes one attempt of a delivery per Work call.
type Worker struct {
	river.WorkerDefaults[Args]
	opts WorkerOptions
	log  hclog.Logger
}

// NewWorker returns a Worker.
func NewWorker(opts WorkerOptions) *Worker {
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	return &Worker{opts: opts, log: log.Named("delivery")}
}

// JobTimeout is how long one Work call may take: a queue wait plus an attempt.
func (w *Worker) JobTimeout() time.Duration {
	return w.opts.Limiter.MaxQueue() + w.opts.Timeout + 5*time.Second
}

// Timeout implements river.Worker.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return w.JobTimeout() }

// NextRetry is the time Work recorded as the delivery's next attempt: the
// schedule's for its attempt number, or later for an endpoint's
// Retry-After (Schedule.RetryAfter bounds it). Zero (a job rescued after
// its daemon died) leaves it to the client's RetryPolicy.
func (w *Worker) NextRetry(job *river.Job[Args]) time.Time { return job.Args.retryAt }

// Errors of attempts that will not be retried.
var (
	ErrEndpointRemoved  = errors.New("the webhook no longer exists upstream")
	ErrEndpointDisabled = errors.New("the endpoint is disabled: it answered 410 Gone; it is enabled again when its webhook changes upstream or by POST /v1/endpoints/{id}/enable")
	ErrUnsubscribed     = errors.New("the webhook no longer subscribes to this event")
	ErrEndpointRefused  = errors.New("the daemon refuses this endpoint (GET /v1/endpoints says why, e.g. its destination is the daemon itself)")
	ErrDeliveryDeleted  = errors.New("the delivery is no longer stored (deleted by retention)")
)

// Work implements river.Worker: one attempt of the delivery, recorded in
// the store before it returns.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	key, release, err := w.enter(ctx, job.JobRow)
	if err != nil {
		return err
	}
	defer release()
	ds, err := w.opts.Records.ForAttempt(ctx, []int64{job.Args.ID})
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return river.JobCancel(ErrDeliveryDeleted)
	}
	d := ds[0]
	switch d.State {
	case store.StateSucceeded:
		return nil // recorded delivered (its job's completion was lost): never sent again
	case store.StateCancelled, store.StateDead:
		return river.JobCancel(fmt.Errorf("the delivery is %s", d.State))
	}
	attempt := d.Attempts + 1
	ep, status := w.opts.Endpoints.Lookup(key)
	if err := w.refusal(status, ep, d.Event); err != nil {
		release()
		w.report(Result{Endpoint: key, DeliveryID: d.UUID, Attempt: attempt, Start: time.Now(), Err: err, Outcome: Cancelled})
		if rerr := w.wait(ctx, w.opts.Records.Add(store.Outcome{ID: d.ID, State: store.StateCancelled, Attempts: d.Attempts, JobID: job.ID, Error: err.Error()})); rerr != nil {
			return rerr
		}
		return river.JobCancel(err)
	}

	start := time.Now()
	resp, sendErr := w.opts.Sender.Send(ctx, Request{URL: ep.URL, Secret: ep.Secret, DeliveryID: d.UUID, Body: d.Payload})
	elapsed := time.Since(start)
	w.opts.Limiter.Result(key, sendErr == nil && resp.OK())
	release() // enter says why
	if sendErr != nil && ctx.Err() != nil {
		return sendErr // stopping or timed out by River: not an attempt of the endpoint's
	}
	final := job.Attempt >= job.MaxAttempts
	out, err := w.outcome(ctx, d, ep, attempt, final, resp, sendErr)
	out.JobID = job.ID
	out.Attempt = &store.Attempt{Attempt: attempt, At: start.UTC(), Status: resp.Status, Error: errText(err), Duration: elapsed}
	job.Args.retryAt = out.NextAttemptAt
	w.reportAttempt(d, key, attempt, start, elapsed, resp.Status, out.State, err)
	if rerr := w.wait(ctx, w.opts.Records.Add(out)); rerr != nil {
		return rerr // not recorded: River retries, and the attempt may be repeated
	}
	return err
}

// errUntagged cancels a job that does not name its endpoint; every job
// the daemon inserts carries its EndpointTag.
var errUntagged = errors.New("internal error: a delivery job without its endpoint tag")

// enter takes one of the endpoint's slots (Limiter) for a job, from the
// endpoint its tag names, before anything is read from the store; a
// paused endpoint's job is snoozed. The slot is held through the reads
// and the requests, not the wait for the outcome's commit: so a wave of
// one endpoint's due jobs (River makes retries due every few seconds, all
// at once) waits for that endpoint's slots, not in the store connection's
// queue ahead of other endpoints' deliveries. release may be called more
// than once.
func (w *Worker) enter(ctx context.Context, row *rivertype.JobRow) (key endpoints.Key, release func(), err error) {
	key, ok := TagKey(row.Tags)
	if !ok {
		return key, nil, river.JobCancel(errUntagged)
	}
	if _, paused := w.opts.Endpoints.PausedAt(key); paused {
		return key, nil, river.JobSnooze(PauseSnooze)
	}
	rel, snooze, err := w.opts.Limiter.Acquire(ctx, key, parseMetadata(row).Snoozes)
	if err != nil {
		return key, nil, err // stopping: River puts the job back without counting the attempt
	}
	if snooze > 0 {
		return key, nil, river.JobSnooze(snooze)
	}
	var once sync.Once
	return key, func() { once.Do(rel) }, nil
}

// wait waits for an outcome's commit.
func (w *Worker) wait(ctx context.Context, done <-chan error) error {
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("recording the outcome: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refusal is why a delivery to ep (in status) of event is cancelled
// without an attempt; nil when it is to be attempted.
func (w *Worker) refusal(status endpoints.Status, ep endpoints.Endpoint, event string) error {
	switch {
	case status == endpoints.Removed:
		return ErrEndpointRemoved
	case status == endpoints.Disabled:
		return ErrEndpointDisabled
	case status == endpoints.Refused:
		return ErrEndpointRefused
	case !ep.Subscribed(event):
		return ErrUnsubscribed
	}
	return nil
}

func errText(err error) string {
	var cancelled *river.JobCancelError
	if errors.As(err, &cancelled) {
		err = cancelled.Unwrap()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// outcome turns one attempt's answer into the delivery's new record and
// what Work returns, and logs it. final: the delivery has no attempt left.
func (w *Worker) outcome(ctx context.Context, d store.Delivery, ep endpoints.Endpoint, attempt int, final bool, resp Response, sendErr error) (store.Outcome, error) {
	logAttempt := func(level hclog.Level, msg string, args ...any) {
		if w.log.GetLevel() > level {
			return // the hot path (delivered, at debug) builds no log line
		}
		w.log.Log(level, msg, append([]any{
			"delivery", d.UUID, "endpoint", ep.String(), "event", d.Event, "attempt", attempt, "max_attempts", d.MaxAttempts,
		}, args...)...)
	}
	out := store.Outcome{ID: d.ID, Attempts: attempt, Status: resp.Status}
	if sendErr == nil && resp.OK() {
		logAttempt(hclog.Debug, "delivered", "status", resp.Status, "elapsed", resp.Elapsed)
		out.State = store.StateSucceeded
		return out, nil
	}
	gone, wait, err := w.judge(ctx, ep, resp, sendErr, logAttempt)
	if gone {
		err = fmt.Errorf("endpoint answered 410 Gone: %w", ErrEndpointDisabled)
		out.State, out.Error = store.StateCancelled, err.Error()
		return out, river.JobCancel(err)
	}
	next := w.opts.Schedule.Delay(attempt)
	var kv []any
	if wait > 0 {
		next, err = w.retryAfter(ep, attempt, wait, err)
		kv = []any{"retry_after", wait, "next_attempt_in", next.Round(time.Millisecond)}
	} else if sendErr == nil {
		kv = []any{"status", resp.Status}
	}
	out.Error = err.Error()
	if final {
		logAttempt(hclog.Error, "delivery dead: retry schedule exhausted; kept for replay", append(kv, "error", err)...)
		out.State = store.StateDead
		return out, err
	}
	logAttempt(hclog.Warn, "delivery attempt failed; will retry", append(kv, "error", err)...)
	out.State, out.NextAttemptAt = store.StateFailed, time.Now().Add(next)
	return out, err
}

// judge reads an attempt not answered 2xx, for the Worker and the
// BatchWorker alike: it returns the attempt's error; on 410 Gone it
// disables the endpoint (the first time: logged through logf, OnDisabled
// called) and reports gone; on 429 or 5xx with Retry-After it holds the
// endpoint back that long (capped) and returns the wait.
func (w *Worker) judge(ctx context.Context, ep endpoints.Endpoint, resp Response, sendErr error, logf func(hclog.Level, string, ...any)) (gone bool, wait time.Duration, err error) {
	if sendErr != nil {
		return false, 0, fmt.Errorf("POST %s: %w", chatwoot.RedactURL(ep.URL), unwrapURLError(sendErr))
	}
	err = fmt.Errorf("endpoint answered %d%s", resp.Status, describe(resp))
	switch {
	case resp.Status == http.StatusGone:
		if w.opts.Endpoints.Disable(ep) {
			logf(hclog.Warn, "endpoint answered 410 Gone: disabled until its webhook changes upstream; its pending deliveries are cancelled")
			if w.opts.OnDisabled != nil {
				w.opts.OnDisabled(ctx, ep)
			}
		}
		return true, 0, err
	case resp.HasRetry && (resp.Status == http.StatusTooManyRequests || resp.Status >= 500):
		wait = min(max(resp.RetryAfter, time.Second), MaxRetryAfter)
	}
	return false, wait, err
}

// retryAfter turns an endpoint's Retry-After into the delay before the
// delivery's next attempt (Schedule.RetryAfter), holds the endpoint back
// that long, and says in the attempt's error when it was capped.
func (w *Worker) retryAfter(ep endpoints.Endpoint, failures int, wait time.Duration, err error) (time.Duration, error) {
	next, capped := w.opts.Schedule.RetryAfter(failures, wait)
	w.opts.Limiter.Pause(ep.Key(), time.Now().Add(min(wait, next)))
	if capped {
		err = fmt.Errorf("%w; its Retry-After of %s is past the %s the retry schedule has left, so the next attempt is in %s",
			err, wait, w.opts.Schedule.Remaining(failures), next.Round(time.Second))
	}
	return next, err
}

func (w *Worker) report(r Result) {
	if w.opts.OnResult != nil {
		w.opts.OnResult(r)
	}
}

// reportAttempt reports an attempt once its outcome is known.
func (w *Worker) reportAttempt(d store.Delivery, key endpoints.Key, attempt int, start time.Time, elapsed time.Duration, status int, state string, err error) {
	if w.opts.OnResult == nil {
		return
	}
	r := Result{Endpoint: key, DeliveryID: d.UUID, Attempt: attempt, Start: start, Sent: true, Status: status, Duration: elapsed}
	var cancelled *river.JobCancelError
	if errors.As(err, &cancelled) {
		err = cancelled.Unwrap()
	}
	r.Err = err
	switch state {
	case store.StateSucceeded:
		r.Outcome = Delivered
	case store.StateCancelled:
		r.Outcome = Cancelled
	case store.StateDead:
		r.Outcome = Dead
	default:
		r.Outcome = Failed
	}
	w.opts.OnResult(r)
}

func describe(r Response) string {
	s := ""
	if r.Status >= 300 && r.Status <= 399 {
		s = " (a redirect: deliveries never follow redirects)"
	}
	if r.Snippet != "" {
		s += fmt.Sprintf(": %q", r.Snippet)
	}
	return s
}

// unwrapURLError drops url.Error's "Post <full url>:" prefix, which would
// put the endpoint's query string into the stored attempt error.
func unwrapURLError(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err
	}
	return err
}
