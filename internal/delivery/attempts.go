package delivery

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// MetadataAttempts is the job metadata key holding the delivery's attempt
// log ([]AttemptRecord). River keeps each failed attempt's error in
// job.Errors, but neither the status code nor the duration, and nothing
// about a successful attempt; the worker adds those here, merged into the
// job's metadata by River in the same UPDATE that records the outcome.
//
// Except for an attempt answered 200, by far the most common: the worker
// writes no record of it, because any metadata update makes River merge
// JSON in the completing UPDATE (on SQLite a recursive CTE over the
// document, on PostgreSQL new GIN index entries), which cost ~15% of the
// daemon's throughput (SQLite, medians of 3 A/B runs: 1,599 vs 1,841
// deliveries/s). Attempts implies that attempt from the completed job.
const MetadataAttempts = "attempts"

// AttemptRecord is one attempt as stored in the job's metadata. The error
// text of a failed attempt is in the job's Errors under the same attempt
// number, not repeated here.
type AttemptRecord struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"` // when the attempt started
	// Status is the HTTP status; 0 when no answer came (connection refused,
	// timeout, blocked address) or no request was made (cancelled).
	Status     int     `json:"status,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	// Error is why the attempt failed, for a batch's first attempt (River
	// keeps the errors of the job's own attempts in job.Errors).
	Error string `json:"error,omitempty"`

	// Implied marks the successful last attempt of a completed delivery,
	// which has no record of its own: At is when River started the attempt
	// (the job's attempted_at), Status 200, and the duration is unknown
	// (the attempt latency histogram of /metrics has it).
	Implied bool `json:"-"`
}

// Attempts returns the attempt log of a delivery's job, oldest first,
// including the implied record of a completed delivery's last attempt
// when the worker wrote none (a 200 answer), and the number of attempts
// made before the job (by a batch: PriorAttempts) to add to River's own
// attempt numbers, such as those of job.Errors.
func Attempts(job *rivertype.JobRow) (recs []AttemptRecord, prior int) {
	m := parseMetadata(job)
	recs, prior = m.Attempts, m.PriorAttempts
	if job.State != rivertype.JobStateCompleted || job.Attempt < 1 {
		return recs, prior
	}
	for _, r := range recs {
		if r.Attempt == job.Attempt+prior {
			return recs, prior
		}
	}
	rec := AttemptRecord{Attempt: job.Attempt + prior, Status: http.StatusOK, Implied: true}
	if job.AttemptedAt != nil {
		rec.At = job.AttemptedAt.UTC()
	}
	return append(recs, rec), prior
}

// metadata is what the worker reads of a job's metadata: River's snooze
// count, the attempt log and, for a delivery that went on alone from a
// batch, how many attempts the batch made (River counts from 1 again).
type metadata struct {
	Snoozes       int             `json:"snoozes,omitempty"`
	Attempts      []AttemptRecord `json:"attempts,omitempty"`
	PriorAttempts int             `json:"prior_attempts,omitempty"`
}

func parseMetadata(job *rivertype.JobRow) metadata {
	var m metadata
	if len(job.Metadata) > 2 { // skip "{}", the metadata of every first attempt
		_ = json.Unmarshal(job.Metadata, &m)
	}
	return m
}

// Outcome is what an attempt did to its delivery.
type Outcome string

// Outcomes of a Result.
const (
	// Delivered: the endpoint answered 2xx.
	Delivered Outcome = "delivered"
	// Failed: the attempt failed and a retry is scheduled.
	Failed Outcome = "failed"
	// Dead: the attempt failed and the retry schedule is exhausted.
	Dead Outcome = "dead"
	// Cancelled: the endpoint was removed, disabled (410) or unsubscribed.
	Cancelled Outcome = "cancelled"
)

// Result describes one Work call that made or skipped an attempt, for the
// endpoint health and the metrics. Snoozes (endpoint busy or paused) and
// interrupted attempts (shutdown) produce none.
type Result struct {
	Endpoint   endpoints.Key
	DeliveryID string // X-Chatwoot-Delivery
	Attempt    int
	Start      time.Time
	// Sent is true when an HTTP request was made.
	Sent bool
	// Status is the HTTP status; 0 when no answer came.
	Status int
	// Err is why the attempt failed; nil when delivered.
	Err      error
	Duration time.Duration
	Outcome  Outcome
}

// StatusClass is the attempt's status as a metric label: 2xx, 3xx, 4xx,
// 5xx, or error when no answer came.
func (r Result) StatusClass() string {
	switch {
	case r.Status >= 200 && r.Status < 300:
		return "2xx"
	case r.Status >= 300 && r.Status < 400:
		return "3xx"
	case r.Status >= 400 && r.Status < 500:
		return "4xx"
	case r.Status >= 500 && r.Status < 600:
		return "5xx"
	default:
		return "error"
	}
}

// recordAttempt appends this attempt to the log (log, read from the job's
// metadata) in the job's metadata. It is a no-op outside a River work
// context (unit tests calling Work).
func recordAttempt(ctx context.Context, log []AttemptRecord, rec AttemptRecord) {
	// A rescued attempt (daemon killed mid-attempt) left no record; keep
	// the log ordered and free of a stale record for this attempt number.
	out := log[:0]
	for _, r := range log {
		if r.Attempt < rec.Attempt {
			out = append(out, r)
		}
	}
	_ = river.MetadataSet(ctx, MetadataAttempts, append(out, rec))
}
