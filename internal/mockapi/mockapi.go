package mockapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Options configures a Server. Zero values pick the documented defaults.
type Options struct {
	Seed   *Seed        // nil: DefaultSeed()
	Logger hclog.Logger // nil = silent

	// WebhookTimeout bounds each delivery to a webhook (open and read);
	// default 5s, upstream's WEBHOOK_TIMEOUT.
	WebhookTimeout time.Duration
	// AllowPrivateNetwork lets deliveries reach private and loopback
	// addresses, as upstream's SAFE_FETCH_ALLOW_PRIVATE_NETWORK=true.
	AllowPrivateNetwork bool
	// DeliveryWorkers is how many deliveries are in flight at once;
	// default 4 (upstream: Sidekiq's concurrency).
	DeliveryWorkers int
}

// RequestRecord is one request to a Chatwoot path and the status it got.
type RequestRecord struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

// StatusClientGone is recorded for a request whose client went away before
// it was answered (while a fault delayed it), as nginx logs it.
const StatusClientGone = 499

// maxBody bounds request bodies; upstream has no small limit, this only
// protects the mock.
const maxBody = 10 << 20

// Server is the mock Chatwoot API. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	opts    Options
	log     hclog.Logger
	api     *http.ServeMux // Chatwoot routes
	support *http.ServeMux // /_mock routes
	started time.Time

	// Immutable after New.
	accounts map[int64]*account
	users    map[string]*user // by token
	inboxes  map[int64]*inbox // global ids, like upstream's
	contacts map[int64]*contact

	mu            sync.Mutex
	requests      []RequestRecord
	faults        []Fault
	webhooks      map[int64]*webhook
	nextWebhookID int64
	conversations map[convKey]*conversation
	nextMessageID int64
	events        []*EventRecord
	deliveries    []*DeliveryRecord
	pending       []outgoing    // deliveries not picked by a deliverer yet
	eventsChanged chan struct{} // closed and replaced whenever events or deliveries change

	dlv *deliverer
}

type account struct {
	id             int64
	name           string
	onboardingStep *string // null once onboarding is done, as for seeded accounts upstream
}

type user struct {
	SeedUser
	roles       map[int64]string // account id → role
	pubsubToken string
}

type inbox struct {
	SeedInbox
	members map[int64]bool // nil: every agent of the account
}

type contact struct{ SeedContact }

type convKey struct{ account, display int64 }

type conversation struct {
	seed            SeedConversation
	status          string
	createdAt       time.Time
	updatedAt       time.Time
	lastActivityAt  time.Time
	contactSourceID string // contact_inbox.source_id
	contactInboxID  int64
	pubsubToken     string
	waitingSince    time.Time // zero: not waiting
	firstReplyAt    time.Time
	messages        []*message
}

type webhook struct {
	id, accountID int64
	url           *string
	name          *string
	subscriptions []any // as sent; only []string ever passes validation
	inboxID       *int64
	secret        string
}

// New returns a Server serving opts.Seed. It panics when the seed does not
// pass Seed.Validate (LoadSeed and DefaultSeed always do).
func New(opts Options) *Server {
	if opts.Seed == nil {
		opts.Seed = DefaultSeed()
	}
	if err := opts.Seed.Validate(); err != nil {
		panic("mockapi: invalid seed: " + err.Error())
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.DeliveryWorkers <= 0 {
		opts.DeliveryWorkers = 4
	}
	now := time.Now().UTC().Truncate(time.Second)
	s := &Server{
		opts:          opts,
		log:           opts.Logger,
		started:       now,
		accounts:      map[int64]*account{},
		users:         map[string]*user{},
		inboxes:       map[int64]*inbox{},
		contacts:      map[int64]*contact{},
		webhooks:      map[int64]*webhook{},
		conversations: map[convKey]*conversation{},
		nextWebhookID: 1,
		nextMessageID: 1,
		eventsChanged: make(chan struct{}),
	}
	seed := opts.Seed
	for _, a := range seed.Accounts {
		s.accounts[a.ID] = &account{id: a.ID, name: a.Name, onboardingStep: a.OnboardingStep}
	}
	for _, u := range seed.Users {
		nu := &user{SeedUser: u, roles: map[int64]string{}, pubsubToken: randomToken(24)}
		for _, m := range u.Accounts {
			nu.roles[m.AccountID] = m.Role
		}
		s.users[u.AccessToken] = nu
	}
	for _, in := range seed.Inboxes {
		ni := &inbox{SeedInbox: in}
		if in.Members != nil {
			ni.members = map[int64]bool{}
			for _, id := range in.Members {
				ni.members[id] = true
			}
		}
		s.inboxes[in.ID] = ni
	}
	for _, c := range seed.Contacts {
		s.contacts[c.ID] = &contact{SeedContact: c}
	}
	for i, c := range seed.Conversations {
		created := now
		if c.CreatedAt > 0 {
			created = time.Unix(c.CreatedAt, 0).UTC()
		}
		status := c.Status
		if status == "" {
			status = "open"
		}
		s.conversations[convKey{c.AccountID, c.DisplayID}] = &conversation{
			seed: c, status: status, createdAt: created, updatedAt: created, lastActivityAt: created,
			contactSourceID: uuid.NewString(), contactInboxID: int64(i + 1), pubsubToken: randomToken(24),
			waitingSince: created,
		}
	}
	for _, w := range seed.Webhooks {
		nw := &webhook{id: w.ID, accountID: w.AccountID, url: ptr(w.URL), inboxID: w.InboxID, secret: w.Secret}
		if w.Name != "" {
			nw.name = ptr(w.Name)
		}
		subs := w.Subscriptions
		if subs == nil {
			subs = chatwoot.DefaultSubscriptions
		}
		for _, ev := range subs {
			nw.subscriptions = append(nw.subscriptions, ev)
		}
		if nw.secret == "" {
			nw.secret = randomToken(24)
		}
		s.webhooks[w.ID] = nw
		s.nextWebhookID = max(s.nextWebhookID, w.ID+1)
	}
	s.dlv = newDeliverer(s, opts)
	s.routes()
	return s
}

func (s *Server) routes() {
	s.api = http.NewServeMux()
	s.api.HandleFunc("GET /api/v1/profile", s.handleProfile)
	s.api.HandleFunc("GET /api/v1/accounts/{account_id}/webhooks", s.handleListWebhooks)
	s.api.HandleFunc("POST /api/v1/accounts/{account_id}/webhooks", s.handleCreateWebhook)
	s.api.HandleFunc("PATCH /api/v1/accounts/{account_id}/webhooks/{id}", s.handleUpdateWebhook)
	s.api.HandleFunc("PUT /api/v1/accounts/{account_id}/webhooks/{id}", s.handleUpdateWebhook)
	s.api.HandleFunc("DELETE /api/v1/accounts/{account_id}/webhooks/{id}", s.handleDeleteWebhook)
	s.api.HandleFunc("POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages", s.handleCreateMessage)
	// Rails answers 404 for any route it does not have, whatever the method.
	s.api.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeRailsStatus(w, http.StatusNotFound) })

	s.support = http.NewServeMux()
	s.support.HandleFunc("GET /_mock/requests", s.handleGetRequests)
	s.support.HandleFunc("DELETE /_mock/requests", s.handleResetRequests)
	s.support.HandleFunc("GET /_mock/faults", s.handleGetFaults)
	s.support.HandleFunc("POST /_mock/faults", s.handleAddFault)
	s.support.HandleFunc("DELETE /_mock/faults", s.handleClearFaults)
	s.support.HandleFunc("GET /_mock/events", s.handleGetEvents)
	s.support.HandleFunc("DELETE /_mock/events", s.handleResetEvents)
	s.support.HandleFunc("GET /_mock/deliveries", s.handleGetDeliveries)
	s.support.HandleFunc("DELETE /_mock/deliveries", s.handleResetDeliveries)
	s.support.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{
			"error": fmt.Sprintf("no test-support route %s %s; use GET|DELETE /_mock/requests, GET|POST|DELETE /_mock/faults, GET|DELETE /_mock/events, GET|DELETE /_mock/deliveries", r.Method, r.URL.Path),
		})
	})
}

// ServeHTTP serves the Chatwoot routes, recording each request and applying
// pending faults, and the unrecorded /_mock test-support routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_mock" || strings.HasPrefix(r.URL.Path, "/_mock/") {
		s.log.Debug("test-support request", "method", r.Method, "path", r.URL.Path)
		s.support.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	rec := &recorder{ResponseWriter: w, s: s, method: r.Method, path: r.URL.Path}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panicked; answering 500", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !rec.wrote {
				writeRailsStatus(rec, http.StatusInternalServerError)
			}
		}
		status := rec.finish()
		// Paths only: a token passed in a query string must never reach a log.
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", status, "duration", time.Since(start).Round(time.Microsecond).String())
	}()
	if f, ok := s.takeFault(r); ok {
		s.log.Info("injecting fault", "method", r.Method, "path", r.URL.Path, "status", f.Status, "delay", f.Delay.String())
		if applyFault(r.Context(), rec, f) {
			return
		}
	}
	s.api.ServeHTTP(rec, normalizePath(r))
}

// normalizePath drops a trailing slash and a ".json" format suffix, which
// Rails routes accept.
func normalizePath(r *http.Request) *http.Request {
	p := r.URL.Path
	p = strings.TrimSuffix(p, "/")
	p = strings.TrimSuffix(p, ".json")
	if p == r.URL.Path || p == "" {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	return r2
}

// recorder appends the RequestRecord when the status is written, before the
// client can see the answer, so /_mock/requests never lags behind.
type recorder struct {
	http.ResponseWriter
	s            *Server
	method, path string
	wrote        bool
	status       int
	abandoned    bool
}

func (rw *recorder) WriteHeader(status int) {
	if !rw.wrote {
		rw.wrote, rw.status = true, status
		rw.s.record(RequestRecord{Method: rw.method, Path: rw.path, Status: status})
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	return rw.ResponseWriter.Write(b)
}

func (rw *recorder) finish() int {
	if !rw.wrote {
		if rw.abandoned {
			rw.wrote, rw.status = true, StatusClientGone
			rw.s.record(RequestRecord{Method: rw.method, Path: rw.path, Status: StatusClientGone})
		} else {
			rw.WriteHeader(http.StatusOK)
		}
	}
	return rw.status
}

func (s *Server) record(r RequestRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

// Requests returns every Chatwoot-path request since start or the last reset.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestRecord{}, s.requests...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Close stops delivering to webhooks (cancelling deliveries in flight,
// failing the queued ones) and waits for the deliverers to exit. The
// handler keeps answering; events fired after Close are recorded but not
// delivered.
func (s *Server) Close() error {
	s.dlv.close()
	return nil
}

// --- request pipeline: authentication, parameters, account ---

// call is an authenticated account-scoped request.
type call struct {
	user    *user
	account *account
	role    string
	params  map[string]any
}

// authenticate answers 401 as upstream does when the token is missing or
// unknown. Upstream reads HTTP_API_ACCESS_TOKEN, which Rack fills from both
// api_access_token and Api-Access-Token (what n8n's Chatwoot node sends).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) *user {
	token := r.Header.Get("api_access_token")
	if token == "" {
		token = r.Header.Get("Api-Access-Token")
	}
	if token == "" {
		writeJSON(w, http.StatusUnauthorized, chatwoot.ErrorBody{Errors: []string{chatwoot.MsgSignIn}})
		return nil
	}
	u := s.users[token]
	if u == nil {
		writeError(w, http.StatusUnauthorized, chatwoot.MsgInvalidToken)
		return nil
	}
	return u
}

// accountCall runs upstream's before-actions in their order: body parse
// (400: the auth before-action reads params first, so malformed JSON is a
// 400 even without a token), token (401), account exists (404),
// membership (401) and, when adminOnly, the administrator policy (401).
func (s *Server) accountCall(w http.ResponseWriter, r *http.Request, adminOnly bool) (*call, bool) {
	params, ok := readParams(w, r)
	if !ok {
		return nil, false
	}
	u := s.authenticate(w, r)
	if u == nil {
		return nil, false
	}
	id, err := strconv.ParseInt(r.PathValue("account_id"), 10, 64)
	acc := s.accounts[id]
	if err != nil || acc == nil {
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return nil, false
	}
	role := u.roles[acc.id]
	if role == "" {
		writeError(w, http.StatusUnauthorized, chatwoot.MsgNotInAccount)
		return nil, false
	}
	if adminOnly && role != chatwoot.RoleAdministrator {
		writeError(w, http.StatusUnauthorized, chatwoot.MsgNotAuthorizedAction)
		return nil, false
	}
	return &call{user: u, account: acc, role: role, params: params}, true
}

// readParams parses a JSON body the way Rails does: only with a JSON
// Content-Type, a parse error is 400, a non-object body gives no params.
func readParams(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			hint(w, fmt.Sprintf("request body over %d bytes; send a smaller body", maxBody))
			writeRailsStatus(w, http.StatusRequestEntityTooLarge)
		} else {
			writeRailsStatus(w, http.StatusBadRequest)
		}
		return nil, false
	}
	params := map[string]any{}
	if len(bytes.TrimSpace(body)) == 0 {
		return params, true
	}
	if ct := r.Header.Get("Content-Type"); !isJSONMedia(ct) {
		hint(w, fmt.Sprintf("request body ignored because Content-Type is %q; send Content-Type: application/json", ct))
		return params, true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		hint(w, fmt.Sprintf("request body is not valid JSON (%v); fix the body", err))
		writeRailsStatus(w, http.StatusBadRequest)
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		hint(w, "request body has data after the JSON value; send exactly one JSON object")
		writeRailsStatus(w, http.StatusBadRequest)
		return nil, false
	}
	if obj, ok := v.(map[string]any); ok {
		return obj, true
	}
	return params, true
}

func isJSONMedia(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// hint explains a 4xx in a header, leaving the body exactly upstream's.
func hint(w http.ResponseWriter, msg string) { w.Header().Set("X-Mock-Hint", msg) }

// --- profile ---

type profileAccount struct {
	ID                 int64    `json:"id"`
	Name               string   `json:"name"`
	Status             string   `json:"status"`
	ActiveAt           *string  `json:"active_at"`
	Role               string   `json:"role"`
	Permissions        []string `json:"permissions"`
	Availability       string   `json:"availability"`
	AvailabilityStatus string   `json:"availability_status"`
	AutoOffline        bool     `json:"auto_offline"`
	OnboardingStep     *string  `json:"onboarding_step"`
}

func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) {
	u := s.authenticate(w, r)
	if u == nil {
		return
	}
	if _, ok := readParams(w, r); !ok {
		return
	}
	accounts := make([]profileAccount, 0, len(u.Accounts))
	for _, m := range u.Accounts {
		perms := []string{m.Role}
		accounts = append(accounts, profileAccount{
			ID: m.AccountID, Name: s.accounts[m.AccountID].name, Status: "active", Role: m.Role,
			Permissions: perms, Availability: "online", AvailabilityStatus: "online", AutoOffline: true,
			OnboardingStep: s.accounts[m.AccountID].onboardingStep,
		})
	}
	active := u.Accounts[0]
	// Upstream's api/v1/models/_user view, access_token included.
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      u.AccessToken,
		"account_id":        active.AccountID,
		"available_name":    u.Name,
		"avatar_url":        "",
		"confirmed":         true,
		"display_name":      nil,
		"message_signature": nil,
		"email":             u.Email,
		"id":                u.ID,
		"inviter_id":        nil,
		"name":              u.Name,
		"provider":          "email",
		"pubsub_token":      u.pubsubToken,
		"role":              active.Role,
		"ui_settings":       map[string]any{},
		"uid":               u.Email,
		"type":              nil,
		"accounts":          accounts,
	})
}

// --- responses ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are marshalled; this is a bug, not bad input.
		panic(fmt.Sprintf("mockapi: encoding answer: %v", err))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, chatwoot.ErrorBody{Error: msg})
}

// writeRailsStatus answers like Rails' public exceptions app does for JSON
// requests: {"status":404,"error":"Not Found"}.
func writeRailsStatus(w http.ResponseWriter, status int) {
	writeJSON(w, status, struct {
		Status int    `json:"status"`
		Error  string `json:"error"`
	}{status, http.StatusText(status)})
}

// --- small helpers ---

func ptr[T any](v T) *T { return &v }

// base58 is the alphabet of Rails' has_secure_token (SecureRandom.base58).
const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// randomToken returns n uniformly random base58 characters, like Rails'
// has_secure_token (24 by default).
func randomToken(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			if b < 232 && len(out) < n { // 232 = 4×58: rejection keeps it unbiased
				out = append(out, base58[b%58])
			}
		}
	}
	return string(out)
}

// notifyEventsLocked wakes WaitForEvents callers. s.mu must be held.
func (s *Server) notifyEventsLocked() {
	close(s.eventsChanged)
	s.eventsChanged = make(chan struct{})
}

// cloneMap copies a JSON object one level deep, so answers never alias the
// seed's maps.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return maps.Clone(m)
}

var _ http.Handler = (*Server)(nil)
