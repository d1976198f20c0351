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
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// fakeJobs is an in-memory Jobs: JobList returns every job (filters are
// River's, tested against a real store in internal/daemon) and records the
// params it got.
type fakeJobs struct {
	mu      sync.Mutex
	jobs    map[int64]*rivertype.JobRow
	lists   int
	retried []int64
	err     error
}

func (f *fakeJobs) JobGet(_ context.Context, id int64) (*rivertype.JobRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	j, ok := f.jobs[id]
	if !ok {
		return nil, river.ErrNotFound
	}
	return j, nil
}

func (f *fakeJobs) JobList(context.Context, *river.JobListParams) (*river.JobListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.err != nil {
		return nil, f.err
	}
	res := &river.JobListResult{}
	for _, j := range f.jobs {
		res.Jobs = append(res.Jobs, j)
	}
	return res, nil
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

func job(id int64, state rivertype.JobState, endpointID int64) *rivertype.JobRow {
	args, _ := json.Marshal(delivery.Args{DeliveryID: "0b6f3c1e-6a44-4c55-9d7e-3f2a1b0c9d8e", AccountID: 1, EndpointID: endpointID, Event: "message_created", Payload: "{}"})
	return &rivertype.JobRow{ID: id, Kind: delivery.Kind, State: state, EncodedArgs: args, MaxAttempts: 3, Metadata: []byte(`{}`),
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ScheduledAt: time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)}
}

func fixture(t *testing.T) (*Handler, *fakeJobs, *endpoints.Registry) {
	t.Helper()
	reg := endpoints.NewRegistry()
	reg.Replace(1, []chatwoot.Webhook{
		{ID: 7, URL: "https://hooks.example/in?token=topsecret", Subscriptions: []string{"message_created"}, Secret: "s"},
		{ID: 8, URL: "https://gone.example/h", Subscriptions: []string{"message_created"}, Secret: "s"},
	})
	reg.Replace(2, []chatwoot.Webhook{{ID: 7, URL: "https://other.example/h", Subscriptions: []string{"message_created"}}})
	gone, _ := reg.Lookup(endpoints.Key{AccountID: 1, ID: 8})
	reg.Disable(gone)
	jobs := &fakeJobs{jobs: map[int64]*rivertype.JobRow{
		1: job(1, rivertype.JobStateDiscarded, 7),
		2: job(2, rivertype.JobStateRunning, 7),
		3: job(3, rivertype.JobStateCompleted, 7),
		4: job(4, rivertype.JobStateDiscarded, 8),
		5: job(5, rivertype.JobStateRetryable, 99),
	}}
	return New(Options{Jobs: jobs, Endpoints: reg}), jobs, reg
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
			h, jobs, _ := fixture(t)
			w := do(h, tt.method, tt.target)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("%d %s; want %d with %q", w.Code, w.Body, tt.status, tt.want)
			}
			if tt.status == 400 && jobs.lists > 0 {
				t.Fatal("the store was queried for a bad request")
			}
			if len(jobs.retried) > 0 {
				t.Fatalf("jobs %v were retried", jobs.retried)
			}
		})
	}
}

func TestAdminStoreErrorIs503(t *testing.T) {
	h, jobs, _ := fixture(t)
	jobs.err = errors.New("database is locked")
	for _, target := range []string{"/v1/deliveries", "/v1/deliveries/1"} {
		if w := do(h, "GET", target); w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "locked") {
			t.Fatalf("GET %s: %d %s; want 503 without the internal error", target, w.Code, w.Body)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	h, _, reg := fixture(t)
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

func TestAdminRetry(t *testing.T) {
	h, jobs, _ := fixture(t)
	w := do(h, "POST", "/v1/deliveries/1/retry")
	var d DeliveryJSON
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &d) != nil || d.State != "pending" || d.ID != 1 || d.DeliveryID == "" {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	if len(jobs.retried) != 1 || jobs.retried[0] != 1 {
		t.Fatalf("retried %v", jobs.retried)
	}
	// By X-Chatwoot-Delivery UUID (the fake's JobList ignores the filter).
	jobs.jobs = map[int64]*rivertype.JobRow{1: job(1, rivertype.JobStateRetryable, 7)}
	if w := do(h, "POST", "/v1/deliveries/0b6f3c1e-6a44-4c55-9d7e-3f2a1b0c9d8e/retry"); w.Code != 200 {
		t.Fatalf("retry by uuid: %d %s", w.Code, w.Body)
	}
}

// TestDeliveryJSONJoinsAttempts: the worker's records (status, duration)
// and River's errors make one attempt list; next_attempt_at is set while a
// delivery waits.
func TestDeliveryJSONJoinsAttempts(t *testing.T) {
	j := job(9, rivertype.JobStateRetryable, 7)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	j.Metadata = []byte(`{"snoozes":1,"attempts":[{"attempt":1,"at":"2026-01-02T03:04:05Z","status":500,"duration_ms":12.5},{"attempt":3,"at":"2026-01-02T03:04:20Z","status":503,"duration_ms":3}]}`)
	j.Errors = []rivertype.AttemptError{
		{Attempt: 1, At: t0.Add(time.Second), Error: "endpoint answered 500"},
		{Attempt: 2, At: t0.Add(10 * time.Second), Error: "Stuck job rescued by Rescuer"},
		{Attempt: 3, At: t0.Add(21 * time.Second), Error: "endpoint answered 503"},
	}
	d := deliveryJSON(j)
	if d.State != "failed" || d.NextAttemptAt == nil || len(d.Attempts) != 3 {
		t.Fatalf("delivery = %+v", d)
	}
	a1, a2, a3 := d.Attempts[0], d.Attempts[1], d.Attempts[2]
	if a1.Status != 500 || *a1.DurationMS != 12.5 || a1.Error != "endpoint answered 500" || !a1.At.Equal(t0) {
		t.Fatalf("attempt 1 = %+v", a1)
	}
	if a2.Status != 0 || a2.DurationMS != nil || !strings.Contains(a2.Error, "Rescuer") {
		t.Fatalf("attempt 2 (lost with its daemon) = %+v", a2)
	}
	if a3.Status != 503 {
		t.Fatalf("attempt 3 = %+v", a3)
	}

	ok := job(10, rivertype.JobStateCompleted, 7)
	fin := t0.Add(time.Minute)
	ok.FinalizedAt = &fin
	ok.Metadata = []byte(`{"attempts":[{"attempt":1,"at":"2026-01-02T03:04:05Z","status":204,"duration_ms":1.25}]}`)
	d = deliveryJSON(ok)
	if d.State != "succeeded" || d.NextAttemptAt != nil || d.FinalizedAt == nil || len(d.Attempts) != 1 || d.Attempts[0].Status != 204 || d.Attempts[0].Error != "" {
		t.Fatalf("succeeded delivery = %+v", d)
	}

	// A 200 is not recorded: the completed job implies it, at River's
	// attempted_at, without a duration; earlier attempts keep theirs.
	ok200 := job(11, rivertype.JobStateCompleted, 7)
	ok200.Attempt = 2
	started := t0.Add(5 * time.Second)
	ok200.AttemptedAt = &started
	ok200.FinalizedAt = &fin
	ok200.Metadata = []byte(`{"attempts":[{"attempt":1,"at":"2026-01-02T03:04:05Z","status":503,"duration_ms":2}]}`)
	ok200.Errors = []rivertype.AttemptError{{Attempt: 1, At: t0.Add(time.Second), Error: "endpoint answered 503"}}
	d = deliveryJSON(ok200)
	if d.State != "succeeded" || len(d.Attempts) != 2 || d.Attempts[0].Status != 503 || d.Attempts[0].DurationMS == nil {
		t.Fatalf("succeeded after a retry = %+v", d)
	}
	if a := d.Attempts[1]; a.Attempt != 2 || a.Status != 200 || a.DurationMS != nil || a.Error != "" || !a.At.Equal(started) {
		t.Fatalf("implied 200 attempt = %+v", a)
	}
}

func TestLogStateCoversRiverStates(t *testing.T) {
	for _, s := range rivertype.JobStates() {
		switch LogState(s) {
		case "pending", "failed", "succeeded", "dead", "cancelled":
		default:
			t.Errorf("River state %s has no delivery log state", s)
		}
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
func batchJob(id int64, state rivertype.JobState, meta string, deliveryIDs ...string) *rivertype.JobRow {
	a := delivery.BatchArgs{AccountID: 1, EndpointID: 7}
	for _, d := range deliveryIDs {
		a.Items = append(a.Items, delivery.BatchItem{DeliveryID: d, Event: "message_created", Payload: "{}"})
	}
	args, _ := json.Marshal(a)
	started := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)
	return &rivertype.JobRow{ID: id, Kind: delivery.BatchKind, State: state, EncodedArgs: args, Attempt: 1, AttemptedAt: &started,
		MaxAttempts: 3, Metadata: []byte(meta), CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// TestAdminBatches: the deliveries of a batch job appear one by one, with
// the batch's state and first attempt, except those gone on alone; they
// are found by delivery id, and replaying one replays its batch.
func TestAdminBatches(t *testing.T) {
	const x, y, z, p, q = "10000000-0000-4000-8000-00000000000a", "10000000-0000-4000-8000-00000000000b", "10000000-0000-4000-8000-00000000000c",
		"10000000-0000-4000-8000-00000000000d", "10000000-0000-4000-8000-00000000000e"
	h, jobs, _ := fixture(t)
	jobs.jobs = map[int64]*rivertype.JobRow{
		20: batchJob(20, rivertype.JobStateCompleted, `{"split":["`+y+`"],"delivered":{"`+z+`":{"attempt":1,"at":"2026-01-02T03:04:07Z","status":204,"duration_ms":3.5}}}`, x, y, z),
		21: batchJob(21, rivertype.JobStateDiscarded, `{}`, p, q),
	}

	var list struct{ Deliveries []DeliveryJSON }
	if w := do(h, "GET", "/v1/deliveries"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &list) != nil {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	got := map[string]DeliveryJSON{}
	for _, d := range list.Deliveries {
		got[d.DeliveryID] = d
	}
	if len(got) != 4 || got[y].DeliveryID != "" {
		t.Fatalf("listed %v; want x, z, p, q (y went on alone)", got)
	}
	if d := got[x]; d.ID != 20 || d.Batch != 3 || d.State != "succeeded" || d.EndpointID != 7 || len(d.Attempts) != 1 ||
		d.Attempts[0].Status != 200 || d.Attempts[0].Attempt != 1 || d.Attempts[0].DurationMS != nil {
		t.Fatalf("x = %+v; want delivered at its first attempt, implied 200", d)
	}
	if d := got[z]; len(d.Attempts) != 1 || d.Attempts[0].Status != 204 || *d.Attempts[0].DurationMS != 3.5 {
		t.Fatalf("z = %+v; want its recorded 204", d)
	}
	if d := got[p]; d.State != "dead" || len(d.Attempts) != 0 {
		t.Fatalf("p = %+v", d)
	}

	var one DeliveryJSON
	if w := do(h, "GET", "/v1/deliveries/"+x); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &one) != nil || one.DeliveryID != x || one.ID != 20 {
		t.Fatalf("GET by delivery id in a batch: %d %s", w.Code, w.Body)
	}
	for target, want := range map[string]int{
		"GET /v1/deliveries/" + y:             404, // gone on alone: its own job answers for it
		"GET /v1/deliveries/20":               404, // a batch's job id names no one delivery
		"POST /v1/deliveries/" + x + "/retry": 409,
	} {
		method, path, _ := strings.Cut(target, " ")
		if w := do(h, method, path); w.Code != want {
			t.Errorf("%s: %d %s; want %d", target, w.Code, w.Body, want)
		}
	}
	if w := do(h, "GET", "/v1/deliveries/20"); !strings.Contains(w.Body.String(), "batch") {
		t.Errorf("GET of a batch's job id: %s", w.Body)
	}
	if w := do(h, "POST", "/v1/deliveries/"+q+"/retry"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &one) != nil || one.DeliveryID != q || one.State != "pending" {
		t.Fatalf("replay of a dead batched delivery: %d %s", w.Code, w.Body)
	}
	if !slices.Equal(jobs.retried, []int64{21}) {
		t.Fatalf("retried %v; want the batch, 21", jobs.retried)
	}
}

// TestPage: pages end with a whole job, so a batch is never cut in two.
func TestPage(t *testing.T) {
	single := func(id int64) *rivertype.JobRow { return job(id, rivertype.JobStateCompleted, 7) }
	batch := func(id int64, n int) *rivertype.JobRow {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("20000000-0000-4000-8000-%012d", id*100+int64(i))
		}
		return batchJob(id, rivertype.JobStateCompleted, `{}`, ids...)
	}
	tests := []struct {
		name       string
		jobs       []*rivertype.JobRow
		limit      int
		deliveries int
		next       string
	}{
		{"all fit, fewer jobs than limit: last page", []*rivertype.JobRow{single(9), batch(8, 2)}, 5, 3, ""},
		{"as many jobs as limit: maybe more", []*rivertype.JobRow{single(9), single(8)}, 2, 2, "8"},
		{"a batch that does not fit starts the next page", []*rivertype.JobRow{single(9), batch(8, 3)}, 3, 1, "9"},
		{"a first batch bigger than limit comes whole", []*rivertype.JobRow{batch(9, 4), single(8)}, 2, 4, "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, next := page(tt.jobs, tt.limit)
			if len(ds) != tt.deliveries || next != tt.next {
				t.Fatalf("page = %d deliveries, next %q; want %d, %q", len(ds), next, tt.deliveries, tt.next)
			}
		})
	}
}

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
	_, jobs, reg := fixture(t)
	marks := &fakeMarks{err: errors.New("connection refused")}
	h := New(Options{Jobs: jobs, Endpoints: reg, Marks: marks})
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
	h, jobs, _ := fixture(t)
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
	if jobs.lists != 0 || len(jobs.retried) != 0 {
		t.Fatalf("bad input reached the store: %d lists, %v retried", jobs.lists, jobs.retried)
	}
}

// The attempt log's records replace the job's of the same number and add
// the 200's duration; the job's records the log lacks stay.
func TestWithLogged(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	five := 5.0
	fromJob := []AttemptJSON{{Attempt: 1, At: at, Status: 503, DurationMS: &five, Error: "503"}, {Attempt: 2, At: at, Status: 200}}
	got := withLogged(fromJob, []store.Attempt{{DeliveryID: "d", Attempt: 2, At: at, Status: 200, Duration: 1500 * time.Microsecond}})
	if len(got) != 2 || got[0].Error != "503" || *got[0].DurationMS != 5 || got[1].DurationMS == nil || *got[1].DurationMS != 1.5 {
		t.Fatalf("%+v", got)
	}
}
