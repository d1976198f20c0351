package admin

import (
	"encoding/json"
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
	// it exists: an attempt lost with its daemon, or one answered 200
	// (not recorded, for throughput: see delivery.MetadataAttempts).
	DurationMS *float64 `json:"duration_ms,omitempty"`
	// Error is why the attempt failed; absent for a 2xx.
	Error string `json:"error,omitempty"`
}

func deliveryJSON(j *rivertype.JobRow) DeliveryJSON {
	var args delivery.Args
	_ = json.Unmarshal(j.EncodedArgs, &args)
	d := DeliveryJSON{
		ID: j.ID, DeliveryID: args.DeliveryID, State: LogState(j.State), RiverState: string(j.State),
		AccountID: args.AccountID, EndpointID: args.EndpointID, Event: args.Event,
		CreatedAt: j.CreatedAt.UTC(), Attempts: attempts(j), MaxAttempts: j.MaxAttempts,
		FinalizedAt: timePtrNil(j.FinalizedAt),
	}
	switch j.State {
	case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending:
		d.NextAttemptAt = timePtr(j.ScheduledAt)
	case rivertype.JobStateRunning:
		d.InFlight = true
	}
	return d
}

// attempts joins the worker's records (status, duration) with River's
// errors by attempt number.
func attempts(j *rivertype.JobRow) []AttemptJSON {
	byN := map[int]*AttemptJSON{}
	for _, r := range delivery.Attempts(j) {
		a := &AttemptJSON{Attempt: r.Attempt, At: r.At.UTC(), Status: r.Status}
		if !r.Implied { // a 200's duration is not recorded (delivery.MetadataAttempts)
			ms := r.DurationMS
			a.DurationMS = &ms
		}
		byN[r.Attempt] = a
	}
	for _, e := range j.Errors {
		a := byN[e.Attempt]
		if a == nil {
			a = &AttemptJSON{Attempt: e.Attempt, At: e.At.UTC()}
			byN[e.Attempt] = a
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
