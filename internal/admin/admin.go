package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// Jobs is the part of a River client the admin API uses.
type Jobs interface {
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// Endpoints is the endpoint registry as the admin API sees it.
type Endpoints interface {
	List() []endpoints.State
	Find(id int64) []endpoints.Key
	Lookup(k endpoints.Key) (endpoints.Endpoint, endpoints.Status)
	Enable(k endpoints.Key) (found, wasDisabled bool)
}

// Options configures a Handler.
type Options struct {
	Jobs      Jobs
	Endpoints Endpoints
	// Timeout bounds one store query; default 10s.
	Timeout time.Duration
	Logger  hclog.Logger
}

// Limits of GET /v1/deliveries.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Handler serves the admin routes; put it behind Gate.Admin.
type Handler struct {
	opts Options
	log  hclog.Logger
	mux  *http.ServeMux
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	h := &Handler{opts: opts, log: log.Named("admin"), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/endpoints", h.listEndpoints)
	h.mux.HandleFunc("POST /v1/endpoints/{id}/enable", h.enableEndpoint)
	h.mux.HandleFunc("GET /v1/deliveries", h.listDeliveries)
	h.mux.HandleFunc("GET /v1/deliveries/{id}", h.getDelivery)
	h.mux.HandleFunc("POST /v1/deliveries/{id}/retry", h.retryDelivery)
	return h
}

// Patterns are the routes New serves, for mounting on a shared mux.
var Patterns = []string{
	"GET /v1/endpoints",
	"POST /v1/endpoints/{id}/enable",
	"GET /v1/deliveries",
	"GET /v1/deliveries/{id}",
	"POST /v1/deliveries/{id}/retry",
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// EndpointJSON is one endpoint of GET /v1/endpoints.
type EndpointJSON struct {
	AccountID      int64      `json:"account_id"`
	ID             int64      `json:"id"`
	Name           string     `json:"name,omitempty"`
	URL            string     `json:"url"` // scheme://host/path: the query may hold credentials
	Subscriptions  []string   `json:"subscriptions"`
	HasSecret      bool       `json:"has_secret"`
	Status         string     `json:"status"` // active or disabled
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	Health         HealthJSON `json:"health"`
}

// HealthJSON is an endpoint's recent attempts, since the daemon started.
type HealthJSON struct {
	LastAttemptAt       *time.Time `json:"last_attempt_at"`
	LastStatus          int        `json:"last_status,omitempty"`
	LastError           string     `json:"last_error,omitempty"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastSuccessAt       *time.Time `json:"last_success_at"`
}

func (h *Handler) listEndpoints(w http.ResponseWriter, _ *http.Request) {
	states := h.opts.Endpoints.List()
	out := struct {
		Endpoints []EndpointJSON `json:"endpoints"`
	}{Endpoints: make([]EndpointJSON, 0, len(states))}
	for _, s := range states {
		out.Endpoints = append(out.Endpoints, endpointJSON(s))
	}
	writeJSON(w, http.StatusOK, out)
}

func endpointJSON(s endpoints.State) EndpointJSON {
	e := EndpointJSON{
		AccountID: s.AccountID, ID: s.ID, Name: s.Name, URL: endpoints.RedactURL(s.URL),
		Subscriptions: s.Subscriptions, HasSecret: s.Secret != "", Status: s.Status.String(),
		DisabledAt: timePtr(s.DisabledAt), DisabledReason: s.DisabledReason,
		Health: HealthJSON{
			LastAttemptAt: timePtr(s.Health.LastAttemptAt), LastStatus: s.Health.LastStatus, LastError: s.Health.LastError,
			ConsecutiveFailures: s.Health.ConsecutiveFailures, LastSuccessAt: timePtr(s.Health.LastSuccessAt),
		},
	}
	if e.Subscriptions == nil {
		e.Subscriptions = []string{}
	}
	return e
}

func (h *Handler) enableEndpoint(w http.ResponseWriter, r *http.Request) {
	keys, ok := h.endpointKeys(w, r, r.PathValue("id"), "id")
	if !ok {
		return
	}
	if len(keys) > 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("account: webhook %d exists in accounts %s; add ?account=N", keys[0].ID, accountList(keys)))
		return
	}
	found, was := h.opts.Endpoints.Enable(keys[0])
	if !found { // removed between Find and Enable
		writeError(w, http.StatusNotFound, fmt.Sprintf("webhook %d is not in the registry", keys[0].ID))
		return
	}
	if was {
		h.log.Info("endpoint enabled through the admin API", "account", keys[0].AccountID, "webhook", keys[0].ID)
	}
	var state EndpointJSON
	for _, s := range h.opts.Endpoints.List() {
		if s.Key() == keys[0] {
			state = endpointJSON(s)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		WasDisabled bool         `json:"was_disabled"`
		Endpoint    EndpointJSON `json:"endpoint"`
		Hint        string       `json:"hint,omitempty"`
	}{was, state, map[bool]string{true: fmt.Sprintf("deliveries cancelled while it was disabled can be replayed: GET /v1/deliveries?state=cancelled&endpoint=%d, then POST /v1/deliveries/{id}/retry", keys[0].ID)}[was]})
}

// endpointKeys resolves a webhook id (and the optional ?account=) to
// registry keys, answering 400 or 404 itself when it cannot.
func (h *Handler) endpointKeys(w http.ResponseWriter, r *http.Request, raw, param string) ([]endpoints.Key, bool) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: %q is not a webhook id; give a positive integer (GET /v1/endpoints lists them)", param, raw))
		return nil, false
	}
	keys := h.opts.Endpoints.Find(id)
	if a := r.URL.Query().Get("account"); a != "" {
		account, err := strconv.ParseInt(a, 10, 64)
		if err != nil || account <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("account: %q is not an account id; give a positive integer", a))
			return nil, false
		}
		var in []endpoints.Key
		for _, k := range keys {
			if k.AccountID == account {
				in = append(in, k)
			}
		}
		keys = in
	}
	if len(keys) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("webhook %d is not in the registry (GET /v1/endpoints lists the reconciled endpoints)", id))
		return nil, false
	}
	return keys, true
}

func accountList(keys []endpoints.Key) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = strconv.FormatInt(k.AccountID, 10)
	}
	return strings.Join(s, ", ")
}

// States of the delivery log and the River states they cover.
var logStates = map[string][]rivertype.JobState{
	"pending":   {rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStatePending, rivertype.JobStateRunning},
	"failed":    {rivertype.JobStateRetryable},
	"succeeded": {rivertype.JobStateCompleted},
	"dead":      {rivertype.JobStateDiscarded},
	"cancelled": {rivertype.JobStateCancelled},
}

// LogState is the delivery log's name of a River job state.
func LogState(s rivertype.JobState) string {
	for name, states := range logStates {
		for _, js := range states {
			if js == s {
				return name
			}
		}
	}
	return string(s)
}

func (h *Handler) listDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for name := range q {
		switch name {
		case "state", "endpoint", "account", "limit", "cursor":
		default:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: unknown parameter; use state, endpoint, account, limit or cursor", name))
			return
		}
	}
	params := river.NewJobListParams().Kinds(delivery.Kind).OrderBy(river.JobListOrderByID, river.SortOrderDesc)

	limit := DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: %q is not a number from 1 to %d", v, MaxLimit))
			return
		}
		limit = n
	}
	params = params.First(limit)

	if v := q.Get("state"); v != "" {
		var states []rivertype.JobState
		for _, s := range strings.Split(v, ",") {
			js, ok := logStates[strings.TrimSpace(s)]
			if !ok {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("state: %q is not one of pending, succeeded, failed, dead, cancelled", s))
				return
			}
			states = append(states, js...)
		}
		params = params.States(states...)
	}
	if v := q.Get("endpoint"); v != "" {
		keys, ok := h.endpointKeys(w, r, v, "endpoint")
		if !ok {
			return
		}
		tags := make([]string, len(keys))
		for i, k := range keys {
			tags[i] = delivery.EndpointTag(k)
		}
		params = params.TagsAny(tags...)
	} else if q.Get("account") != "" {
		writeError(w, http.StatusBadRequest, "account: only meaningful with endpoint=ID")
		return
	}
	if v := q.Get("cursor"); v != "" {
		var c river.JobListCursor
		if err := c.UnmarshalText([]byte(v)); err != nil {
			writeError(w, http.StatusBadRequest, "cursor: not a next_cursor of this API; start again without it")
			return
		}
		params = params.After(&c)
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	res, err := h.opts.Jobs.JobList(ctx, params)
	if err != nil {
		h.storeError(w, "listing deliveries", err)
		return
	}
	out := struct {
		Deliveries []DeliveryJSON `json:"deliveries"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}{Deliveries: make([]DeliveryJSON, 0, len(res.Jobs))}
	for _, j := range res.Jobs {
		out.Deliveries = append(out.Deliveries, deliveryJSON(j))
	}
	if len(res.Jobs) == limit && res.LastCursor != nil {
		if b, err := res.LastCursor.MarshalText(); err == nil {
			out.NextCursor = string(b)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getDelivery(w http.ResponseWriter, r *http.Request) {
	job, ok := h.findDelivery(w, r)
	if ok {
		writeJSON(w, http.StatusOK, deliveryJSON(job))
	}
}

func (h *Handler) retryDelivery(w http.ResponseWriter, r *http.Request) {
	job, ok := h.findDelivery(w, r)
	if !ok {
		return
	}
	d := deliveryJSON(job)
	switch job.State {
	case rivertype.JobStateRunning:
		writeError(w, http.StatusConflict, fmt.Sprintf("delivery %d has an attempt in flight; wait for its outcome", job.ID))
		return
	case rivertype.JobStateCompleted:
		writeError(w, http.StatusConflict, fmt.Sprintf("delivery %d was delivered (the endpoint answered 2xx); a replay under the same delivery id would be dropped by a receiver that deduplicates", job.ID))
		return
	}
	key := endpoints.Key{AccountID: d.AccountID, ID: d.EndpointID}
	switch _, status := h.opts.Endpoints.Lookup(key); status {
	case endpoints.Removed:
		writeError(w, http.StatusConflict, fmt.Sprintf("webhook %d of account %d no longer exists upstream; there is nowhere to deliver to", key.ID, key.AccountID))
		return
	case endpoints.Disabled:
		writeError(w, http.StatusConflict, fmt.Sprintf("webhook %d of account %d is disabled (it answered 410 Gone); enable it first: POST /v1/endpoints/%d/enable", key.ID, key.AccountID, key.ID))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	job, err := h.opts.Jobs.JobRetry(ctx, job.ID)
	if err != nil {
		if errors.Is(err, river.ErrNotFound) {
			writeError(w, http.StatusNotFound, "the delivery was deleted meanwhile (retention)")
			return
		}
		h.storeError(w, "retrying the delivery", err)
		return
	}
	h.log.Info("delivery replayed through the admin API", "delivery", d.DeliveryID, "job", job.ID, "previous_state", d.State)
	writeJSON(w, http.StatusOK, deliveryJSON(job))
}

// findDelivery resolves {id}: a River job id or an X-Chatwoot-Delivery UUID.
func (h *Handler) findDelivery(w http.ResponseWriter, r *http.Request) (*rivertype.JobRow, bool) {
	raw := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	var job *rivertype.JobRow
	if id, err := strconv.ParseInt(raw, 10, 64); err == nil && id > 0 {
		j, err := h.opts.Jobs.JobGet(ctx, id)
		switch {
		case errors.Is(err, river.ErrNotFound):
		case err != nil:
			h.storeError(w, "reading the delivery", err)
			return nil, false
		case j.Kind == delivery.Kind:
			job = j
		}
	} else if u, err := uuid.Parse(raw); err == nil {
		// args ->> 'key' reads a JSON field in both SQLite and PostgreSQL.
		res, err := h.opts.Jobs.JobList(ctx, river.NewJobListParams().Kinds(delivery.Kind).
			Where("args ->> 'delivery_id' = @delivery_id", river.NamedArgs{"delivery_id": u.String()}).First(1))
		if err != nil {
			h.storeError(w, "finding the delivery", err)
			return nil, false
		}
		if len(res.Jobs) > 0 {
			job = res.Jobs[0]
		}
	} else {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("id: %q is neither a delivery's id (a positive integer) nor its X-Chatwoot-Delivery UUID", raw))
		return nil, false
	}
	if job == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no delivery %s (GET /v1/deliveries lists them; delivered ones are kept for --retention)", raw))
		return nil, false
	}
	return job, true
}

func (h *Handler) storeError(w http.ResponseWriter, what string, err error) {
	h.log.Error(what+" failed", "error", err)
	writeError(w, http.StatusServiceUnavailable, what+" failed: the store did not answer; retry")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
