package chatwoot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testToken = "tok-secret-123"

// newTestClient serves h and returns a client with fast retries.
func newTestClient(t *testing.T, h http.HandlerFunc, opts Options) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opts.BaseURL, opts.Token = srv.URL, testToken
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = time.Millisecond
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 5 * time.Millisecond
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func TestNewClientOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no token", Options{BaseURL: "http://x"}, "CHATWOOT_API_ACCESS_TOKEN"},
		{"relative base url", Options{Token: "t", BaseURL: "app.chatwoot.com"}, "not an absolute http(s) URL"},
		{"ftp base url", Options{Token: "t", BaseURL: "ftp://x"}, "CHATWOOT_BASE_URL"},
		{"base url with query", Options{Token: "t", BaseURL: "https://x/?a=1"}, "not an absolute"},
		{"negative retries", Options{Token: "t", MaxRetries: -1}, "max_retries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	c, err := NewClient(Options{Token: "t"})
	if err != nil || c.BaseURL() != DefaultBaseURL {
		t.Fatalf("default base url = %v, %v", c, err)
	}
}

func TestStatusMapping(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantText   []string
	}{
		{"unknown token", 401, `{"error":"Invalid Access Token"}`, 401, []string{"Invalid Access Token", "check api_access_token"}},
		{"no token", 401, `{"errors":["You need to sign in or sign up before continuing."]}`, 401, []string{"sign in", "api_access_token"}},
		{"not in account", 401, `{"error":"You are not authorized to access this account"}`, 401, []string{"not a member of account 1"}},
		{"agent", 401, `{"error":"You are not authorized to do this action"}`, 401, []string{"must belong to an administrator of account 1"}},
		{"unknown account", 404, `{"error":"Resource could not be found"}`, 404, []string{"account 1 does not exist"}},
		{"url taken", 422, `{"message":"Url has already been taken","attributes":["url"]}`, 422, []string{"Url has already been taken", "terraform import"}},
		{"two validations", 422, `{"message":"Url is invalid, Subscriptions Invalid events","attributes":["url","subscriptions"]}`, 422, []string{"Url is invalid, Subscriptions Invalid events"}},
		{"html error page", 403, `<html>Forbidden</html>`, 403, []string{"<html>Forbidden</html>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, answer(tt.status, tt.body), Options{})
			_, err := c.ListWebhooks(context.Background(), 1)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus {
				t.Fatalf("err = %#v, want APIError %d", err, tt.wantStatus)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestIsNotFoundAndUnauthorized(t *testing.T) {
	if !IsNotFound(fmt.Errorf("wrapped: %w", &APIError{StatusCode: 404})) || IsNotFound(errors.New("x")) {
		t.Error("IsNotFound")
	}
	if !IsUnauthorized(&APIError{StatusCode: 401}) || IsUnauthorized(&APIError{StatusCode: 404}) {
		t.Error("IsUnauthorized")
	}
}

// flaky answers status (with Retry-After when set) for the first n calls, then ok.
func flaky(n int32, status int, retryAfter string, ok http.HandlerFunc, calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			answer(status, `{"error":"busy"}`)(w, r)
			return
		}
		ok(w, r)
	}
}

func TestRetries(t *testing.T) {
	list := answer(200, `{"payload":{"webhooks":[{"id":7,"url":"https://e.x/h","account_id":1,"subscriptions":["message_created"],"secret":"s"}]}}`)
	tests := []struct {
		name       string
		failures   int32
		status     int
		maxRetries int
		wantCalls  int32
		wantErr    string
	}{
		{"429 then ok", 2, 429, 3, 3, ""},
		{"500 then ok", 1, 500, 3, 2, ""},
		{"502 then ok", 1, 502, 1, 2, ""},
		{"503 exhausted", 5, 503, 2, 3, "answered 503 \"busy\" after 3 attempts"},
		{"no retries", 1, 500, 0, 1, "answered 500"},
		{"404 not retried", 5, 404, 3, 1, "answered 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			c := newTestClient(t, flaky(tt.failures, tt.status, "", list, &calls), Options{MaxRetries: tt.maxRetries})
			hooks, err := c.ListWebhooks(context.Background(), 1)
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.wantErr == "" {
				if err != nil || len(hooks) != 1 || hooks[0].ID != 7 {
					t.Fatalf("got %v, %v", hooks, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	var calls atomic.Int32
	ok := answer(200, `{"payload":{"webhooks":[]}}`)
	// RetryWaitMin/Max are tiny, so a ~1s gap can only come from Retry-After.
	c := newTestClient(t, flaky(1, 429, "1", ok, &calls), Options{MaxRetries: 2, RetryWaitMax: 2 * time.Second})
	start := time.Now()
	if _, err := c.ListWebhooks(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Fatalf("retried after %s, want about 1s from Retry-After", waited)
	}
}

// warnLog records the warnings of a Logger that is also a Warner.
type warnLog struct {
	mu    sync.Mutex
	warns []string
}

func (*warnLog) Debug(context.Context, string, ...any) {}
func (w *warnLog) Warn(_ context.Context, msg string, kv ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warns = append(w.warns, fmt.Sprint(append([]any{msg}, kv...)...))
}

// TestRetryAfterPastTheCapIsNotSilent: a Retry-After longer than the
// client's longest wait is cut short, and said so.
func TestRetryAfterPastTheCapIsNotSilent(t *testing.T) {
	var calls atomic.Int32
	log := &warnLog{}
	c := newTestClient(t, flaky(1, 503, "120", answer(200, `{"payload":{"webhooks":[]}}`), &calls), Options{MaxRetries: 1, RetryWaitMax: 50 * time.Millisecond, Logger: log})
	if _, err := c.ListWebhooks(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.warns) != 1 || !strings.Contains(log.warns[0], "longer than the client waits") || !strings.Contains(log.warns[0], "2m0s") {
		t.Fatalf("warnings %q; want one naming the 2m Retry-After", log.warns)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"-1", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestJitterBackoffBounds(t *testing.T) {
	minWait, maxWait := 100*time.Millisecond, 2*time.Second
	for attempt := range 8 {
		ceiling := min(minWait<<attempt, maxWait)
		for range 200 {
			d := jitterBackoff(minWait, maxWait, attempt, nil)
			if d < minWait/2 || d > ceiling {
				t.Fatalf("attempt %d: backoff %s outside [%s, %s]", attempt, d, minWait/2, ceiling)
			}
		}
	}
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"60"}}}
	if d := jitterBackoff(minWait, maxWait, 0, resp); d != maxWait {
		t.Fatalf("Retry-After beyond max: %s, want capped at %s", d, maxWait)
	}
}

func TestTimeout(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	c := newTestClient(t, hang, Options{Timeout: 50 * time.Millisecond, MaxRetries: 1})
	_, err := c.ListWebhooks(context.Background(), 1)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "raise request_timeout") || !strings.Contains(err.Error(), "2 attempts") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnparseableResponse(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>login</html>")
	}, Options{})
	_, err := c.ListWebhooks(context.Background(), 1)
	var decErr *DecodeError
	if !errors.As(err, &decErr) || !strings.Contains(err.Error(), "text/html") || !strings.Contains(err.Error(), "base_url") {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, _ := NewClient(Options{BaseURL: srv.URL, Token: "t", MaxRetries: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	_, err := c.Profile(context.Background())
	if err == nil || !strings.Contains(err.Error(), "failed after 2 attempts") || !strings.Contains(err.Error(), "check base_url") {
		t.Fatalf("err = %v", err)
	}
}

// recorded captures what the client sent.
type recorded struct {
	method, path, token, contentType, body string
}

func TestRequestsOnTheWire(t *testing.T) {
	var got recorded
	var mu sync.Mutex
	h := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		got = recorded{r.Method, r.URL.Path, r.Header.Get("api_access_token"), r.Header.Get("Content-Type"), string(body)}
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusOK) // upstream: empty body
		case http.MethodGet:
			answer(200, `{"id":1,"name":"Ann","accounts":[{"id":1,"name":"Acme","role":"administrator"},{"id":2,"name":"Globex","role":"agent"}]}`)(w, r)
		default:
			answer(200, `{"payload":{"webhook":{"id":9,"name":null,"url":"https://e.x/h","account_id":3,"subscriptions":["message_created"],"secret":"s3","inbox":{"id":4,"name":"Web"}}}}`)(w, r)
		}
	}
	c := newTestClient(t, h, Options{})
	ctx := context.Background()
	name, inbox := "n", int64(4)

	w, err := c.CreateWebhook(ctx, 3, WebhookInput{URL: "https://e.x/h", Name: &name, Subscriptions: []string{"message_created"}, InboxID: &inbox})
	if err != nil || w.ID != 9 || w.Secret != "s3" || w.InboxID() != 4 || w.Name != "" {
		t.Fatalf("create = %+v, %v", w, err)
	}
	want := recorded{"POST", "/api/v1/accounts/3/webhooks", testToken, "application/json",
		`{"webhook":{"url":"https://e.x/h","name":"n","subscriptions":["message_created"],"inbox_id":4}}`}
	if got != want {
		t.Fatalf("sent %+v\nwant %+v", got, want)
	}

	if _, err := c.UpdateWebhook(ctx, 3, 9, WebhookInput{URL: "https://e.x/h"}); err != nil {
		t.Fatal(err)
	}
	if got.method != "PATCH" || got.path != "/api/v1/accounts/3/webhooks/9" || got.body != `{"webhook":{"url":"https://e.x/h","name":null,"inbox_id":null}}` {
		t.Fatalf("update sent %+v", got)
	}

	if err := c.DeleteWebhook(ctx, 3, 9); err != nil || got.method != "DELETE" || got.path != "/api/v1/accounts/3/webhooks/9" {
		t.Fatalf("delete: %v, %+v", err, got)
	}

	p, err := c.Profile(ctx)
	if err != nil || got.path != "/api/v1/profile" {
		t.Fatalf("profile: %v %+v", err, got)
	}
	if ids := p.AdministeredAccounts(); len(ids) != 1 || ids[0] != 1 {
		t.Fatalf("administered = %v", ids)
	}
}

// logLines is a Logger that keeps every line it is given.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Debug(_ context.Context, msg string, kv ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(msg, kv))
}

func TestLoggingNeverShowsToken(t *testing.T) {
	logs := &logLines{}
	var calls atomic.Int32
	c := newTestClient(t, flaky(1, 500, "", answer(200, `{"payload":{"webhooks":[]}}`), &calls), Options{MaxRetries: 1, Logger: logs})
	if _, err := c.ListWebhooks(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(logs.lines, "\n")
	if len(logs.lines) != 4 || !strings.Contains(all, "/api/v1/accounts/1/webhooks") || !strings.Contains(all, "attempt 2") {
		t.Fatalf("want 2 requests and 2 responses logged, got:\n%s", all)
	}
	if strings.Contains(all, testToken) {
		t.Fatalf("token leaked into logs:\n%s", all)
	}
}

func TestWebhookJSON(t *testing.T) {
	b, err := Webhook{ID: 1, URL: "https://e.x", AccountID: 1, Subscriptions: []string{"message_created"}, Secret: "s"}.MarshalJSON()
	if err != nil || !strings.Contains(string(b), `"name":null`) || strings.Contains(string(b), `"inbox"`) {
		t.Fatalf("unnamed webhook JSON = %s, %v", b, err)
	}
	b, _ = Webhook{ID: 1, Name: "n", Inbox: &Inbox{ID: 2, Name: "Web"}}.MarshalJSON()
	if !strings.Contains(string(b), `"name":"n"`) || !strings.Contains(string(b), `"inbox":{"id":2,"name":"Web"}`) {
		t.Fatalf("named webhook JSON = %s", b)
	}
}

func TestValidWebhookURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://example.com/hook": true, "http://127.0.0.1:9/x": true,
		"example.com": false, "ftp://example.com": false, "https://": false, "": false, "/relative": false,
	} {
		if got := ValidWebhookURL(raw); got != want {
			t.Errorf("ValidWebhookURL(%q) = %v, want %v", raw, got, want)
		}
	}
}

// TestBaseURLDropsChatwootRoutePaths: a base_url copied from the browser or
// the API docs reaches the same API as the installation's root.
func TestBaseURLDropsChatwootRoutePaths(t *testing.T) {
	for _, tc := range []struct{ in, want, dropped string }{
		{"https://chat.example.com", "https://chat.example.com", ""},
		{"https://chat.example.com/", "https://chat.example.com", ""},
		{"https://chat.example.com/api/v1", "https://chat.example.com", "/api/v1"},
		{"https://chat.example.com/api/v1/", "https://chat.example.com", "/api/v1"},
		{"https://chat.example.com/app", "https://chat.example.com", "/app"},
		{"https://chat.example.com/app/accounts/1/settings/integrations/webhook", "https://chat.example.com", "/app/accounts/1/settings/integrations/webhook"},
		{"https://example.com/support/app/accounts/1/dashboard", "https://example.com/support", "/app/accounts/1/dashboard"},
		{"https://example.com/support", "https://example.com/support", ""},
		{"https://example.com/application", "https://example.com/application", ""},
	} {
		u, dropped, err := NormalizeBaseURL(tc.in)
		if err != nil || u.String() != tc.want || dropped != tc.dropped {
			t.Errorf("NormalizeBaseURL(%q) = %v, %q, %v; want %s, %q", tc.in, u, dropped, err, tc.want, tc.dropped)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/accounts/1/webhooks" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"payload":{"webhooks":[]}}`))
	}))
	defer srv.Close()
	c, err := NewClient(Options{BaseURL: srv.URL + "/app/accounts/1/settings", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListWebhooks(context.Background(), 1); err != nil {
		t.Fatalf("a browser url as base_url: %v", err)
	}
}
