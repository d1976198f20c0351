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

// Records are the store's delivery records as the admin API reads and
// replays them.
type Records interface {
	ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error)
	DeliveryByID(ctx context.Context, id int64) (store.Delivery, error)
	DeliveryByUUID(ctx context.Context, uuid string) (store.Delivery, error)
	Attempts(ctx context.Context, deliveryID int64) ([]store.Attempt, error)
	AttemptsOf(ctx context.Context, deliveryIDs []int64) (map[int64][]store.Attempt, error)
	// Replay makes a delivery in one of the states from pending again
	// for one more attempt, in a new job; false if its state was another.
	Replay(ctx context.Context, id int64, from []string) (bool, error)
}

// Options configures a Handler.
type Options struct {
	Records   Records
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
var recoverStates = []string{store.StateFailed, store.StateDead, store.StateCancelled}

// recoverEndpoint is POST /v1/endpoints/{id}/recover?since=RFC3339 (Svix's
// "recover"): every failed, dead or cancelled delivery of the endpoint
// created since then is attempted again, oldest first, under its own
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
	if !h.deliverable(w, key) {
		return
	}
	n, err := h.recover(r.Context(), key, since)
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

// deliverable reports whether deliveries to key can be replayed now; if
// not, it answers 409 saying what to fix first.
func (h *Handler) deliverable(w http.ResponseWriter, key endpoints.Key) bool {
	switch _, status := h.opts.Endpoints.Lookup(key); status {
	case endpoints.Removed:
		writeError(w, http.StatusConflict, fmt.Sprintf("webhook %d of account %d no longer exists upstream; there is nowhere to deliver to", key.ID, key.AccountID))
	case endpoints.Disabled:
		writeError(w, http.StatusConflict, fmt.Sprintf("webhook %d of account %d is disabled (it answered 410 Gone); enable it first: POST /v1/endpoints/%d/enable", key.ID, key.AccountID, key.ID))
	case endpoints.Refused:
		writeError(w, http.StatusConflict, fmt.Sprintf("the daemon refuses webhook %d of account %d (GET /v1/endpoints says why); fix its url in Chatwoot first", key.ID, key.AccountID))
	default:
		return true
	}
	return false
}

// recover replays the endpoint's failed, dead and cancelled deliveries
// created since since, oldest first, a page of the (account, webhook, id)
// index at a time.
func (h *Handler) recover(ctx context.Context, key endpoints.Key, since time.Time) (int, error) {
	n, after := 0, int64(0)
	for {
		lctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
		ds, err := h.opts.Records.ListDeliveries(lctx, store.DeliveryFilter{
			States: recoverStates, Endpoints: []store.Endpoint{{AccountID: key.AccountID, WebhookID: key.ID}},
			Since: since, Ascending: true, AfterID: after, Limit: MaxLimit,
		})
		cancel()
		if err != nil {
			return n, err
		}
		for _, d := range ds {
			after = d.ID
			ok, err := h.replay(ctx, d)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
		if len(ds) < MaxLimit {
			return n, nil
		}
	}
}

// replay attempts d again now: a failed delivery's waiting job is made
// available (River's JobRetry); a dead or cancelled one gets one more
// attempt in a new job.
func (h *Handler) replay(ctx context.Context, d store.Delivery) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	if d.State == store.StateFailed && d.JobID > 0 {
		_, err := h.opts.Jobs.JobRetry(ctx, d.JobID)
		if err == nil || !errors.Is(err, river.ErrNotFound) {
			return err == nil, err
		}
	}
	return h.opts.Records.Replay(ctx, d.ID, recoverStates)
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

// deliveriesIn counts the deliveries a job carries.
func deliveriesIn(j *rivertype.JobRow) int {
	if j.Kind == delivery.BatchKind {
		var a delivery.BatchArgs
		if json.Unmarshal(j.EncodedArgs, &a) == nil {
			return len(a.IDs)
		}
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
	f := store.DeliveryFilter{Limit: DefaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: %q is not a number from 1 to %d", v, MaxLimit))
			return
		}
		f.Limit = n
	}
	if v := q.Get("state"); v != "" {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(store.States, s) {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("state: %q is not one of %s", s, strings.Join(store.States, ", ")))
				return
			}
			f.States = append(f.States, s)
		}
	}
	if v := q.Get("endpoint"); v != "" {
		keys, ok := h.endpointKeys(w, r, v, "endpoint")
		if !ok {
			return
		}
		for _, k := range keys {
			f.Endpoints = append(f.Endpoints, store.Endpoint{AccountID: k.AccountID, WebhookID: k.ID})
		}
	} else if q.Get("account") != "" {
		writeError(w, http.StatusBadRequest, "account: only meaningful with endpoint=ID")
		return
	}
	if v := q.Get("cursor"); v != "" {
		before, err := strconv.ParseInt(v, 10, 64)
		if err != nil || before < 1 {
			writeError(w, http.StatusBadRequest, "cursor: not a next_cursor of this API; start again without it")
			return
		}
		f.BeforeID = before
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	ds, err := h.opts.Records.ListDeliveries(ctx, f)
	if err != nil {
		h.storeError(w, "listing deliveries", err)
		return
	}
	out := struct {
		Deliveries []DeliveryJSON `json:"deliveries"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}{Deliveries: make([]DeliveryJSON, len(ds))}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	attempts, err := h.opts.Records.AttemptsOf(ctx, ids)
	if err != nil {
		h.storeError(w, "reading the deliveries' attempts", err)
		return
	}
	for i, d := range ds {
		out.Deliveries[i] = deliveryJSON(d)
		out.Deliveries[i].Attempts = attemptsJSON(attempts[d.ID])
	}
	if len(ds) == f.Limit { // perhaps more: the cursor is the page's last id
		out.NextCursor = strconv.FormatInt(ds[len(ds)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getDelivery(w http.ResponseWriter, r *http.Request) {
	d, ok := h.findDelivery(w, r)
	if !ok {
		return
	}
	out, err := h.fullJSON(r.Context(), d)
	if err != nil {
		h.storeError(w, "reading the delivery's attempts", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// fullJSON is d with its attempts and whether one is in flight.
func (h *Handler) fullJSON(ctx context.Context, d store.Delivery) (DeliveryJSON, error) {
	out := deliveryJSON(d)
	ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	as, err := h.opts.Records.Attempts(ctx, d.ID)
	if err != nil {
		return out, err
	}
	out.Attempts = attemptsJSON(as)
	if d.JobID > 0 && !store.Final(d.State) {
		if j, err := h.opts.Jobs.JobGet(ctx, d.JobID); err == nil && j.State == rivertype.JobStateRunning {
			out.InFlight = true
		}
	}
	return out, nil
}

func (h *Handler) retryDelivery(w http.ResponseWriter, r *http.Request) {
	d, ok := h.findDelivery(w, r)
	if !ok {
		return
	}
	switch d.State {
	case store.StateSucceeded:
		writeError(w, http.StatusConflict, fmt.Sprintf("delivery %s was delivered (the endpoint answered 2xx); a replay under the same delivery id would be dropped by a receiver that deduplicates", d.UUID))
		return
	case store.StatePending:
		writeError(w, http.StatusConflict, fmt.Sprintf("delivery %s is waiting for its attempt or has one in flight; wait for its outcome", d.UUID))
		return
	}
	if !h.deliverable(w, endpoints.Key{AccountID: d.AccountID, ID: d.WebhookID}) {
		return
	}
	ok, err := h.replay(r.Context(), d)
	if err != nil {
		h.storeError(w, "retrying the delivery", err)
		return
	}
	if !ok {
		writeError(w, http.StatusConflict, fmt.Sprintf("delivery %s changed state meanwhile; GET /v1/deliveries/%d shows it", d.UUID, d.ID))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	if nd, err := h.opts.Records.DeliveryByID(ctx, d.ID); err == nil {
		d = nd
	}
	h.log.Info("delivery replayed through the admin API", "delivery", d.UUID, "id", d.ID)
	writeJSON(w, http.StatusOK, deliveryJSON(d))
}

// findDelivery resolves {id}: a delivery's row id, or its
// X-Chatwoot-Delivery id (the unique index on it).
func (h *Handler) findDelivery(w http.ResponseWriter, r *http.Request) (store.Delivery, bool) {
	raw := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	var d store.Delivery
	var err error
	if id, perr := strconv.ParseInt(raw, 10, 64); perr == nil && id > 0 {
		d, err = h.opts.Records.DeliveryByID(ctx, id)
	} else if u, perr := uuid.Parse(raw); perr == nil {
		d, err = h.opts.Records.DeliveryByUUID(ctx, u.String())
	} else {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("id: %q is neither a delivery's id (a positive integer) nor its X-Chatwoot-Delivery UUID", raw))
		return d, false
	}
	switch {
	case errors.Is(err, store.ErrNoDelivery):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no delivery %s (GET /v1/deliveries lists them; delivered ones are kept for --retention)", raw))
		return d, false
	case err != nil:
		h.storeError(w, "reading the delivery", err)
		return d, false
	}
	return d, true
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
