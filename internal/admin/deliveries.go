package admin

import (
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// DeliveryJSON is one delivery of the log.
type DeliveryJSON struct {
	// ID is the delivery's row in the store: use it in /v1/deliveries/{id}.
	ID int64 `json:"id"`
	// DeliveryID is the X-Chatwoot-Delivery header, the same on every attempt.
	DeliveryID string `json:"delivery_id"`
	// State is pending, failed, succeeded, dead or cancelled.
	State      string `json:"state"`
	AccountID  int64  `json:"account_id"`
	EndpointID int64  `json:"endpoint_id"`
	Event      string `json:"event"`
	// EventID is the stored event's row, shared by its deliveries to
	// several endpoints.
	EventID     int64         `json:"event_id"`
	CreatedAt   time.Time     `json:"created_at"`
	Attempts    []AttemptJSON `json:"attempts,omitempty"`
	AttemptsN   int           `json:"attempts_made"`
	MaxAttempts int           `json:"max_attempts"`
	// LastStatus and LastError are the last attempt's.
	LastStatus int    `json:"last_status,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	// JobID is the River job that carries the delivery alone (River's UI
	// shows it); absent while a batch carries it to its first attempt.
	JobID int64 `json:"job_id,omitempty"`
	// InFlight is true while an attempt runs (GET /v1/deliveries/{id}).
	InFlight bool `json:"in_flight,omitempty"`
	// NextAttemptAt is when the next attempt is due, for a failed delivery
	// (it may be in the past: due, not yet picked up).
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	FinalizedAt   *time.Time `json:"finalized_at,omitempty"`
}

// AttemptJSON is one attempt of a delivery.
type AttemptJSON struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	// Status is the endpoint's HTTP status; absent when no answer came.
	Status     int     `json:"status,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	// Error is why the attempt failed; absent for a 2xx.
	Error string `json:"error,omitempty"`
}

func deliveryJSON(d store.Delivery) DeliveryJSON {
	return DeliveryJSON{
		ID: d.ID, DeliveryID: d.UUID, State: d.State, AccountID: d.AccountID, EndpointID: d.WebhookID,
		Event: d.Event, EventID: d.EventID, CreatedAt: d.CreatedAt, AttemptsN: d.Attempts, MaxAttempts: d.MaxAttempts,
		LastStatus: d.LastStatus, LastError: d.LastError, JobID: d.JobID,
		NextAttemptAt: timePtr(d.NextAttemptAt), FinalizedAt: timePtr(d.FinishedAt),
	}
}

func attemptsJSON(as []store.Attempt) []AttemptJSON {
	out := make([]AttemptJSON, len(as))
	for i, a := range as {
		out[i] = AttemptJSON{Attempt: a.Attempt, At: a.At, Status: a.Status, DurationMS: float64(a.Duration.Microseconds()) / 1000, Error: a.Error}
	}
	return out
}
