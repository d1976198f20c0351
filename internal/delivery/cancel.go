package delivery

import (
	"context"
	"errors"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// Jobs is the part of a River client the canceller uses.
type Jobs interface {
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
}

// CancelPending cancels the deliveries to k that wait for an attempt
// (available, scheduled or retryable), alone or in batches. One in flight
// finishes its attempt and is cancelled by Work at its next one. It returns
// how many jobs it cancelled.
func CancelPending(ctx context.Context, jobs Jobs, k endpoints.Key) (int, error) {
	n := 0
	for range 1000 { // a bound, in case a job keeps its state
		res, err := jobs.JobList(ctx, river.NewJobListParams().
			Kinds(Kinds...).
			TagsAny(EndpointTag(k)).
			States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending).
			First(500))
		if err != nil {
			return n, err
		}
		if len(res.Jobs) == 0 {
			return n, nil
		}
		for _, j := range res.Jobs {
			if _, err := jobs.JobCancel(ctx, j.ID); err != nil && !errors.Is(err, river.ErrNotFound) {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
