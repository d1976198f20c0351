package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// cancelReason is the error a delivery cancelled for reason records.
func cancelReason(reason string) string {
	if reason == CancelGone {
		return "endpoint answered 410 Gone: " + ErrEndpointDisabled.Error()
	}
	return ErrEndpointRemoved.Error()
}

// CancelKind is the River job kind that cancels an endpoint's pending
// deliveries.
const CancelKind = "chatwoot_cancel_endpoint"

// Reasons for cancelling an endpoint's pending deliveries.
const (
	CancelRemoved = "removed" // the webhook is no longer listed upstream
	CancelGone    = "gone"    // the endpoint answered 410 Gone
)

// CancelArgs asks for the pending deliveries of one endpoint to be
// cancelled. Every replica reconciles, so every replica notices a removed
// webhook; inserting this job instead of cancelling on the spot lets River's
// unique insert keep one request per endpoint and reason per CancelPeriod,
// worked by one replica, retried if that replica dies. A delivery that
// escapes it is cancelled at its next attempt, which looks the endpoint up
// in that replica's own registry.
type CancelArgs struct {
	AccountID  int64  `json:"account_id"`
	EndpointID int64  `json:"endpoint_id"`
	Reason     string `json:"reason"`
}

// CancelPeriod is the window in which requests for the same endpoint and
// reason are one job: replicas notice a removal within one reconcile
// interval of each other. An endpoint disabled by 410 again within the same
// window gets no second job; its deliveries are cancelled at their attempts.
const CancelPeriod = 10 * time.Minute

// Kind implements river.JobArgs.
func (CancelArgs) Kind() string { return CancelKind }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (CancelArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 5,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByPeriod: CancelPeriod},
	}
}

// Key returns the endpoint whose deliveries are cancelled.
func (a CancelArgs) Key() endpoints.Key {
	return endpoints.Key{AccountID: a.AccountID, ID: a.EndpointID}
}

// CancelParams returns the inserts asking to cancel the pending deliveries
// of eps.
func CancelParams(eps []endpoints.Endpoint, reason string) []river.InsertManyParams {
	params := make([]river.InsertManyParams, len(eps))
	for i, ep := range eps {
		params[i] = river.InsertManyParams{Args: CancelArgs{AccountID: ep.AccountID, EndpointID: ep.ID, Reason: reason}}
	}
	return params
}

// CancelWorker works CancelArgs jobs with CancelPending.
type CancelWorker struct {
	river.WorkerDefaults[CancelArgs]

	// Jobs returns the River client working the job, from its context
	// (the client is created after its workers).
	Jobs func(ctx context.Context) (Jobs, error)
	// Records marks the endpoint's waiting deliveries cancelled, after
	// their jobs are (see Work).
	Records interface {
		CancelWaiting(ctx context.Context, e store.Endpoint, why string) (int, error)
	}
	Logger hclog.Logger
}

// Work implements river.Worker. The jobs go first, then the records: a
// job cancelled was committed, with its deliveries, before the records
// are read, so those are cancelled too. In the other order a delivery
// committed between the two kept its record pending and lost its job.
// One committed after the jobs keeps its job, which cancels it at its
// turn (or finds it cancelled).
func (w *CancelWorker) Work(ctx context.Context, job *river.Job[CancelArgs]) error {
	k := job.Args.Key()
	jobs, err := w.Jobs(ctx)
	if err != nil {
		return err
	}
	n, err := CancelPending(ctx, jobs, job.Args.Key())
	if err != nil {
		return err
	}
	if w.Records != nil {
		if n, err = w.Records.CancelWaiting(ctx, store.Endpoint{AccountID: k.AccountID, WebhookID: k.ID}, cancelReason(job.Args.Reason)); err != nil {
			return err
		}
	}
	if n > 0 && w.Logger != nil {
		w.Logger.Info("pending deliveries cancelled", "endpoint", fmt.Sprintf("webhook %d of account %d", job.Args.EndpointID, job.Args.AccountID), "reason", job.Args.Reason, "count", n)
	}
	return nil
}
