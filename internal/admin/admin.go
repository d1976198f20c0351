package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
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
	Pause(k endpoints.Key, at time.Time) (found bool)
	Resume(k endpoints.Key) (found, wasPaused bool)
}

// Marks is where disabled marks and pauses are kept for every replica (the
// store).
type Marks interface {
	ClearDisabled(ctx context.Context, accountID, webhookID int64) error
	SavePaused(ctx context.Context, accountID, webhookID int64, at time.Time) error
	ClearPaused(ctx context.Context, accountID, webhookID int64) error
}

// Attempts is the store's attempt log: every attempt, a 2xx included, with
// its duration.
type Attempts interface {
	Attempts(ctx context.Context, deliveryID string) ([]store.Attempt, error)
}

// Options configures a Handler.
type Options struct {
	// Attempts, when set, completes a delivery's attempts from the attempt
	// log (GET /v1/deliveries/{id}).
	Attempts  Attempts
	Jobs      Jobs
	Endpoints Endpoints
	// Marks, when set, is cleared before an enable takes effect here, so
	// every replica and the next run see it; nil enables in memory only.
	Marks Marks
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
	h.mux.HandleFunc("POST /v1/endpoints/{id}/recover", h.recoverEndpoint)
	h.mux.HandleFunc("POST /v1/endpoints/{id}/pause", h.pauseEndpoint)
	h.mux.HandleFunc("POST /v1/endpoints/{id}/resume", h.resumeEndpoint)
	h.mux.HandleFunc("GET /v1/deliveries", h.listDeliveries)
	h.mux.HandleFunc("GET /v1/deliveries/{id}", h.getDelivery)
	h.mux.HandleFunc("POST /v1/deliveries/{id}/retry", h.retryDelivery)
	return h
}

// Patterns are the routes New serves, for mounting on a shared mux.
var Patterns = []string{
	"GET /v1/endpoints",
	"POST /v1/endpoints/{id}/enable",
	"POST /v1/endpoints/{id}/recover",
	"POST /v1/endpoints/{id}/pause",
	"POST /v1/endpoints/{id}/resume",
	"GET /v1/deliveries",
	"GET /v1/deliveries/{id}",
	"POST /v1/deliveries/{id}/retry",
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// EndpointJSON is one endpoint of GET /v1/endpoints.
type EndpointJSON struct {
	AccountID int64  `json:"account_id"`
	ID        int64  `json:"id"`
	Name      string `json:"name,omitempty"`
	// URL is the destination the daemon delivers to, as scheme://host/path:
	// the query may hold credentials.
	URL string `json:"url"`
	// ChatwootURL is the relay address Chatwoot holds, redacted the same
	// way (the destination is in its query).
	ChatwootURL    string     `json:"chatwoot_url"`
	Subscriptions  []string   `json:"subscriptions"`
	HasSecret      bool       `json:"has_secret"`
	Status         string     `json:"status"` // active, disabled or refused
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	RefusedReason  string     `json:"refused_reason,omitempty"`
	// PausedAt is set while the endpoint is paused (POST .../pause): its
	// deliveries wait until POST .../resume.
	PausedAt *time.Time `json:"paused_at,omitempty"`
	Health   HealthJSON `json:"health"`
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
		AccountID: s.AccountID, ID: s.ID, Name: s.Name, URL: chatwoot.RedactURL(s.URL), ChatwootURL: chatwoot.RedactURL(s.ChatwootURL),
		RefusedReason: s.RefusedReason,
		Subscriptions: s.Subscriptions, HasSecret: s.Secret != "", Status: s.Status.String(),
		DisabledAt: timePtr(s.DisabledAt), DisabledReason: s.DisabledReason, PausedAt: timePtr(s.PausedAt),
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
	key, ok := h.oneEndpoint(w, r)
	if !ok {
		return
	}
	if !h.stored(w, r, "enable", func(ctx context.Context) error { return h.opts.Marks.ClearDisabled(ctx, key.AccountID, key.ID) }) {
		return
	}
	found, was := h.opts.Endpoints.Enable(key)
	if !found { // removed between Find and Enable
		writeError(w, http.StatusNotFound, fmt.Sprintf("webhook %d is not in the registry", key.ID))
		return
	}
	if was {
		h.log.Info("endpoint enabled through the admin API", "account", key.AccountID, "webhook", key.ID)
	}
	writeJSON(w, http.StatusOK, struct {
		WasDisabled bool         `json:"was_disabled"`
		Endpoint    EndpointJSON `json:"endpoint"`
		Hint        string       `json:"hint,omitempty"`
	}{was, h.endpointState(key), map[bool]string{true: fmt.Sprintf("deliveries cancelled while it was disabled are kept: POST /v1/endpoints/%d/recover?since=<RFC 3339 time> re-queues them all, or list them with GET /v1/deliveries?state=cancelled&endpoint=%d and POST /v1/deliveries/{id}/retry", key.ID, key.ID)}[was]})
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

// recoverStates are the deliveries recover re-queues: waiting for a retry
// (failed), out of attempts (dead), and cancelled (kept while the endpoint
// was disabled, or cancelled by its 410).
var recoverStates = []rivertype.JobState{rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled}

// recoverEndpoint is POST /v1/endpoints/{id}/recover?since=RFC3339 (Svix's
// "recover"): every failed, dead or cancelled delivery of the endpoint
// created since then is made available again, oldest first, under its own
// delivery id. The endpoint must be active.
func (h *Handler) recoverEndpoint(w http.ResponseWriter, r *http.Request) {
	key, ok := h.oneEndpoint(w, r)
	if !ok {
		return
	}
	raw := r.URL.Query().Get("since")
	since, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("since: %q is not an RFC 3339 time; give the time from which to recover, like ?since=2026-12-01T00:00:00Z", raw))
		return
	}
	switch _, status := h.opts.Endpoints.Lookup(key); status {
	case endpoints.Disabled:
		writeError(w, http.StatusConflict, fmt.Sprintf("webhook %d of account %d is disabled (it answered 410 Gone); enable it first: POST /v1/endpoints/%d/enable", key.ID, key.AccountID, key.ID))
		return
	case endpoints.Refused:
		writeError(w, http.StatusConflict, fmt.Sprintf("the daemon refuses webhook %d of account %d (GET /v1/endpoints says why); fix its url in Chatwoot first", key.ID, key.AccountID))
		return
	}
	n, err := h.requeue(r.Context(), key, recoverStates, since)
	if err != nil {
		h.storeError(w, fmt.Sprintf("recovering (after %d re-queued)", n), err)
		return
	}
	h.log.Info("endpoint recovered through the admin API", "account", key.AccountID, "webhook", key.ID, "since", since, "deliveries", n)
	writeJSON(w, http.StatusOK, struct {
		Recovered int       `json:"recovered"` // deliveries re-queued
		Since     time.Time `json:"since"`
	}{n, since})
}

// oneEndpoint is the key of the path's endpoint, which must be unique.
func (h *Handler) oneEndpoint(w http.ResponseWriter, r *http.Request) (endpoints.Key, bool) {
	keys, ok := h.endpointKeys(w, r, r.PathValue("id"), "id")
	if !ok {
		return endpoints.Key{}, false
	}
	if len(keys) > 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("account: webhook %d exists in accounts %s; add ?account=N", keys[0].ID, accountList(keys)))
		return endpoints.Key{}, false
	}
	return keys[0], true
}

// stored runs a store write for an endpoint; false (answered 503) when it
// failed, so nothing changes.
func (h *Handler) stored(w http.ResponseWriter, r *http.Request, what string, write func(context.Context) error) bool {
	if h.opts.Marks == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	if err := write(ctx); err != nil {
		h.log.Error(what+": the store did not record it", "error", err)
		writeError(w, http.StatusServiceUnavailable, "the store did not record the "+what+", so nothing changed: "+err.Error()+"; check the store and try again")
		return false
	}
	return true
}

// pauseEndpoint is POST /v1/endpoints/{id}/pause: its deliveries, stored
// ones and new ones, wait (snoozed) until resumed; stored first, so every
// replica and the next run keep the pause.
func (h *Handler) pauseEndpoint(w http.ResponseWriter, r *http.Request) {
	key, ok := h.oneEndpoint(w, r)
	if !ok {
		return
	}
	at := time.Now().UTC()
	if !h.stored(w, r, "pause", func(ctx context.Context) error { return h.opts.Marks.SavePaused(ctx, key.AccountID, key.ID, at) }) {
		return
	}
	if !h.opts.Endpoints.Pause(key, at) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("webhook %d is not in the registry", key.ID))
		return
	}
	h.log.Info("endpoint paused through the admin API", "account", key.AccountID, "webhook", key.ID)
	writeJSON(w, http.StatusOK, struct {
		Endpoint EndpointJSON `json:"endpoint"`
		Hint     string       `json:"hint"`
	}{h.endpointState(key), fmt.Sprintf("its deliveries wait until POST /v1/endpoints/%d/resume", key.ID)})
}

// resumeEndpoint is POST /v1/endpoints/{id}/resume: the pause is cleared
// and every delivery waiting for it is re-queued at once, oldest first.
func (h *Handler) resumeEndpoint(w http.ResponseWriter, r *http.Request) {
	key, ok := h.oneEndpoint(w, r)
	if !ok {
		return
	}
	if !h.stored(w, r, "resume", func(ctx context.Context) error { return h.opts.Marks.ClearPaused(ctx, key.AccountID, key.ID) }) {
		return
	}
	found, was := h.opts.Endpoints.Resume(key)
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("webhook %d is not in the registry", key.ID))
		return
	}
	n, err := h.requeue(r.Context(), key, []rivertype.JobState{rivertype.JobStateScheduled}, time.Time{})
	if err != nil {
		h.storeError(w, fmt.Sprintf("re-queuing the waiting deliveries (resumed; %d re-queued; the others flow within %s)", n, delivery.PauseSnooze), err)
		return
	}
	h.log.Info("endpoint resumed through the admin API", "account", key.AccountID, "webhook", key.ID, "was_paused", was, "requeued", n)
	writeJSON(w, http.StatusOK, struct {
		WasPaused bool         `json:"was_paused"`
		Requeued  int          `json:"requeued"`
		Endpoint  EndpointJSON `json:"endpoint"`
	}{was, n, h.endpointState(key)})
}

func (h *Handler) endpointState(k endpoints.Key) EndpointJSON {
	for _, s := range h.opts.Endpoints.List() {
		if s.Key() == k {
			return endpointJSON(s)
		}
	}
	return EndpointJSON{}
}

// requeue makes every job of the endpoint in states, created since since,
// available now, oldest first; it returns how many deliveries they hold.
func (h *Handler) requeue(ctx context.Context, key endpoints.Key, states []rivertype.JobState, since time.Time) (int, error) {
	n, after := 0, int64(0)
	for {
		lctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
		params := river.NewJobListParams().Kinds(delivery.Kinds...).TagsAny(delivery.EndpointTag(key)).States(states...).
			OrderBy(river.JobListOrderByID, river.SortOrderAsc).First(MaxLimit).Where("id > @after", river.NamedArgs{"after": after})
		res, err := h.opts.Jobs.JobList(lctx, params)
		cancel()
		if err != nil {
			return n, err
		}
		for _, j := range res.Jobs {
			after = j.ID
			if j.CreatedAt.Before(since) {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
			_, err := h.opts.Jobs.JobRetry(rctx, j.ID)
			cancel()
			if err != nil {
				return n, err
			}
			n += deliveriesIn(j)
		}
		if len(res.Jobs) < MaxLimit {
			return n, nil
		}
	}
}

// deliveriesIn counts the deliveries a job holds: a batch's still in it.
func deliveriesIn(j *rivertype.JobRow) int {
	if j.Kind == delivery.BatchKind {
		return len(batchJSON(j, -1))
	}
	return 1
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
	params := river.NewJobListParams().Kinds(delivery.Kinds...).OrderBy(river.JobListOrderByID, river.SortOrderDesc)

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
		// The cursor is the id of the page's last job: River's own cursors
		// come only from a whole result, and a page may end before it.
		before, err := strconv.ParseInt(v, 10, 64)
		if err != nil || before < 1 {
			writeError(w, http.StatusBadRequest, "cursor: not a next_cursor of this API; start again without it")
			return
		}
		params = params.Where("id < @before", river.NamedArgs{"before": before})
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
	}{}
	out.Deliveries, out.NextCursor = page(res.Jobs, limit)
	writeJSON(w, http.StatusOK, out)
}

// page returns the deliveries of jobs (at most limit, newest first) and
// the cursor of the next page. A page ends with a whole job: a batch's
// deliveries are not split across pages, so a page holds at most limit
// deliveries unless its first job alone is a bigger batch.
func page(jobs []*rivertype.JobRow, limit int) ([]DeliveryJSON, string) {
	out := make([]DeliveryJSON, 0, len(jobs))
	for i, j := range jobs {
		var ds []DeliveryJSON
		if j.Kind == delivery.BatchKind {
			ds = batchJSON(j, -1)
		} else {
			ds = []DeliveryJSON{deliveryJSON(j)}
		}
		if i > 0 && len(out)+len(ds) > limit {
			return out, strconv.FormatInt(jobs[i-1].ID, 10)
		}
		out = append(out, ds...)
	}
	if len(jobs) == limit { // perhaps more
		return out, strconv.FormatInt(jobs[len(jobs)-1].ID, 10)
	}
	return out, ""
}

func (h *Handler) getDelivery(w http.ResponseWriter, r *http.Request) {
	ref, ok := h.findDelivery(w, r)
	if !ok {
		return
	}
	d := ref.json()
	if h.opts.Attempts != nil {
		ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
		logged, err := h.opts.Attempts.Attempts(ctx, d.DeliveryID)
		cancel()
		if err != nil {
			h.storeError(w, "reading the attempt log", err)
			return
		}
		d.Attempts = withLogged(d.Attempts, logged)
	}
	writeJSON(w, http.StatusOK, d)
}

// withLogged completes attempts from the attempt log: a logged attempt
// replaces the job's record of the same number (it has the duration, a
// 200's too); the job's records not logged (still in the log's window, or
// older than the log) stay.
func withLogged(fromJob []AttemptJSON, logged []store.Attempt) []AttemptJSON {
	byN := map[int]AttemptJSON{}
	for _, a := range fromJob {
		byN[a.Attempt] = a
	}
	for _, l := range logged {
		ms := float64(l.Duration.Microseconds()) / 1000
		byN[l.Attempt] = AttemptJSON{Attempt: l.Attempt, At: l.At.UTC(), Status: l.Status, DurationMS: &ms, Error: l.Error}
	}
	out := make([]AttemptJSON, 0, len(byN))
	for _, a := range byN {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b AttemptJSON) int { return a.Attempt - b.Attempt })
	return out
}

func (h *Handler) retryDelivery(w http.ResponseWriter, r *http.Request) {
	ref, ok := h.findDelivery(w, r)
	if !ok {
		return
	}
	job, d := ref.job, ref.json()
	switch job.State {
	case rivertype.JobStateRunning:
		writeError(w, http.StatusConflict, fmt.Sprintf("delivery %s has an attempt in flight; wait for its outcome", d.DeliveryID))
		return
	case rivertype.JobStateCompleted:
		writeError(w, http.StatusConflict, fmt.Sprintf("delivery %s was delivered (the endpoint answered 2xx); a replay under the same delivery id would be dropped by a receiver that deduplicates", d.DeliveryID))
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
	case endpoints.Refused:
		writeError(w, http.StatusConflict, fmt.Sprintf("the daemon refuses webhook %d of account %d (GET /v1/endpoints says why); fix its url in Chatwoot first", key.ID, key.AccountID))
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
	ref.job = job
	// Replaying a delivery of a batch replays the batch: its other
	// deliveries share its state, so they were not delivered either.
	h.log.Info("delivery replayed through the admin API", "delivery", d.DeliveryID, "job", job.ID, "previous_state", d.State, "batch", d.Batch)
	writeJSON(w, http.StatusOK, ref.json())
}

// deliveryRef is a delivery found in the store: its job and, in a batch
// job, its index.
type deliveryRef struct {
	job  *rivertype.JobRow
	item int // -1: the job is the delivery's own
}

func (ref deliveryRef) json() DeliveryJSON {
	if ref.item < 0 {
		return deliveryJSON(ref.job)
	}
	if ds := batchJSON(ref.job, ref.item); len(ds) == 1 {
		return ds[0]
	}
	return DeliveryJSON{} // unreachable: findDelivery checked the index
}

// findDelivery resolves {id}: the River job id of a delivery's own job, or
// an X-Chatwoot-Delivery UUID (of any delivery, batched or not).
func (h *Handler) findDelivery(w http.ResponseWriter, r *http.Request) (deliveryRef, bool) {
	raw := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	ref := deliveryRef{item: -1}
	if id, err := strconv.ParseInt(raw, 10, 64); err == nil && id > 0 {
		j, err := h.opts.Jobs.JobGet(ctx, id)
		switch {
		case errors.Is(err, river.ErrNotFound):
		case err != nil:
			h.storeError(w, "reading the delivery", err)
			return ref, false
		case j.Kind == delivery.Kind:
			ref.job = j
		case j.Kind == delivery.BatchKind:
			writeError(w, http.StatusNotFound, fmt.Sprintf("job %d carries a batch of deliveries to their first attempt; ask for one by its delivery_id (the X-Chatwoot-Delivery UUID)", id))
			return ref, false
		}
	} else if u, err := uuid.Parse(raw); err == nil {
		ref, err = h.findByDeliveryID(ctx, u.String())
		if err != nil {
			h.storeError(w, "finding the delivery", err)
			return ref, false
		}
	} else {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("id: %q is neither a delivery's id (a positive integer) nor its X-Chatwoot-Delivery UUID", raw))
		return ref, false
	}
	if ref.job == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no delivery %s (GET /v1/deliveries lists them; delivered ones are kept for --retention)", raw))
		return ref, false
	}
	return ref, true
}

// findByDeliveryID finds a delivery by its X-Chatwoot-Delivery id: in a job
// of its own (which a delivery that went on alone from its batch has), or
// else in a batch.
func (h *Handler) findByDeliveryID(ctx context.Context, id string) (deliveryRef, error) {
	ref := deliveryRef{item: -1}
	// args ->> 'key' reads a JSON field in both SQLite and PostgreSQL.
	res, err := h.opts.Jobs.JobList(ctx, river.NewJobListParams().Kinds(delivery.Kind).
		Where("args ->> 'delivery_id' = @delivery_id", river.NamedArgs{"delivery_id": id}).First(1))
	if err != nil {
		return ref, err
	}
	for _, j := range res.Jobs {
		var a delivery.Args
		if j.Kind == delivery.Kind && json.Unmarshal(j.EncodedArgs, &a) == nil && a.DeliveryID == id {
			ref.job = j
			return ref, nil
		}
	}
	// A batch's ids are in an array; its text is matched in both databases
	// (the id is a parsed UUID: no LIKE wildcards), then checked here.
	res, err = h.opts.Jobs.JobList(ctx, river.NewJobListParams().Kinds(delivery.BatchKind).
		Where("CAST(args AS TEXT) LIKE @pattern", river.NamedArgs{"pattern": "%" + id + "%"}).First(10))
	if err != nil {
		return ref, err
	}
	for _, j := range res.Jobs {
		if i := batchItem(j, id); i >= 0 {
			return deliveryRef{job: j, item: i}, nil
		}
	}
	return ref, nil
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
