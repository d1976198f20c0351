package delivery

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// Kind is the River job kind of a delivery.
const Kind = "chatwoot_delivery"

// Args is one delivery of one event to one endpoint.
//
// Payload is a string, not a json.RawMessage: River stores args as JSON and
// encoding/json compacts and HTML-escapes raw messages, which would change
// the bytes a receiver verifies the signature over. A string round-trips
// byte for byte (ingest only accepts UTF-8).
type Args struct {
	DeliveryID string `json:"delivery_id" river:"unique"`
	AccountID  int64  `json:"account_id"`
	EndpointID int64  `json:"endpoint_id"`
	Event      string `json:"event"`
	Payload    string `json:"payload"`

	// retryAfter carries an endpoint's Retry-After from Work to NextRetry;
	// it is never stored.
	retryAfter time.Duration
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return Kind }

// Key returns the endpoint the delivery goes to.
func (a Args) Key() endpoints.Key { return endpoints.Key{AccountID: a.AccountID, ID: a.EndpointID} }

// idempotencyNamespace seeds the UUIDv5 delivery ids derived from an
// Idempotency-Key.
var idempotencyNamespace = uuid.MustParse("7d0c6a52-3f0e-4f5e-9a55-6f1d4c2b8e10")

// IdempotentID is the delivery id of a post carrying an Idempotency-Key: the
// same key, account and endpoint always give the same id, so a repeated
// post inserts nothing new.
func IdempotentID(key string, ep endpoints.Key) string {
	return uuid.NewSHA1(idempotencyNamespace, fmt.Appendf(nil, "%d/%d/%s", ep.AccountID, ep.ID, key)).String()
}

// EndpointTag tags every job of an endpoint so its pending deliveries can
// be found and cancelled when the webhook goes away.
func EndpointTag(k endpoints.Key) string { return fmt.Sprintf("ep-%d-%d", k.AccountID, k.ID) }

// NewDelivery describes a delivery to insert.
type NewDelivery struct {
	Endpoint    endpoints.Endpoint
	Event       string
	Payload     []byte
	DeliveryID  string
	Idempotent  bool // DeliveryID was derived from an Idempotency-Key
	MaxAttempts int

	// Behind stores the delivery behind other endpoints' (River priority
	// BehindPriority): its endpoint has a backlog of deliveries not
	// attempted yet (Backlog), and River fetches by priority before age,
	// so that backlog does not hold up the first attempts of endpoints
	// that have none.
	Behind bool
}

// BehindPriority is the River priority of a delivery stored Behind; the
// others have River's default, 1.
const BehindPriority = 2

// InsertParams returns the River insert of d. Idempotent deliveries are
// unique by delivery id in every job state, so a repeated post is a no-op
// for as long as the job is retained.
func InsertParams(d NewDelivery) river.InsertManyParams {
	opts := &river.InsertOpts{
		MaxAttempts: d.MaxAttempts,
		Tags:        []string{EndpointTag(d.Endpoint.Key())},
	}
	if d.Behind {
		opts.Priority = BehindPriority
	}
	if d.Idempotent {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: rivertype.JobStates()}
	}
	return river.InsertManyParams{
		Args: Args{
			DeliveryID: d.DeliveryID,
			AccountID:  d.Endpoint.AccountID,
			EndpointID: d.Endpoint.ID,
			Event:      d.Event,
			Payload:    string(d.Payload),
		},
		InsertOpts: opts,
	}
}
