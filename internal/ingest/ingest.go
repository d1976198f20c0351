// Package ingest is the daemon's HTTP front, where events enter the store:
// the relay route (POST /v1/accounts/{account_id}/relay?to=D) takes
// Chatwoot's own delivery to a relayed webhook, checks Chatwoot's
// signature and stores one delivery to D under Chatwoot's delivery id;
// POST /v1/accounts/{account_id}/events accepts an event from your own
// apps and fans it out to the account's relayed webhooks subscribed to it.
// Both answer only once their deliveries are committed to the queue.
// /healthz and /readyz report liveness and whether the endpoints have been
// reconciled.
package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/lograte"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// MaxBodyBytes is the largest event accepted.
const MaxBodyBytes = 1 << 20

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 255

// Registry is the endpoint registry as ingest sees it.
type Registry interface {
	Ready() bool
	Subscribers(accountID int64, event string) ([]endpoints.Endpoint, bool)
}

// Options configures a Handler.
type Options struct {
	Registry Registry
	Queue    Queue

	// MaxAttempts of each delivery: the retry schedule's.
	MaxAttempts int

	// MaxBatch is the most deliveries committed in one transaction;
	// default 1000.
	MaxBatch int

	// BehindAfter, when positive, stores a new delivery behind the other
	// endpoints' once its endpoint has this many stored deliveries waiting
	// for their first attempt (store.NewDelivery.BehindAfter).
	BehindAfter int

	// InsertTimeout bounds one commit; default 30s.
	InsertTimeout time.Duration

	// NewID returns a fresh delivery id; default chatwoot.NewDeliveryID.
	NewID func() string

	// OnQueued, when set, is told how many deliveries a post committed
	// (metrics). Duplicates of an Idempotency-Key count as none.
	OnQueued func(n int)

	// Relay configures the relay route; without Relay.Endpoints it is not served.
	Relay RelayOptions

	// Store, when set, is the store's part of readiness; ingest notes every
	// commit's outcome in it.
	Store *StoreHealth

	// LogEvery is the least time between two log lines of one kind of
	// refusal (a store failing, a bad signature...); the lines held back
	// are counted in the next one. Default lograte.DefaultEvery.
	LogEvery time.Duration

	Logger hclog.Logger
}

// Handler serves the ingest routes. Close it after the HTTP server has
// shut down.
type Handler struct {
	opts    Options
	log     hclog.Logger
	logRate *lograte.Limiter
	mux     *http.ServeMux
	batcher *batcher
}

// New returns a Handler; it starts the batcher.
func New(opts Options) *Handler {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.InsertTimeout <= 0 {
		opts.InsertTimeout = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 1
	}
	if opts.NewID == nil {
		opts.NewID = chatwoot.NewDeliveryID
	}
	if opts.Relay.Tolerance <= 0 {
		opts.Relay.Tolerance = 5 * time.Minute
	}
	if opts.Relay.Now == nil {
		opts.Relay.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if opts.LogEvery <= 0 {
		opts.LogEvery = lograte.DefaultEvery
	}
	h := &Handler{opts: opts, log: log.Named("ingest"), logRate: lograte.New(opts.LogEvery, nil), mux: http.NewServeMux(),
		batcher: newBatcher(opts.Queue, opts.MaxBatch, opts.InsertTimeout)}
	h.mux.HandleFunc("POST /v1/accounts/{account_id}/events", h.events)
	if opts.Relay.Endpoints != nil {
		h.mux.HandleFunc("POST /v1/accounts/{account_id}/relay", h.relay)
	}
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	h.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !opts.Registry.Ready() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "waiting for the first complete reconcile of the endpoints"})
			return
		}
		if err := opts.Store.Err(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "the store is unavailable: events cannot be accepted", "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close commits what was already submitted and refuses the rest.
func (h *Handler) Close() { h.batcher.close() }

// Accepted is the 202 answer.
type Accepted struct {
	Deliveries  int      `json:"deliveries"`
	DeliveryIDs []string `json:"delivery_ids"`
	// Duplicate is true when an Idempotency-Key was seen before and
	// nothing new was queued.
	Duplicate bool `json:"duplicate,omitempty"`
}

func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	if !h.opts.Registry.Ready() {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "not ready: the endpoints have not been reconciled yet")
		return
	}
	account, err := strconv.ParseInt(r.PathValue("account_id"), 10, 64)
	if err != nil || account <= 0 {
		writeError(w, http.StatusBadRequest, "account_id must be a positive integer")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if msg := checkKey(key); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	body, status, msg := readBody(w, r)
	if msg != "" {
		writeError(w, status, msg)
		return
	}
	event, msg := parseEvent(body)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	eps, known := h.opts.Registry.Subscribers(account, event)
	if !known {
		writeError(w, http.StatusNotFound, fmt.Sprintf("account %d is not reconciled by this daemon (not in --accounts, or the token does not administer it)", account))
		return
	}

	ev := store.NewEvent{AccountID: account, Event: event, Payload: body, IdempotencyKey: key, Deliveries: make([]store.NewDelivery, len(eps))}
	ids := make([]string, len(eps))
	for i, ep := range eps {
		ids[i] = h.opts.NewID()
		if key != "" {
			ids[i] = delivery.IdempotentID(key, ep.Key())
		}
		ev.Deliveries[i] = store.NewDelivery{UUID: ids[i], WebhookID: ep.ID, MaxAttempts: h.opts.MaxAttempts, BehindAfter: h.opts.BehindAfter}
	}
	out := Accepted{Deliveries: len(eps), DeliveryIDs: ids}
	if len(eps) > 0 {
		queued, err := h.batcher.insert(ev)
		h.opts.Store.Note(err)
		if err != nil {
			h.logLimited(hclog.Error, "store", "storing deliveries failed; nothing was queued", "account", account, "event", event, "error", err)
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "the deliveries could not be stored; nothing was queued; retry")
			return
		}
		out.Duplicate = key != ""
		fresh := 0
		for _, q := range queued {
			out.Duplicate = out.Duplicate && q.Duplicate
			if !q.Duplicate {
				fresh++
			}
		}
		if h.opts.OnQueued != nil {
			h.opts.OnQueued(fresh)
		}
	}
	h.log.Debug("event accepted", "account", account, "event", event, "deliveries", len(eps), "bytes", len(body), "duplicate", out.Duplicate)
	writeJSON(w, http.StatusAccepted, out)
}

// logLimited logs a line of kind key at most once per LogEvery, with the
// count of those held back since the last.
func (h *Handler) logLimited(level hclog.Level, key, msg string, kv ...any) {
	if ok, held := h.logRate.Allow(key); ok {
		if held > 0 {
			kv = append(kv, "repeated", held, "repeated_within", h.opts.LogEvery.String())
		}
		h.log.Log(level, msg, kv...)
	}
}

// parseEvent checks that body is one UTF-8 JSON object with exactly one
// "event" key (matched exactly, unlike encoding/json's case-insensitive
// field matching; a repeated one is refused, since which one routes the
// event would depend on the parser), a non-empty string, and returns it,
// or a message for the 400.
//
// It validates the body once and then walks only the object's top level,
// skipping the values: decoding the event into a map of raw messages cost
// ~30µs of CPU per 576-byte event, about a tenth of the daemon's work per
// delivery on PostgreSQL.
func parseEvent(body []byte) (event, msg string) {
	if !utf8.Valid(body) {
		return "", "the body is not UTF-8"
	}
	if !json.Valid(body) {
		return "", "the body is not valid JSON"
	}
	t := bytes.TrimLeft(body, " \t\r\n")
	if t[0] != '{' {
		return "", "the body must be a JSON object"
	}
	// t is valid JSON from here on: no bounds or syntax checks needed.
	var raw []byte
	for i := skipSpace(t, 1); t[i] != '}'; {
		keyEnd := stringEnd(t, i)
		key := t[i:keyEnd]
		i = skipSpace(t, skipSpace(t, keyEnd)+1) // past the ':'
		valueEnd := valueEnd(t, i)
		if isEventKey(key) {
			if raw != nil {
				return "", `the event has more than one "event" field; send exactly one`
			}
			raw = t[i:valueEnd]
		}
		if i = skipSpace(t, valueEnd); t[i] == ',' {
			i = skipSpace(t, i+1)
		}
	}
	if raw == nil {
		return "", `the event has no "event" field`
	}
	if raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		event = string(raw[1 : len(raw)-1])
	} else if err := json.Unmarshal(raw, &event); err != nil {
		event = ""
	}
	if event == "" {
		return "", `"event" must be a non-empty string`
	}
	return event, ""
}

// isEventKey reports whether the quoted key is "event", escapes decoded.
func isEventKey(key []byte) bool {
	if string(key) == `"event"` {
		return true
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return false
	}
	var k string
	return json.Unmarshal(key, &k) == nil && k == "event"
}

func skipSpace(t []byte, i int) int {
	for i < len(t) && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at t[i] ('"').
func stringEnd(t []byte, i int) int {
	for i++; ; i++ {
		switch t[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// valueEnd returns the index after the value starting at t[i].
func valueEnd(t []byte, i int) int {
	switch t[i] {
	case '"':
		return stringEnd(t, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch t[i] {
			case '"':
				i = stringEnd(t, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	default: // number, true, false, null
		for ; i < len(t); i++ {
			switch t[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
		}
		return i
	}
}

func checkKey(k string) string {
	if len(k) > MaxIdempotencyKey {
		return fmt.Sprintf("Idempotency-Key is longer than %d bytes", MaxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "Idempotency-Key must be printable ASCII without spaces"
		}
	}
	return ""
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
