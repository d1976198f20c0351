package delivery

import (
	"encoding/json"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// metadata is what the worker reads of a job's metadata: River's snooze
// count, which the limiter uses to back off a stalled endpoint.
type metadata struct {
	Snoozes int `json:"snoozes,omitempty"`
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
