package mockapi

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

func TestFault429WithRetryAfterThenNormal(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	a := send(t, ts, "POST", "/_mock/faults", "", `{"method":"GET","path_prefix":"/api/v1/accounts/1/webhooks","count":2,"status":429,"retry_after":3}`)
	wantStatus(t, a, http.StatusCreated)

	// A POST to the same path is not matched by a GET fault.
	createWebhook(t, ts, "1", `{"url":"https://x.example/hook"}`)
	for i := range 2 {
		a := send(t, ts, "GET", "/api/v1/accounts/1/webhooks", AdminToken, "")
		wantStatus(t, a, http.StatusTooManyRequests)
		if a.header.Get("Retry-After") != "3" || string(a.body) != "Retry later\n" {
			t.Fatalf("attempt %d: Retry-After %q body %q", i, a.header.Get("Retry-After"), a.body)
		}
	}
	wantStatus(t, send(t, ts, "GET", "/api/v1/accounts/1/webhooks", AdminToken, ""), http.StatusOK)
	want := []RequestRecord{
		{"POST", "/api/v1/accounts/1/webhooks", 200},
		{"GET", "/api/v1/accounts/1/webhooks", 429},
		{"GET", "/api/v1/accounts/1/webhooks", 429},
		{"GET", "/api/v1/accounts/1/webhooks", 200},
	}
	if got := s.Requests(); !reflect.DeepEqual(got, want) {
		t.Fatalf("requests %+v, want %+v", got, want)
	}
	if f := s.Faults(); len(f) != 0 {
		t.Fatalf("spent fault still pending: %+v", f)
	}
}

// The shared client retries through a 500 and a 429, as the provider will.
func TestFaultsRetriedByTheClient(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	s.InjectFault(Fault{PathPrefix: "/api/v1/profile", Count: 1, Status: 500})
	s.InjectFault(Fault{PathPrefix: "/api/v1/", Count: 1, Status: 429, RetryAfter: 0})
	c, err := chatwoot.NewClient(chatwoot.Options{BaseURL: ts.URL, Token: AdminToken, MaxRetries: 3, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Profile(context.Background())
	if err != nil || p.ID != 1 {
		t.Fatalf("profile %+v, %v", p, err)
	}
	var statuses []int
	for _, r := range s.Requests() {
		statuses = append(statuses, r.Status)
	}
	if !reflect.DeepEqual(statuses, []int{500, 429, 200}) {
		t.Fatalf("statuses %v, want [500 429 200]", statuses)
	}
	if body := send(t, ts, "GET", "/_mock/requests", "", ""); !strings.Contains(body.String(), `"status":500`) {
		t.Fatalf("/_mock/requests %s", body)
	}
}

func TestFault500Body(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	s.InjectFault(Fault{Method: "post", PathPrefix: "/api/v1/accounts/1/conversations", Count: 1, Status: 500})
	a := send(t, ts, "POST", "/api/v1/accounts/1/conversations/1/messages", AdminToken, `{"content":"hi"}`)
	wantStatus(t, a, 500)
	if string(a.body) != `{"status":500,"error":"Internal Server Error"}` {
		t.Fatalf("body %s", a.body)
	}
	if len(s.Events()) != 0 {
		t.Fatal("a faulted request created a message")
	}
	wantStatus(t, send(t, ts, "POST", "/api/v1/accounts/1/conversations/1/messages", AdminToken, `{"content":"hi"}`), 200)
}

func TestFaultDelay(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	t.Run("then serve normally", func(t *testing.T) {
		s.InjectFault(Fault{PathPrefix: "/api/v1/profile", Count: 1, Delay: Duration(300 * time.Millisecond)})
		start := time.Now()
		wantStatus(t, send(t, ts, "GET", "/api/v1/profile", AdminToken, ""), 200)
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Fatalf("answered after %s, want ≥ 300ms", d)
		}
		start = time.Now()
		wantStatus(t, send(t, ts, "GET", "/api/v1/profile", AdminToken, ""), 200)
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Fatalf("second request took %s; the fault was not spent", d)
		}
	})
	t.Run("then a status", func(t *testing.T) {
		s.InjectFault(Fault{PathPrefix: "/api/v1/profile", Count: 1, Delay: Duration(100 * time.Millisecond), Status: 503})
		wantStatus(t, send(t, ts, "GET", "/api/v1/profile", AdminToken, ""), 503)
	})
	t.Run("gives up when the client goes away", func(t *testing.T) {
		s.ResetRequests()
		s.InjectFault(Fault{PathPrefix: "/api/v1/profile", Count: 1, Delay: Duration(time.Hour)})
		client := &http.Client{Timeout: 200 * time.Millisecond}
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/profile", nil)
		req.Header.Set("api_access_token", AdminToken)
		start := time.Now()
		_, err := client.Do(req)
		if err == nil {
			t.Fatal("answered despite an hour's delay")
		}
		// The handler must notice and return, recording 499, long before the hour.
		deadline := time.Now().Add(5 * time.Second)
		for len(s.Requests()) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := s.Requests(); len(got) != 1 || got[0].Status != StatusClientGone {
			t.Fatalf("requests %+v after %s", got, time.Since(start))
		}
	})
}

func TestFaultRoutes(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	bad := []struct{ name, body, want string }{
		{"empty", ``, "empty body"},
		{"truncated JSON", `{"count":`, "ends early"},
		{"not JSON", `count=1`, "not valid JSON"},
		{"unknown field", `{"path_prefix":"/","count":1,"status":500,"retries":2}`, `unknown field "retries"`},
		{"delay as a number", `{"path_prefix":"/","count":1,"delay":5}`, `like "5s"`},
		{"delay unparsable", `{"path_prefix":"/","count":1,"delay":"soon"}`, `"soon" is not a duration`},
		{"no path prefix", `{"count":1,"status":500}`, "path_prefix"},
		{"count zero", `{"path_prefix":"/","status":500}`, "count is 0"},
		{"status not HTTP", `{"path_prefix":"/","count":1,"status":42}`, "not an HTTP status"},
		{"does nothing", `{"path_prefix":"/","count":1}`, "does nothing"},
		{"count a string", `{"path_prefix":"/","count":"2","status":500}`, "count must be an integer"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, ts, "POST", "/_mock/faults", "", tt.body)
			wantStatus(t, a, http.StatusBadRequest)
			if msg := a.errorBody(t).Error; !strings.Contains(msg, tt.want) {
				t.Fatalf("error %q does not say %q", msg, tt.want)
			}
		})
	}
	t.Run("list, then clear", func(t *testing.T) {
		wantStatus(t, send(t, ts, "POST", "/_mock/faults", "", `{"path_prefix":"/api","count":3,"status":500}`), 201)
		wantStatus(t, send(t, ts, "POST", "/_mock/faults", "", `{"path_prefix":"/api/v1/profile","count":1,"delay":"1.5s"}`), 201)
		wantStatus(t, send(t, ts, "GET", "/api/v1/profile", AdminToken, ""), 500) // first fault first
		a := send(t, ts, "GET", "/_mock/faults", "", "")
		want := `[{"path_prefix":"/api","count":2,"status":500},{"path_prefix":"/api/v1/profile","count":1,"delay":"1.5s"}]`
		if string(a.body) != want {
			t.Fatalf("faults %s, want %s", a.body, want)
		}
		wantStatus(t, send(t, ts, "DELETE", "/_mock/faults", "", ""), 204)
		if a := send(t, ts, "GET", "/_mock/faults", "", ""); string(a.body) != "[]" {
			t.Fatalf("after clear %s", a.body)
		}
		wantStatus(t, send(t, ts, "GET", "/api/v1/profile", AdminToken, ""), 200)
	})
	t.Run("test-support routes are never faulted", func(t *testing.T) {
		wantStatus(t, send(t, ts, "POST", "/_mock/faults", "", `{"path_prefix":"/","count":5,"status":500}`), 201)
		wantStatus(t, send(t, ts, "GET", "/_mock/requests", "", ""), 200)
		wantStatus(t, send(t, ts, "DELETE", "/_mock/faults", "", ""), 204)
	})
}

func TestRequestsLog(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	send(t, ts, "GET", "/api/v1/profile", AdminToken, "")
	send(t, ts, "GET", "/api/v1/accounts/1/webhooks", AgentToken, "")
	send(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, `{"url":"https://x.example/h"}`)
	send(t, ts, "DELETE", "/api/v1/accounts/1/webhooks/1?x=1", AdminToken, "")
	send(t, ts, "GET", "/unknown", "", "")
	send(t, ts, "GET", "/_mock/faults", "", "") // not recorded

	a := send(t, ts, "GET", "/_mock/requests", "", "")
	wantStatus(t, a, 200)
	var got []RequestRecord
	a.decode(t, &got)
	want := []RequestRecord{
		{"GET", "/api/v1/profile", 200},
		{"GET", "/api/v1/accounts/1/webhooks", 401},
		{"POST", "/api/v1/accounts/1/webhooks", 200},
		{"DELETE", "/api/v1/accounts/1/webhooks/1", 200},
		{"GET", "/unknown", 404},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("requests %+v\nwant %+v", got, want)
	}
	wantStatus(t, send(t, ts, "DELETE", "/_mock/requests", "", ""), 204)
	if a := send(t, ts, "GET", "/_mock/requests", "", ""); string(a.body) != "[]" {
		t.Fatalf("after reset %s", a.body)
	}
	a = send(t, ts, "GET", "/_mock/nothing", "", "")
	wantStatus(t, a, 404)
	if !strings.Contains(a.errorBody(t).Error, "/_mock/requests") {
		t.Fatalf("unknown test route body %s", a.body)
	}
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"1m30s"`)); err != nil || time.Duration(d) != 90*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	if b, _ := d.MarshalJSON(); string(b) != `"1m30s"` {
		t.Fatalf("%s", b)
	}
	if err := d.UnmarshalJSON([]byte(`90`)); err == nil || !strings.Contains(err.Error(), `"5s"`) {
		t.Fatalf("number accepted: %v", err)
	}
	if err := (Fault{PathPrefix: "/", Count: 1, Status: 500, RetryAfter: -1}).Validate(); err == nil {
		t.Fatal("negative retry_after accepted")
	}
}
