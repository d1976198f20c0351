package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// Relays finds the relayed webhook a relay request is for.
type Relays interface {
	Relayed(accountID int64, destination string) (endpoints.Endpoint, endpoints.Status, bool)
}

// RelayOptions configures the relay route; the zero value leaves it out.
type RelayOptions struct {
	Endpoints Relays

	// Refresh lists an account from Chatwoot at once, when a relay request
	// names a webhook not known yet (endpoints.Reconciler.Refresh).
	Refresh func(ctx context.Context, accountID int64) error

	// Tolerance is how far X-Chatwoot-Timestamp may be from now; default 5m.
	Tolerance time.Duration

	// Now is the clock of the timestamp check; default time.Now.
	Now func() time.Time

	// OnOutcome, when set, is told the outcome of every relay request (one
	// of the Relay* constants), for metrics.
	OnOutcome func(outcome string)
}

// Outcomes of a relay request.
const (
	RelayAccepted       = "accepted"
	RelayDuplicate      = "duplicate"
	RelayBadSignature   = "bad_signature"
	RelayStale          = "stale_timestamp"
	RelayUnknownWebhook = "unknown_webhook"
	RelayRefused        = "refused_endpoint"
	RelayBadRequest     = "bad_request"
	RelayTooLarge       = "too_large"
	RelayStoreError     = "store_error"
	RelayNotReady       = "not_ready"
)

// RelayOutcomes lists every outcome, for metrics that start at zero.
var RelayOutcomes = []string{RelayAccepted, RelayDuplicate, RelayBadSignature, RelayStale, RelayUnknownWebhook,
	RelayRefused, RelayBadRequest, RelayTooLarge, RelayStoreError, RelayNotReady}

// Relayed is the 200 answer of the relay route.
type Relayed struct {
	DeliveryID string `json:"delivery_id"`
	// Duplicate is true when this X-Chatwoot-Delivery was stored before
	// and nothing new was queued.
	Duplicate bool `json:"duplicate,omitempty"`
}

// relayNamespace seeds the delivery ids of signed posts that carry no
// X-Chatwoot-Delivery (Chatwoot versions before it): the same post gives
// the same id.
var relayNamespace = uuid.MustParse("2b4f3a8e-9d61-4c1e-8f0a-5e7b3c9d1a24")

// relay is Chatwoot's delivery to a relayed webhook: POST
// /v1/accounts/{account_id}/relay?to=D. Chatwoot never retries, so every
// refusal is logged at warn level and counted.
func (h *Handler) relay(w http.ResponseWriter, r *http.Request) {
	ro := &h.opts.Relay
	account, err := strconv.ParseInt(r.PathValue("account_id"), 10, 64)
	refuse := func(outcome string, status int, msg string, kv ...any) {
		if ro.OnOutcome != nil {
			ro.OnOutcome(outcome)
		}
		h.logLimited(hclog.Warn, "relay:"+outcome, "relay request refused; Chatwoot does not retry it", append([]any{"account", r.PathValue("account_id"),
			"status", status, "reason", outcome, "why", msg, "delivery_id", truncate(r.Header.Get(chatwoot.HeaderDelivery), 64)}, kv...)...)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, status, msg)
	}
	if err != nil || account <= 0 {
		refuse(RelayBadRequest, http.StatusBadRequest, "account_id must be a positive integer")
		return
	}
	q := r.URL.Query()
	dest := q.Get(chatwoot.RelayQueryParam)
	if len(q[chatwoot.RelayQueryParam]) != 1 || dest == "" {
		refuse(RelayBadRequest, http.StatusBadRequest, "the relay address needs exactly one ?to=<percent-encoded destination>")
		return
	}
	if !h.opts.Registry.Ready() {
		refuse(RelayNotReady, http.StatusServiceUnavailable, "not ready: the endpoints have not been reconciled yet")
		return
	}
	body, status, msg := readBody(w, r)
	if msg != "" {
		outcome := RelayBadRequest
		if status == http.StatusRequestEntityTooLarge {
			outcome = RelayTooLarge
		}
		refuse(outcome, status, msg)
		return
	}

	ep, epStatus, found := ro.Endpoints.Relayed(account, dest)
	if !found && ro.Refresh != nil {
		// Chatwoot delivers a webhook's first event right after it is
		// created, likely before our next reconcile.
		if err := ro.Refresh(r.Context(), account); err != nil {
			h.log.Warn("listing the account's webhooks for a relay request failed", "account", account, "error", err)
		}
		ep, epStatus, found = ro.Endpoints.Relayed(account, dest)
	}
	if !found {
		refuse(RelayUnknownWebhook, http.StatusNotFound, fmt.Sprintf("account %d has no webhook whose url is this relay address (checked with Chatwoot just now)", account),
			"destination", chatwoot.RedactURL(dest))
		return
	}
	if err := chatwoot.Verify(ep.Secret, r.Header, body, ro.Tolerance, ro.Now()); err != nil {
		outcome := RelayBadSignature
		if errors.Is(err, chatwoot.ErrTimestampSkew) {
			outcome = RelayStale
		}
		refuse(outcome, http.StatusUnauthorized, "the signature does not verify with the webhook's secret: "+err.Error(), "endpoint", ep.String())
		return
	}
	if epStatus == endpoints.Refused {
		refuse(RelayRefused, http.StatusConflict, "the daemon refuses this webhook's destination (GET /v1/endpoints says why)", "endpoint", ep.String())
		return
	}
	event, msg := parseEvent(body)
	if msg != "" {
		refuse(RelayBadRequest, http.StatusBadRequest, msg, "endpoint", ep.String())
		return
	}
	id := r.Header.Get(chatwoot.HeaderDelivery)
	if id == "" {
		sum := sha256.Sum256(body)
		id = uuid.NewSHA1(relayNamespace, fmt.Appendf(nil, "%s/%s/%x", ep.Key(), r.Header.Get(chatwoot.HeaderTimestamp), sum)).String()
	} else if len(id) > MaxIdempotencyKey || checkKey(id) != "" {
		refuse(RelayBadRequest, http.StatusBadRequest, "X-Chatwoot-Delivery must be printable ASCII of at most 255 bytes", "endpoint", ep.String())
		return
	}
	queued, err := h.batcher.insert(store.NewEvent{AccountID: account, Event: event, Payload: body, Deliveries: []store.NewDelivery{
		{UUID: id, WebhookID: ep.ID, MaxAttempts: h.opts.MaxAttempts, BehindAfter: h.opts.BehindAfter},
	}})
	h.opts.Store.Note(err)
	if err != nil {
		refuse(RelayStoreError, http.StatusServiceUnavailable, "the delivery could not be stored; nothing was queued", "endpoint", ep.String(), "error", err)
		return
	}
	out := Relayed{DeliveryID: id, Duplicate: len(queued) == 1 && queued[0].Duplicate}
	outcome := RelayAccepted
	if out.Duplicate {
		outcome = RelayDuplicate
	} else if h.opts.OnQueued != nil {
		h.opts.OnQueued(1)
	}
	if ro.OnOutcome != nil {
		ro.OnOutcome(outcome)
	}
	h.log.Debug("relayed event stored", "endpoint", ep.String(), "event", event, "delivery_id", id, "duplicate", out.Duplicate)
	writeJSON(w, http.StatusOK, out)
}

// readBody reads a request body of at most MaxBodyBytes; msg is the
// error's text, status its status.
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, status int, msg string) {
	tooLarge := fmt.Sprintf("the event is larger than %d bytes", MaxBodyBytes)
	if r.ContentLength > MaxBodyBytes {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, tooLarge
		}
		return nil, http.StatusBadRequest, "reading the body: " + err.Error()
	}
	return body, 0, ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
