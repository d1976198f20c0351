package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// fakeJobs is an in-memory Jobs: the River jobs that carry deliveries.
type fakeJobs struct {
	mu      sync.Mutex
	jobs    map[int64]*rivertype.JobRow
	retried []int64
}

func (f *fakeJobs) JobGet(_ context.Context, id int64) (*rivertype.JobRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return nil, river.ErrNotFound
	}
	return j, nil
}

func (f *fakeJobs) JobList(context.Context, *river.JobListParams) (*river.JobListResult, error) {
	return &river.JobListResult{}, nil
}

func (f *fakeJobs) JobRetry(_ context.Context, id int64) (*rivertype.JobRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return nil, river.ErrNotFound
	}
	f.retried = append(f.retried, id)
	cp := *j
	cp.State = rivertype.JobStateAvailable
	return &cp, nil
}

// fakeRecords is the store's delivery records in memory, filtered as the
// store filters them (store's own tests run the SQL).
type fakeRecords struct {
	mu       sync.Mutex
	ds       map[int64]store.Delivery
	attempts map[int64][]store.Attempt
	replayed []int64
	queries  int
	err      error
}

func (f *fakeRecords) ListDeliveries(_ context.Context, flt store.DeliveryFilter) ([]store.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if f.err != nil {
		return nil, f.err
	}
	var out []store.Delivery
	for _, d := range f.ds {
		if len(flt.States) > 0 && !slices.Contains(flt.States, d.State) ||
			len(flt.Endpoints) > 0 && !slices.Contains(flt.Endpoints, store.Endpoint{AccountID: d.AccountID, WebhookID: d.WebhookID}) ||
			flt.BeforeID > 0 && d.ID >= flt.BeforeID || flt.AfterID > 0 && d.ID <= flt.AfterID || d.CreatedAt.Before(flt.Since) {
			continue
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b store.Delivery) int {
		if flt.Ascending {
			return cmp.Compare(a.ID, b.ID)
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if flt.Limit > 0 && len(out) > flt.Limit {
		out = out[:flt.Limit]
	}
	return out, nil
}

func (f *fakeRecords) DeliveryByID(_ context.Context, id int64) (store.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if f.err != nil {
		return store.Delivery{}, f.err
	}
	d, ok := f.ds[id]
	if !ok {
		return d, store.ErrNoDelivery
	}
	return d, nil
}

func (f *fakeRecords) DeliveryByUUID(ctx context.Context, uuid string) (store.Delivery, error) {
	f.mu.Lock()
	for _, d := range f.ds {
		if d.UUID == uuid {
			f.mu.Unlock()
			return f.DeliveryByID(ctx, d.ID)
		}
	}
	f.mu.Unlock()
	return store.Delivery{}, store.ErrNoDelivery
}

func (f *fakeRecords) Attempts(_ context.Context, id int64) ([]store.Attempt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[id], nil
}

func (f *fakeRecords) AttemptsOf(_ context.Context, ids []int64) (map[int64][]store.Attempt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64][]store.Attempt{}
	for _, id := range ids {
		out[id] = f.attempts[id]
	}
	return out, nil
}

func (f *fakeRecords) Replay(_ context.Context, id int64, from []string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.ds[id]
	if !ok || !slices.Contains(from, d.State) {
		return false, nil
	}
	d.State, d.MaxAttempts = store.StatePending, d.Attempts+1
	f.ds[id] = d
	f.replayed = append(f.replayed, id)
	return true, nil
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func rec(id int64, state string, endpointID int64, jobID int64) store.Delivery {
	return store.Delivery{ID: id, UUID: fmt.Sprintf("0b6f3c1e-6a44-4c55-9d7e-%012d", id), EventID: 100 + id, AccountID: 1, WebhookID: endpointID,
		Event: "message_created", State: state, Attempts: 1, MaxAttempts: 3, JobID: jobID, CreatedAt: t0.Add(time.Duration(id) * time.Minute)}
}

type adminFixture struct {
	h       *Handler
	jobs    *fakeJobs
	records *fakeRecords
	reg     *endpoints.Registry
}

func fixture(t *testing.T) *adminFixture {
	t.Helper()
	reg := endpoints.NewRegistry()
	reg.Replace(1, []chatwoot.Webhook{
		{ID: 7, URL: "https://hooks.example/in?token=topsecret", Subscriptions: []string{"message_created"}, Secret: "s"},
		{ID: 8, URL: "https://gone.example/h", Subscriptions: []string{"message_created"}, Secret: "s"},
	})
	reg.Replace(2, []chatwoot.Webhook{{ID: 7, URL: "https://other.example/h", Subscriptions: []string{"message_created"}}})
	gone, _ := reg.Lookup(endpoints.Key{AccountID: 1, ID: 8})
	reg.Disable(gone)
	f := &adminFixture{reg: reg,
		jobs: &fakeJobs{jobs: map[int64]*rivertype.JobRow{
			12: {ID: 12, State: rivertype.JobStateRunning},
			16: {ID: 16, State: rivertype.JobStateRetryable},
		}},
		records: &fakeRecords{ds: map[int64]store.Delivery{
			1: rec(1, store.StateDead, 7, 11),
			2: rec(2, store.StatePending, 7, 12),
			3: rec(3, store.StateSucceeded, 7, 0),
			4: rec(4, store.StateDead, 8, 14),
			5: rec(5, store.StateFailed, 99, 15),
			6: rec(6, store.StateFailed, 7, 16),
		}, attempts: map[int64][]store.Attempt{
			3: {{Attempt: 1, At: t0, Status: 200, Duration: 1500 * time.Microsecond}},
		}},
	}
	f.h = New(Options{Jobs: f.jobs, Records: f.records, Endpoints: reg})
	return f
}

func do(h http.Handler, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

// TestAdminBadInput: bad parameters answer 400 naming the parameter,
// unknown ids 404, impossible replays 409; the store is not asked when the
// input is bad.
func TestAdminBadInput(t *testing.T) {
	tests := []struct {
		method, target string
		status         int
		want           string // in the error
	}{
		{"GET", "/v1/deliveries?limit=0", 400, "limit:"},
		{"GET", "/v1/deliveries?limit=1001", 400, "limit:"},
		{"GET", "/v1/deliveries?limit=ten", 400, "limit:"},
		{"GET", "/v1/deliveries?state=lost", 400, "state:"},
		{"GET", "/v1/deliveries?state=dead,nope", 400, "state:"},
		{"GET", "/v1/deliveries?endpoint=abc", 400, "endpoint:"},
		{"GET", "/v1/deliveries?endpoint=-1", 400, "endpoint:"},
		{"GET", "/v1/deliveries?endpoint=999", 404, "webhook 999 is not in the registry"},
		{"GET", "/v1/deliveries?account=1", 400, "account:"},
		{"GET", "/v1/deliveries?endpoint=7&account=x", 400, "account:"},
		{"GET", "/v1/deliveries?cursor=not-a-cursor!", 400, "cursor:"},
		{"GET", "/v1/deliveries?cursor=e30", 400, "cursor:"},
		{"GET", "/v1/deliveries?statu=dead", 400, "statu: unknown parameter"},
		{"GET", "/v1/deliveries/abc", 400, "id:"},
		{"GET", "/v1/deliveries/0", 400, "id:"},
		{"GET", "/v1/deliveries/42", 404, "no delivery 42"},
		{"POST", "/v1/deliveries/42/retry", 404, "no delivery 42"},
		{"POST", "/v1/deliveries/not-a-uuid/retry", 400, "id:"},
		{"POST", "/v1/deliveries/2/retry", 409, "in flight"},
		{"POST", "/v1/deliveries/3/retry", 409, "was delivered"},
		{"POST", "/v1/deliveries/4/retry", 409, "enable it first: POST /v1/endpoints/8/enable"},
		{"POST", "/v1/deliveries/5/retry", 409, "no longer exists upstream"},
		{"POST", "/v1/endpoints/abc/enable", 400, "id:"},
		{"POST", "/v1/endpoints/999/enable", 404, "webhook 999"},
		{"POST", "/v1/endpoints/7/enable", 400, "add ?account=N"},
		{"POST", "/v1/endpoints/7/enable?account=3", 404, "webhook 7"},
		{"GET", "/v1/endpoints/7/enable", 405, ""},
		{"DELETE", "/v1/deliveries/1", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			f := fixture(t)
			w := do(f.h, tt.method, tt.target)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("%d %s; want %d with %q", w.Code, w.Body, tt.status, tt.want)
			}
			if tt.status == 400 && f.records.queries > 0 {
				t.Fatal("the store was queried for a bad request")
			}
			if len(f.jobs.retried) > 0 || len(f.records.replayed) > 0 {
				t.Fatalf("jobs %v retried, deliveries %v replayed", f.jobs.retried, f.records.replayed)
			}
		})
	}
}

func TestAdminStoreErrorIs503(t *testing.T) {
	f := fixture(t)
	f.records.err = errors.New("database is locked")
	for _, target := range []string{"/v1/deliveries", "/v1/deliveries/1"} {
		if w := do(f.h, "GET", target); w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "locked") {
			t.Fatalf("GET %s: %d %s; want 503 without the internal error", target, w.Code, w.Body)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	f := fixture(t)
	h, reg := f.h, f.reg
	reg.RecordAttempt(endpoints.Key{AccountID: 1, ID: 7}, time.Now(), 500, "endpoint answered 500")
	reg.RecordAttempt(endpoints.Key{AccountID: 1, ID: 7}, time.Now(), 0, "POST https://hooks.example/in: connection refused")
	w := do(h, "GET", "/v1/endpoints")
	var out struct{ Endpoints []EndpointJSON }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || len(out.Endpoints) != 3 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "topsecret") || strings.Contains(w.Body.String(), `"secret"`) {
		t.Fatalf("the listing leaks a secret or a url query:\n%s", w.Body)
	}
	e := out.Endpoints[0]
	if e.AccountID != 1 || e.ID != 7 || e.Status != "active" || e.Health.ConsecutiveFailures != 2 || e.Health.LastStatus != 0 ||
		!strings.Contains(e.Health.LastError, "refused") || e.Health.LastSuccessAt != nil || !e.HasSecret {
		t.Fatalf("endpoint 1/7 = %+v", e)
	}
	if g := out.Endpoints[1]; g.Status != "disabled" || g.DisabledAt == nil || !strings.Contains(g.DisabledReason, "410") {
		t.Fatalf("endpoint 1/8 = %+v", g)
	}

	w = do(h, "POST", "/v1/endpoints/8/enable")
	var en struct {
		WasDisabled bool `json:"was_disabled"`
		Endpoint    EndpointJSON
		Hint        string
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &en) != nil || !en.WasDisabled || en.Endpoint.Status != "active" || !strings.Contains(en.Hint, "state=cancelled&endpoint=8") {
		t.Fatalf("enable: %d %s", w.Code, w.Body)
	}
	if _, st := reg.Lookup(endpoints.Key{AccountID: 1, ID: 8}); st != endpoints.Active {
		t.Fatalf("after enable the registry says %s", st)
	}
	if w := do(h, "POST", "/v1/endpoints/8/enable"); w.Code != 200 || !strings.Contains(w.Body.String(), `"was_disabled": false`) {
		t.Fatalf("enabling again: %d %s", w.Code, w.Body)
	}
	if w := do(h, "POST", "/v1/endpoints/7/enable?account=2"); w.Code != 200 {
		t.Fatalf("enable with account: %d %s", w.Code, w.Body)
	}
}

// TestAdminRetry: a dead delivery gets one more attempt in a new job; a
// failed one's waiting job runs now (River's JobRetry); by id or UUID.
func TestAdminRetry(t *testing.T) {
	f := fixture(t)
	w := do(f.h, "POST", "/v1/deliveries/1/retry")
	var d DeliveryJSON
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &d) != nil || d.State != "pending" || d.ID != 1 || d.DeliveryID == "" || d.MaxAttempts != 2 {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	if !slices.Equal(f.records.replayed, []int64{1}) || len(f.jobs.retried) != 0 {
		t.Fatalf("replayed %v, retried jobs %v", f.records.replayed, f.jobs.retried)
	}
	if w := do(f.h, "POST", "/v1/deliveries/"+rec(6, "", 0, 0).UUID+"/retry"); w.Code != 200 {
		t.Fatalf("retry by uuid: %d %s", w.Code, w.Body)
	}
	if !slices.Equal(f.jobs.retried, []int64{16}) || len(f.records.replayed) != 1 {
		t.Fatalf("a failed delivery's job was not made due: retried %v, replayed %v", f.jobs.retried, f.records.replayed)
	}
}

// TestAdminDeliveryLog: newest first, filtered by state and endpoint,
// paged by id; one delivery shows its attempts with their durations and
// whether one is in flight.
func TestAdminDeliveryLog(t *testing.T) {
	f := fixture(t)
	var page struct {
		Deliveries []DeliveryJSON
		NextCursor string `json:"next_cursor"`
	}
	ids := func() []int64 {
		var out []int64
		for _, d := range page.Deliveries {
			out = append(out, d.ID)
		}
		return out
	}
	for _, tt := range []struct {
		target string
		want   []int64
		next   string
	}{
		{"/v1/deliveries", []int64{6, 5, 4, 3, 2, 1}, ""},
		{"/v1/deliveries?limit=2", []int64{6, 5}, "5"},
		{"/v1/deliveries?limit=2&cursor=5", []int64{4, 3}, "3"},
		{"/v1/deliveries?state=dead,failed&endpoint=7&account=1", []int64{6, 1}, ""},
	} {
		page.Deliveries, page.NextCursor = nil, ""
		if w := do(f.h, "GET", tt.target); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &page) != nil || !slices.Equal(ids(), tt.want) || page.NextCursor != tt.next {
			t.Errorf("GET %s: %v next %q; want %v next %q", tt.target, ids(), page.NextCursor, tt.want, tt.next)
		}
	}
	var d DeliveryJSON
	if w := do(f.h, "GET", "/v1/deliveries/3"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &d) != nil ||
		len(d.Attempts) != 1 || d.Attempts[0].Status != 200 || d.Attempts[0].DurationMS != 1.5 || d.InFlight {
		t.Fatalf("delivery 3: %+v", d)
	}
	if w := do(f.h, "GET", "/v1/deliveries/2"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &d) != nil || !d.InFlight || d.JobID != 12 {
		t.Fatalf("delivery 2 (its job running): %+v", d)
	}
}

// TestAdminRecover: only the endpoint's failed, dead and cancelled
// deliveries created since the time are replayed, under their ids.
func TestAdminRecover(t *testing.T) {
	f := fixture(t)
	since := t0.Add(90 * time.Second).Format(time.RFC3339) // after delivery 1
	var out struct{ Recovered int }
	if w := do(f.h, "POST", "/v1/endpoints/7/recover?account=1&since="+since); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.Recovered != 1 {
		t.Fatalf("recover: %d %s", w.Code, w.Body)
	}
	if !slices.Equal(f.jobs.retried, []int64{16}) || len(f.records.replayed) != 0 {
		t.Fatalf("retried %v replayed %v; want only delivery 6 (failed, since T) of endpoint 7", f.jobs.retried, f.records.replayed)
	}
	if w := do(f.h, "POST", "/v1/endpoints/7/recover?account=1&since=2020-01-01T00:00:00Z"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.Recovered != 2 {
		t.Fatalf("recover since 2020: %d %s", w.Code, w.Body)
	}
	if !slices.Equal(f.records.replayed, []int64{1}) {
		t.Fatalf("replayed %v; want delivery 1 (dead)", f.records.replayed)
	}
}

func TestGate(t *testing.T) {
	const token = "0123456789abcdef-token"
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	const afar, local = "203.0.113.9:5000", "127.0.0.1:5000"
	tests := []struct {
		name   string
		token  string
		route  string // open (relay), health, ingest, admin
		remote string
		auth   string
		want   int
		// request details; defaults: GET, Host 127.0.0.1:8787
		method, host, origin, fetchSite, contentType string
	}{
		{name: "no token: relay from afar", route: "open", remote: afar, want: 418, method: "POST", host: "relay.example.com", contentType: "text/plain"},
		{name: "no token: health from afar", route: "health", remote: afar, want: 418},
		{name: "no token: ingest from loopback", route: "ingest", remote: local, want: 418},
		{name: "no token: ingest from afar", route: "ingest", remote: afar, want: 403},
		{name: "no token: admin from loopback", route: "admin", remote: local, want: 418},
		{name: "no token: admin from ::1", route: "admin", remote: "[::1]:5000", want: 418},
		{name: "no token: admin from afar", route: "admin", remote: afar, want: 403},
		{name: "token: health from afar", token: token, route: "health", remote: afar, want: 418},
		{name: "token: ingest from loopback", token: token, route: "ingest", remote: local, want: 418},
		{name: "token: ingest from afar without", token: token, route: "ingest", remote: afar, want: 401},
		{name: "token: ingest from afar with", token: token, route: "ingest", remote: afar, auth: "Bearer " + token, want: 418},
		{name: "token: admin from loopback without", token: token, route: "admin", remote: local, want: 401},
		{name: "token: admin from loopback with", token: token, route: "admin", remote: local, auth: "Bearer " + token, want: 418},
		{name: "token: admin bearer lower case", token: token, route: "admin", remote: local, auth: "bearer " + token, want: 418},
		{name: "token: admin wrong", token: token, route: "admin", remote: afar, auth: "Bearer nope", want: 401},
		{name: "token: admin basic password", token: token, route: "admin", remote: afar, auth: basic("admin", token), want: 418},
		{name: "token: admin basic wrong", token: token, route: "admin", remote: afar, auth: basic(token, "x"), want: 401},

		// DNS rebinding: a foreign name resolving to loopback.
		{name: "foreign Host on ingest", route: "ingest", remote: local, host: "attacker.example:8787", want: 403},
		{name: "foreign Host on admin with the token", token: token, route: "admin", remote: local, auth: "Bearer " + token, host: "attacker.example", want: 403},
		{name: "localhost Host", route: "admin", remote: local, host: "localhost:8787", want: 418},
		{name: "IPv6 literal Host", route: "admin", remote: local, host: "[::1]:8787", want: 418},
		{name: "public url Host", route: "admin", remote: local, host: "relay.example.com", want: 418},
		// A web page on the same machine.
		{name: "cross-origin POST to ingest", route: "ingest", remote: local, method: "POST", origin: "https://evil.example", contentType: "application/json", want: 403},
		{name: "cross-site fetch to the River UI", route: "admin", remote: local, method: "POST", fetchSite: "cross-site", contentType: "application/json", want: 403},
		{name: "same-origin POST", route: "admin", remote: local, method: "POST", origin: "http://127.0.0.1:8787", contentType: "application/json", want: 418},
		{name: "text/plain POST to ingest", route: "ingest", remote: local, method: "POST", contentType: "text/plain", want: 415},
		{name: "form POST to admin", token: token, route: "admin", remote: local, auth: "Bearer " + token, method: "POST", contentType: "application/x-www-form-urlencoded", want: 415},
		{name: "POST without Content-Type", route: "admin", remote: local, method: "POST", want: 415},
		{name: "River UI's own text/plain POST", route: "admin", remote: local, method: "POST", fetchSite: "same-origin", origin: "http://127.0.0.1:8787", contentType: "text/plain;charset=UTF-8", want: 418},
		{name: "JSON POST with charset", route: "ingest", remote: local, method: "POST", contentType: "application/json; charset=utf-8", want: 418},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Gate{Token: tt.token, Hosts: []string{"relay.example.com"}}
			h := map[string]http.Handler{"open": g.Open(ok), "health": g.Health(ok), "ingest": g.Ingest(ok), "admin": g.Admin(ok)}[tt.route]
			method := cmp.Or(tt.method, http.MethodGet)
			req := httptest.NewRequest(method, "/x", nil)
			req.Host = cmp.Or(tt.host, "127.0.0.1:8787")
			req.RemoteAddr = tt.remote
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			for k, v := range map[string]string{"Origin": tt.origin, "Sec-Fetch-Site": tt.fetchSite, "Content-Type": tt.contentType} {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Fatalf("%d %s; want %d", w.Code, w.Body, tt.want)
			}
			if w.Code == 401 && (w.Header().Get("WWW-Authenticate") == "" || strings.Contains(w.Body.String(), token)) {
				t.Fatalf("401 without a Basic challenge, or echoing the token: %v %s", w.Header(), w.Body)
			}
		})
	}
}

func basic(user, pass string) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// batchJob is a batch of deliveries to endpoint 7 of account 1, with the
// given batch metadata.
type fakeMarks struct {
	err     error
	cleared []endpoints.Key
}

func (m *fakeMarks) SavePaused(_ context.Context, accountID, webhookID int64, _ time.Time) error {
	return m.ClearDisabled(context.Background(), accountID, webhookID)
}

func (m *fakeMarks) ClearPaused(_ context.Context, accountID, webhookID int64) error {
	return m.ClearDisabled(context.Background(), accountID, webhookID)
}

func (m *fakeMarks) ClearDisabled(_ context.Context, accountID, webhookID int64) error {
	if m.err != nil {
		return m.err
	}
	m.cleared = append(m.cleared, endpoints.Key{AccountID: accountID, ID: webhookID})
	return nil
}

// An enable is stored before it takes effect: when the store fails, nothing
// changes and the answer says so.
func TestAdminEnableIsStoredFirst(t *testing.T) {
	f := fixture(t)
	reg := f.reg
	marks := &fakeMarks{err: errors.New("connection refused")}
	h := New(Options{Jobs: f.jobs, Records: f.records, Endpoints: reg, Marks: marks})
	if w := do(h, "POST", "/v1/endpoints/8/enable"); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "nothing changed") {
		t.Fatalf("store down: %d %s", w.Code, w.Body)
	}
	if _, st := reg.Lookup(endpoints.Key{AccountID: 1, ID: 8}); st != endpoints.Disabled {
		t.Fatal("enabled in memory although the store did not record it")
	}
	marks.err = nil
	if w := do(h, "POST", "/v1/endpoints/8/enable"); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if len(marks.cleared) != 1 || marks.cleared[0] != (endpoints.Key{AccountID: 1, ID: 8}) {
		t.Fatalf("cleared %v", marks.cleared)
	}
}

// recover's input errors name the fix; the re-queuing itself is proven
// against a real store in the daemon's end-to-end tests.
func TestAdminRecoverInput(t *testing.T) {
	f := fixture(t)
	h := f.h
	for _, tt := range []struct {
		target string
		code   int
		want   string
	}{
		{"/v1/endpoints/7/recover?since=2026-01-01T00:00:00Z", 400, "add ?account=N"},
		{"/v1/endpoints/7/recover?account=1", 400, "is not an RFC 3339 time"},
		{"/v1/endpoints/7/recover?account=1&since=yesterday", 400, "?since=2026-12-01T00:00:00Z"},
		{"/v1/endpoints/8/recover?since=2026-01-01T00:00:00Z", 409, "enable it first: POST /v1/endpoints/8/enable"},
		{"/v1/endpoints/99/recover?since=2026-01-01T00:00:00Z", 404, "webhook 99"},
	} {
		if w := do(h, "POST", tt.target); w.Code != tt.code || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("POST %s: %d %s; want %d with %q", tt.target, w.Code, w.Body, tt.code, tt.want)
		}
	}
	if f.records.queries != 0 || len(f.jobs.retried) != 0 {
		t.Fatalf("bad input reached the store: %d queries, %v retried", f.records.queries, f.jobs.retried)
	}
}
