package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
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

// WorkerOptions configures a Worker.
type WorkerOptions struct {
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

// NextRetry honours the endpoint's Retry-After when it sent one, as
// Schedule.RetryAfter bounds it; otherwise the client's RetryPolicy (the
// schedule) decides.
func (w *Worker) NextRetry(job *river.Job[Args]) time.Time {
	if job.Args.retryAfter > 0 {
		return time.Now().Add(job.Args.retryAfter)
	}
	return time.Time{}
}

// Errors of attempts that will not be retried.
var (
	ErrEndpointRemoved  = errors.New("the webhook no longer exists upstream")
	ErrEndpointDisabled = errors.New("the endpoint is disabled: it answered 410 Gone; it is enabled again when its webhook changes upstream or by POST /v1/endpoints/{id}/enable")
	ErrUnsubscribed     = errors.New("the webhook no longer subscribes to this event")
	ErrEndpointRefused  = errors.New("the daemon refuses this endpoint (GET /v1/endpoints says why, e.g. its destination is the daemon itself)")
)

// Work implements river.Worker.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	a := &job.Args
	key := a.Key()
	meta := parseMetadata(job.JobRow)
	attempt := job.Attempt + meta.PriorAttempts // the delivery's, counting a batch's
	ep, status := w.opts.Endpoints.Lookup(key)
	cancel := func(err error) error {
		w.report(Result{Endpoint: key, Attempt: attempt, Start: time.Now(), Err: err, Outcome: Cancelled})
		return river.JobCancel(err)
	}
	switch {
	case status == endpoints.Removed:
		return cancel(ErrEndpointRemoved)
	case status == endpoints.Disabled:
		return cancel(ErrEndpointDisabled)
	case status == endpoints.Refused:
		return cancel(ErrEndpointRefused)
	case !ep.Subscribed(a.Event):
		return cancel(ErrUnsubscribed)
	}
	if _, paused := w.opts.Endpoints.PausedAt(key); paused {
		return river.JobSnooze(PauseSnooze)
	}

	release, snooze, err := w.opts.Limiter.Acquire(ctx, key, meta.Snoozes)
	if err != nil {
		return err // stopping: River puts the job back without counting the attempt
	}
	if snooze > 0 {
		return river.JobSnooze(snooze)
	}
	defer release()

	start := time.Now()
	resp, sendErr := w.opts.Sender.Send(ctx, Request{URL: ep.URL, Secret: ep.Secret, DeliveryID: a.DeliveryID, Body: []byte(a.Payload)})
	elapsed := time.Since(start)
	if sendErr != nil && ctx.Err() != nil {
		return sendErr // stopping or timed out by River: not an attempt of the endpoint's
	}
	if sendErr != nil || resp.Status != http.StatusOK {
		// A 200 is implied by the completed job (see Attempts): writing
		// its record would make River merge metadata in the completing
		// UPDATE, ~15% of the daemon's throughput.
		recordAttempt(ctx, meta.Attempts, AttemptRecord{Attempt: attempt, At: start.UTC(), Status: resp.Status, DurationMS: float64(elapsed.Microseconds()) / 1000})
	}
	err = w.outcome(ctx, job, attempt, ep, resp, sendErr)
	w.reportAttempt(job, attempt, key, start, elapsed, resp.Status, err)
	return err
}

// outcome turns one attempt's answer into what Work returns, and logs it.
func (w *Worker) outcome(ctx context.Context, job *river.Job[Args], attempt int, ep endpoints.Endpoint, resp Response, sendErr error) error {
	a := &job.Args
	logAttempt := func(level hclog.Level, msg string, args ...any) {
		if w.log.GetLevel() > level {
			return // the hot path (delivered, at debug) builds no log line
		}
		w.log.Log(level, msg, append([]any{
			"delivery", a.DeliveryID, "endpoint", ep.String(), "event", a.Event,
			"attempt", attempt, "max_attempts", job.MaxAttempts + attempt - job.Attempt,
		}, args...)...)
	}
	final := job.Attempt >= job.MaxAttempts
	failed := func(err error, args ...any) error {
		if final {
			logAttempt(hclog.Error, "delivery dead: retry schedule exhausted; kept for replay", append(args, "error", err)...)
		} else {
			logAttempt(hclog.Warn, "delivery attempt failed; will retry", append(args, "error", err)...)
		}
		return err
	}
	if sendErr == nil && resp.OK() {
		logAttempt(hclog.Debug, "delivered", "status", resp.Status, "elapsed", resp.Elapsed)
		return nil
	}
	gone, wait, err := w.judge(ctx, ep, resp, sendErr, logAttempt)
	switch {
	case gone:
		return river.JobCancel(fmt.Errorf("endpoint answered 410 Gone: %w", ErrEndpointDisabled))
	case wait > 0:
		var next time.Duration
		next, err = w.retryAfter(ep, attempt, wait, err)
		a.retryAfter = next
		return failed(err, "retry_after", wait, "next_attempt_in", next.Round(time.Millisecond))
	case sendErr != nil:
		return failed(err)
	}
	return failed(err, "status", resp.Status)
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

// reportAttempt reports an attempt once its outcome is known (err is what
// Work returns).
func (w *Worker) reportAttempt(job *river.Job[Args], attempt int, key endpoints.Key, start time.Time, elapsed time.Duration, status int, err error) {
	if w.opts.OnResult == nil {
		return
	}
	r := Result{Endpoint: key, DeliveryID: job.Args.DeliveryID, Attempt: attempt, Start: start, Sent: true, Status: status, Err: err, Duration: elapsed}
	var cancelled *river.JobCancelError
	switch {
	case err == nil:
		r.Outcome = Delivered
	case errors.As(err, &cancelled):
		r.Outcome, r.Err = Cancelled, cancelled.Unwrap()
	case job.Attempt >= job.MaxAttempts:
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
