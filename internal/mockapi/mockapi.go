package mockapi

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
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
	// InboxEvents fires inbox_created and inbox_updated, as upstream does
	// only with ENABLE_INBOX_EVENTS set.
	InboxEvents bool
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
	users    map[string]*user     // by token
	bots     map[string]*agentBot // by token

	mu            sync.Mutex
	requests      []RequestRecord
	faults        []Fault
	webhooks      map[int64]*webhook
	nextWebhookID int64
	inboxes       map[int64]*inbox // global ids, like upstream's
	contacts      map[int64]*contact
	contactInbox  []*contactInbox
	conversations map[convKey]*conversation
	nextMessageID int64
	ids           idSequences
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
	suspended      bool
}

type user struct {
	SeedUser
	roles       map[int64]string // account id → role
	pubsubToken string
}

type contact struct {
	SeedContact
	createdAt, updatedAt time.Time
	lastActivityAt       time.Time // zero until the contact first writes
	contactType          string    // visitor, lead or customer
	location             string    // additional_attributes.city, copied on save
	countryCode          string    // additional_attributes.country, copied on save
}

// contactInbox is a contact_inboxes row: a contact as known to one inbox.
type contactInbox struct {
	id, contactID, inboxID int64
	sourceID               string
	pubsubToken            string
	createdAt              time.Time
}

// idSequences are the next ids of the tables the API can insert into.
type idSequences struct {
	contact, contactInbox, inbox, channel, attachment int64
	display                                           map[int64]int64 // per account
}

type convKey struct{ account, display int64 }

type conversation struct {
	seed           SeedConversation // ids and the attributes the API does not change
	uuid           string
	ci             *contactInbox
	status         string
	snoozedUntil   time.Time
	assignee       *user
	customAttrs    map[string]any
	createdAt      time.Time
	updatedAt      time.Time
	lastActivityAt time.Time
	waitingSince   time.Time // zero: not waiting
	firstReplyAt   time.Time
	messages       []*message
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
		bots:          map[string]*agentBot{},
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
		s.accounts[a.ID] = &account{id: a.ID, name: a.Name, onboardingStep: a.OnboardingStep, suspended: a.Suspended}
	}
	for _, b := range seed.AgentBots {
		s.bots[b.AccessToken] = &agentBot{SeedAgentBot: b}
	}
	for _, u := range seed.Users {
		nu := &user{SeedUser: u, roles: map[int64]string{}, pubsubToken: randomToken(24)}
		for _, m := range u.Accounts {
			nu.roles[m.AccountID] = m.Role
		}
		s.users[u.AccessToken] = nu
	}
	s.ids = idSequences{display: map[int64]int64{}}
	for _, in := range seed.Inboxes {
		s.inboxes[in.ID] = newInbox(in, now)
		s.ids.inbox = max(s.ids.inbox, in.ID)
	}
	s.ids.channel = s.ids.inbox
	for _, c := range seed.Contacts {
		ct := &contact{SeedContact: c, createdAt: now, updatedAt: now}
		ct.prepare()
		s.contacts[c.ID] = ct
		s.ids.contact = max(s.ids.contact, c.ID)
	}
	for _, c := range seed.Conversations {
		created := now
		if c.CreatedAt > 0 {
			created = time.Unix(c.CreatedAt, 0).UTC()
		}
		status := c.Status
		if status == "" {
			status = "open"
		}
		conv := &conversation{
			seed: c, uuid: uuid.NewString(), ci: s.contactInboxLocked(c.ContactID, c.InboxID, "", created),
			status: status, customAttrs: cloneMap(c.CustomAttributes),
			createdAt: created, updatedAt: created, lastActivityAt: created, waitingSince: created,
		}
		if c.Replied {
			conv.waitingSince, conv.firstReplyAt = time.Time{}, created
		}
		s.conversations[convKey{c.AccountID, c.DisplayID}] = conv
		s.ids.display[c.AccountID] = max(s.ids.display[c.AccountID], c.DisplayID)
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
	s.api.HandleFunc("GET /api/v1/accounts/{account_id}/conversations", s.handleListConversations)
	s.api.HandleFunc("GET /api/v1/accounts/{account_id}/conversations/{conversation_id}", s.handleShowConversation)
	s.api.HandleFunc("GET /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages", s.handleListMessages)
	s.api.HandleFunc("GET /api/v1/accounts/{account_id}/contacts", s.handleListContacts)
	s.api.HandleFunc("GET /api/v1/accounts/{account_id}/contacts/{id}", s.handleShowContact)
	s.api.HandleFunc("GET /api/v1/accounts/{account_id}/inboxes", s.handleListInboxes)
	s.api.HandleFunc("GET /api/v1/accounts/{account_id}/inboxes/{id}", s.handleShowInbox)
	s.api.HandleFunc("POST /api/v1/accounts/{account_id}/conversations", s.handleCreateConversation)
	s.api.HandleFunc("POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_status", s.handleToggleStatus)
	s.api.HandleFunc("POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_typing_status", s.handleToggleTyping)
	s.api.HandleFunc("POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages", s.handleCreateMessage)
	s.api.HandleFunc("PATCH /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{id}", s.handleUpdateMessage)
	s.api.HandleFunc("PUT /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{id}", s.handleUpdateMessage)
	s.api.HandleFunc("DELETE /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{id}", s.handleDeleteMessage)
	s.api.HandleFunc("POST /api/v1/accounts/{account_id}/contacts", s.handleCreateContact)
	s.api.HandleFunc("PATCH /api/v1/accounts/{account_id}/contacts/{id}", s.handleUpdateContact)
	s.api.HandleFunc("PUT /api/v1/accounts/{account_id}/contacts/{id}", s.handleUpdateContact)
	s.api.HandleFunc("POST /api/v1/accounts/{account_id}/inboxes", s.handleCreateInbox)
	s.api.HandleFunc("PATCH /api/v1/accounts/{account_id}/inboxes/{id}", s.handleUpdateInbox)
	s.api.HandleFunc("PUT /api/v1/accounts/{account_id}/inboxes/{id}", s.handleUpdateInbox)
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
	s.support.HandleFunc("POST /_mock/webwidget_triggered", s.handleWebwidgetTriggered)
	s.support.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{
			"error": fmt.Sprintf("no test-support route %s %s; use GET|DELETE /_mock/requests, GET|POST|DELETE /_mock/faults, GET|DELETE /_mock/events, GET|DELETE /_mock/deliveries, POST /_mock/webwidget_triggered", r.Method, r.URL.Path),
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

// call is an authenticated account-scoped request, by a user or, on the
// routes that allow them, an agent bot.
type call struct {
	user    *user     // nil for a bot
	bot     *agentBot // nil for a user
	account *account
	role    string // the user's role; "" for a bot
	params  params
	// jsonBody: the params came from a JSON body, which wrap_parameters wraps.
	jsonBody bool
	baseURL  string // scheme://host the client called
}

// access is who may call a route.
type access int

const (
	members        access = iota // any user of the account
	administrators               // the account's administrators
	membersOrBots                // users and the account's agent bots
)

type agentBot struct{ SeedAgentBot }

// authenticate answers 401 as upstream does when the token is missing or
// unknown. Upstream reads HTTP_API_ACCESS_TOKEN, which Rack fills from both
// api_access_token and Api-Access-Token (what n8n's Chatwoot node sends).
// A bot token passes only where botsAllowed, as validate_bot_access_token!.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, botsAllowed bool) (*user, *agentBot) {
	token := r.Header.Get("api_access_token")
	if token == "" {
		token = r.Header.Get("Api-Access-Token")
	}
	if token == "" {
		writeJSON(w, http.StatusUnauthorized, chatwoot.ErrorBody{Errors: []string{chatwoot.MsgSignIn}})
		return nil, nil
	}
	if b := s.bots[token]; b != nil {
		if !botsAllowed {
			writeError(w, http.StatusUnauthorized, chatwoot.MsgBotsNotAuthorized)
			return nil, nil
		}
		return nil, b
	}
	u := s.users[token]
	if u == nil {
		writeError(w, http.StatusUnauthorized, chatwoot.MsgInvalidToken)
	}
	return u, nil
}

// accountCall runs upstream's before-actions in their order: body parse
// (400: the auth before-action reads params first, so malformed JSON is a
// 400 even without a token), token (401), bot token on a user route (401),
// account exists (404), account suspended (401), membership (401) and the
// administrator policy (401).
func (s *Server) accountCall(w http.ResponseWriter, r *http.Request, who access) (*call, bool) {
	params, jsonBody, ok := readParams(w, r)
	if !ok {
		return nil, false
	}
	u, bot := s.authenticate(w, r, who == membersOrBots)
	if u == nil && bot == nil {
		return nil, false
	}
	id, err := strconv.ParseInt(r.PathValue("account_id"), 10, 64)
	acc := s.accounts[id]
	if err != nil || acc == nil {
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return nil, false
	}
	if acc.suspended {
		writeError(w, http.StatusUnauthorized, chatwoot.MsgAccountSuspended)
		return nil, false
	}
	if bot != nil {
		if bot.AccountID != acc.id {
			writeError(w, http.StatusUnauthorized, chatwoot.MsgNotInAccount)
			return nil, false
		}
		return &call{bot: bot, account: acc, params: params, jsonBody: jsonBody, baseURL: baseURL(r)}, true
	}
	role := u.roles[acc.id]
	if role == "" {
		writeError(w, http.StatusUnauthorized, chatwoot.MsgNotInAccount)
		return nil, false
	}
	if who == administrators && role != chatwoot.RoleAdministrator {
		writeError(w, http.StatusUnauthorized, chatwoot.MsgNotAuthorizedAction)
		return nil, false
	}
	return &call{user: u, account: acc, role: role, params: params, jsonBody: jsonBody, baseURL: baseURL(r)}, true
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// hint explains a 4xx in a header, leaving the body exactly upstream's.
// The first hint of a request stays: it names the first cause.
func hint(w http.ResponseWriter, msg string) {
	if w.Header().Get("X-Mock-Hint") == "" {
		w.Header().Set("X-Mock-Hint", msg)
	}
}

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
	if _, _, ok := readParams(w, r); !ok {
		return
	}
	u, _ := s.authenticate(w, r, false)
	if u == nil {
		return
	}
	accounts := make([]profileAccount, 0, len(u.Accounts))
	for _, m := range u.Accounts {
		perms := []string{m.Role}
		accounts = append(accounts, profileAccount{
			ID: m.AccountID, Name: s.accounts[m.AccountID].name, Status: accountStatus(s.accounts[m.AccountID]), Role: m.Role,
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

func accountStatus(a *account) string {
	if a.suspended {
		return "suspended"
	}
	return "active"
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
