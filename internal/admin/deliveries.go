package admin

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
)

// DeliveryJSON is one delivery of the log.
type DeliveryJSON struct {
	// ID is the River job id: use it in /v1/deliveries/{id} (and River's UI).
	ID int64 `json:"id"`
	// DeliveryID is the X-Chatwoot-Delivery header, the same on every attempt.
	DeliveryID string `json:"delivery_id"`
	// State is pending, failed, succeeded, dead or cancelled; RiverState the
	// job's own state.
	State       string        `json:"state"`
	RiverState  string        `json:"river_state"`
	AccountID   int64         `json:"account_id"`
	EndpointID  int64         `json:"endpoint_id"`
	Event       string        `json:"event"`
	CreatedAt   time.Time     `json:"created_at"`
	Attempts    []AttemptJSON `json:"attempts"`
	MaxAttempts int           `json:"max_attempts"`
	// InFlight is true while an attempt runs.
	InFlight bool `json:"in_flight,omitempty"`
	// Batch is how many deliveries the job carries to their first attempt
	// together (delivery.BatchKind); absent for a job of one delivery.
	Batch int `json:"batch,omitempty"`
	// NextAttemptAt is when the next attempt is due, for deliveries waiting
	// for one (it may be in the past: due, not yet picked up).
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	FinalizedAt   *time.Time `json:"finalized_at,omitempty"`
}

// AttemptJSON is one attempt of a delivery.
type AttemptJSON struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	// Status is the endpoint's HTTP status; absent when no answer came.
	Status int `json:"status,omitempty"`
	// DurationMS is how long the attempt took; absent when no record of
	// it exists: an attempt lost with its daemon, or, in the list (the
	// attempt log completes GET /v1/deliveries/{id} only), one answered 200.
	DurationMS *float64 `json:"duration_ms,omitempty"`
	// Error is why the attempt failed; absent for a 2xx.
	Error string `json:"error,omitempty"`
}

func deliveryJSON(j *rivertype.JobRow) DeliveryJSON {
	var args delivery.Args
	_ = json.Unmarshal(j.EncodedArgs, &args)
	d := jobJSON(j)
	d.DeliveryID, d.AccountID, d.EndpointID, d.Event = args.DeliveryID, args.AccountID, args.EndpointID, args.Event
	recs, prior := delivery.Attempts(j)
	d.Attempts = attempts(recs, prior, j.Errors)
	d.MaxAttempts += prior
	return d
}

// jobJSON is what the deliveries of job j share.
func jobJSON(j *rivertype.JobRow) DeliveryJSON {
	d := DeliveryJSON{
		ID: j.ID, State: LogState(j.State), RiverState: string(j.State),
		CreatedAt: j.CreatedAt.UTC(), MaxAttempts: j.MaxAttempts, FinalizedAt: timePtrNil(j.FinalizedAt),
	}
	switch j.State {
	case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending:
		d.NextAttemptAt = timePtr(j.ScheduledAt)
	case rivertype.JobStateRunning:
		d.InFlight = true
	}
	return d
}

// batchJSON returns the deliveries of a batch job still in it: all but
// those gone on alone (delivery.MetadataSplit), which have jobs of their
// own. Only an index given (>= 0) is returned.
func batchJSON(j *rivertype.JobRow, only int) []DeliveryJSON {
	var args delivery.BatchArgs
	_ = json.Unmarshal(j.EncodedArgs, &args)
	meta := delivery.ParseBatchMetadata(j)
	split := make(map[string]bool, len(meta.Split))
	for _, id := range meta.Split {
		split[id] = true
	}
	var out []DeliveryJSON
	for i, it := range args.Items {
		if split[it.DeliveryID] || only >= 0 && i != only {
			continue
		}
		d := jobJSON(j)
		d.DeliveryID, d.AccountID, d.EndpointID, d.Event = it.DeliveryID, args.AccountID, args.EndpointID, it.Event
		d.Batch = len(args.Items)
		var recs []delivery.AttemptRecord
		if j.State == rivertype.JobStateCompleted {
			rec, ok := meta.Delivered[it.DeliveryID]
			if !ok {
				rec = delivery.AttemptRecord{Attempt: j.Attempt, Status: http.StatusOK, Implied: true}
				if j.AttemptedAt != nil {
					rec.At = *j.AttemptedAt
				}
			}
			recs = append(recs, rec)
		}
		d.Attempts = attempts(recs, 0, j.Errors)
		out = append(out, d)
	}
	return out
}

// batchItem returns the index of the delivery id in batch job j, or -1
// when j does not hold it (or no longer: it went on alone).
func batchItem(j *rivertype.JobRow, deliveryID string) int {
	var args delivery.BatchArgs
	if j.Kind != delivery.BatchKind || json.Unmarshal(j.EncodedArgs, &args) != nil {
		return -1
	}
	if slices.Contains(delivery.ParseBatchMetadata(j).Split, deliveryID) {
		return -1
	}
	for i, it := range args.Items {
		if it.DeliveryID == deliveryID {
			return i
		}
	}
	return -1
}

// attempts joins the worker's records (status, duration) with River's
// errors by attempt number; prior is added to River's numbers (attempts
// made by a batch before the job).
func attempts(recs []delivery.AttemptRecord, prior int, errs []rivertype.AttemptError) []AttemptJSON {
	byN := map[int]*AttemptJSON{}
	for _, r := range recs {
		a := &AttemptJSON{Attempt: r.Attempt, At: r.At.UTC(), Status: r.Status, Error: r.Error}
		if !r.Implied { // a 200's duration is not recorded (delivery.MetadataAttempts)
			ms := r.DurationMS
			a.DurationMS = &ms
		}
		byN[r.Attempt] = a
	}
	for _, e := range errs {
		n := e.Attempt + prior
		a := byN[n]
		if a == nil {
			a = &AttemptJSON{Attempt: n, At: e.At.UTC()}
			byN[n] = a
		}
		a.Error = e.Error
	}
	out := make([]AttemptJSON, 0, len(byN))
	for _, a := range byN {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Attempt < out[k].Attempt })
	return out
}

func timePtrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return timePtr(*t)
}
