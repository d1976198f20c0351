package daemon

// Tests of the admin API, the metrics and River's UI against the daemon
// running in-process over a real SQLite store: River's own filters, retries
// and job metadata, not fakes.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/admin"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

// call does one request and decodes a JSON answer into out (if not nil).
func call(t *testing.T, method, url, token string, out any) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json") // the local API refuses other POSTs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

type deliveryList struct {
	Deliveries []admin.DeliveryJSON `json:"deliveries"`
	NextCursor string               `json:"next_cursor"`
}

func listDeliveries(t *testing.T, base, query string) deliveryList {
	t.Helper()
	var l deliveryList
	if code, body := call(t, "GET", base+"/v1/deliveries?"+query, "", &l); code != 200 {
		t.Fatalf("GET /v1/deliveries?%s: %d %s", query, code, body)
	}
	return l
}

func waitDeliveries(t *testing.T, base, query string, n int) deliveryList {
	t.Helper()
	var l deliveryList
	testproc.WaitFor(t, 15*time.Second, fmt.Sprintf("%d deliveries with %s", n, query), func() bool {
		l = listDeliveries(t, base, query)
		return len(l.Deliveries) == n
	})
	return l
}

// metricValue reads one sample of the exposition text; -1 when absent.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	_, body := call(t, "GET", base+"/metrics", "", nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestAdminAPIDeliveryLogAndReplay: three endpoints (healthy, failing,
// gone); the log shows each attempt with its status and duration, the
// endpoints their health; a dead delivery is replayed under the same
// delivery id, and a cancelled one after its endpoint is enabled again.
// The metrics move with all of it.
func TestAdminAPIDeliveryLogAndReplay(t *testing.T) {
	ok := newReceiver(t, "s1")
	failing := newReceiver(t, "s2")
	var failNow atomic.Bool
	failNow.Store(true)
	failing.setAnswer(func(int) int {
		if failNow.Load() {
			return 500
		}
		return 200
	})
	gone := newReceiver(t, "s3")
	var goneNow atomic.Bool
	goneNow.Store(true)
	gone.setAnswer(func(int) int {
		if goneNow.Load() {
			return 410
		}
		return 200
	})
	cw := newFakeChatwoot()
	cw.set(1,
		chatwoot.Webhook{ID: 1, URL: relayed(1, ok.srv.URL), Subscriptions: []string{"message_created"}, Secret: "s1"},
		chatwoot.Webhook{ID: 2, URL: relayed(1, failing.srv.URL), Subscriptions: []string{"message_created"}, Secret: "s2"},
		chatwoot.Webhook{ID: 3, URL: relayed(1, gone.srv.URL), Subscriptions: []string{"message_created"}, Secret: "s3"},
	)
	base := startDaemon(t, cw, func(c *Config) { c.Schedule = delivery.Schedule{50 * time.Millisecond} }) // 2 attempts

	for _, s := range []string{
		`chatwoot_deliveries_total{outcome="delivered"}`, `chatwoot_delivery_attempts_total{status_class="5xx"}`,
		`chatwoot_deliveries_queued_total`, `chatwoot_endpoints_disabled`, `chatwoot_delivery_attempt_duration_seconds_count`,
	} {
		if v := metricValue(t, base, s); v != 0 {
			t.Fatalf("%s = %v before any delivery, want 0", s, v)
		}
	}

	status, ids := postEvent(t, base, 1, []byte(`{"event":"message_created","id":1}`), "")
	if status != 202 || len(ids) != 3 {
		t.Fatalf("ingest: %d %v", status, ids)
	}
	succeeded := waitDeliveries(t, base, "state=succeeded", 1).Deliveries[0]
	dead := waitDeliveries(t, base, "state=dead&endpoint=2", 1).Deliveries[0]
	cancelled := waitDeliveries(t, base, "state=cancelled&endpoint=3", 1).Deliveries[0]

	if succeeded.DeliveryID != ids[0] || succeeded.EndpointID != 1 || len(succeeded.Attempts) != 1 ||
		succeeded.Attempts[0].Status != 200 || succeeded.Attempts[0].At.IsZero() || succeeded.Attempts[0].Error != "" || succeeded.FinalizedAt == nil ||
		succeeded.Attempts[0].DurationMS <= 0 { // a 200's duration is recorded too
		t.Fatalf("succeeded delivery = %+v", succeeded)
	}
	if dead.DeliveryID != ids[1] || len(dead.Attempts) != 2 || dead.MaxAttempts != 2 {
		t.Fatalf("dead delivery = %+v", dead)
	}
	for _, a := range dead.Attempts {
		if a.Status != 500 || a.DurationMS <= 0 || !strings.Contains(a.Error, "endpoint answered 500") || a.At.IsZero() {
			t.Fatalf("dead delivery attempt = %+v", a)
		}
	}
	if cancelled.DeliveryID != ids[2] || len(cancelled.Attempts) != 1 || cancelled.Attempts[0].Status != 410 || !strings.Contains(cancelled.Attempts[0].Error, "410") {
		t.Fatalf("cancelled delivery = %+v", cancelled)
	}
	if all := listDeliveries(t, base, ""); len(all.Deliveries) != 3 || all.Deliveries[0].ID < all.Deliveries[2].ID {
		t.Fatalf("the log without filters = %+v; want 3, newest first", all.Deliveries)
	}
	if one := listDeliveries(t, base, "state=succeeded,dead"); len(one.Deliveries) != 2 {
		t.Fatalf("state=succeeded,dead gave %d deliveries", len(one.Deliveries))
	}
	page1 := listDeliveries(t, base, "limit=2")
	page2 := listDeliveries(t, base, "limit=2&cursor="+page1.NextCursor)
	if len(page1.Deliveries) != 2 || page1.NextCursor == "" || len(page2.Deliveries) != 1 || page2.Deliveries[0].ID >= page1.Deliveries[1].ID {
		t.Fatalf("paging: %+v then %+v", page1, page2)
	}
	var byUUID admin.DeliveryJSON
	if code, body := call(t, "GET", base+"/v1/deliveries/"+ids[1], "", &byUUID); code != 200 || byUUID.ID != dead.ID {
		t.Fatalf("GET by X-Chatwoot-Delivery: %d %s", code, body)
	}

	var eps struct{ Endpoints []admin.EndpointJSON }
	if code, body := call(t, "GET", base+"/v1/endpoints", "", &eps); code != 200 || len(eps.Endpoints) != 3 {
		t.Fatalf("GET /v1/endpoints: %d %s", code, body)
	}
	e1, e2, e3 := eps.Endpoints[0], eps.Endpoints[1], eps.Endpoints[2]
	if e1.Status != "active" || e1.Health.LastStatus != 200 || e1.Health.ConsecutiveFailures != 0 || e1.Health.LastSuccessAt == nil {
		t.Fatalf("healthy endpoint = %+v", e1)
	}
	if e2.Status != "active" || e2.Health.LastStatus != 500 || e2.Health.ConsecutiveFailures != 2 || e2.Health.LastSuccessAt != nil {
		t.Fatalf("failing endpoint = %+v", e2)
	}
	if e3.Status != "disabled" || e3.DisabledAt == nil || !strings.Contains(e3.DisabledReason, "410") || e3.Health.LastStatus != 410 {
		t.Fatalf("gone endpoint = %+v", e3)
	}

	// Replay the dead delivery: same X-Chatwoot-Delivery, one more attempt.
	failNow.Store(false)
	var replayed admin.DeliveryJSON
	if code, body := call(t, "POST", fmt.Sprintf("%s/v1/deliveries/%d/retry", base, dead.ID), "", &replayed); code != 200 || replayed.State != "pending" {
		t.Fatalf("retry: %d %s", code, body)
	}
	testproc.WaitFor(t, 10*time.Second, "the replayed delivery", func() bool { return failing.has(ids[1]) })
	var after admin.DeliveryJSON
	testproc.WaitFor(t, 5*time.Second, "the replay recorded", func() bool {
		call(t, "GET", fmt.Sprintf("%s/v1/deliveries/%d", base, dead.ID), "", &after)
		return after.State == "succeeded"
	})
	if len(after.Attempts) != 3 || after.Attempts[2].Status != 200 || after.Attempts[2].Error != "" {
		t.Fatalf("after the replay: %+v", after)
	}
	if code, body := call(t, "POST", fmt.Sprintf("%s/v1/deliveries/%d/retry", base, dead.ID), "", nil); code != 409 {
		t.Fatalf("retrying a delivered delivery: %d %s", code, body)
	}

	// The cancelled delivery: refused while its endpoint is disabled, then
	// replayed by its X-Chatwoot-Delivery once the endpoint is enabled.
	if code, body := call(t, "POST", base+"/v1/deliveries/"+ids[2]+"/retry", "", nil); code != 409 || !strings.Contains(body, "enable it first") {
		t.Fatalf("retry to a disabled endpoint: %d %s", code, body)
	}
	if v := metricValue(t, base, "chatwoot_endpoints_disabled"); v != 1 {
		t.Fatalf("chatwoot_endpoints_disabled = %v", v)
	}
	goneNow.Store(false)
	if code, body := call(t, "POST", base+"/v1/endpoints/3/enable", "", nil); code != 200 || !strings.Contains(body, `"was_disabled": true`) {
		t.Fatalf("enable: %d %s", code, body)
	}
	if code, body := call(t, "POST", base+"/v1/deliveries/"+ids[2]+"/retry", "", nil); code != 200 {
		t.Fatalf("retry by delivery id: %d %s", code, body)
	}
	testproc.WaitFor(t, 10*time.Second, "the replayed cancelled delivery", func() bool { return gone.has(ids[2]) })

	testproc.WaitFor(t, 5*time.Second, "the metrics", func() bool {
		return metricValue(t, base, `chatwoot_deliveries_total{outcome="delivered"}`) == 3
	})
	for series, want := range map[string]float64{
		`chatwoot_deliveries_queued_total`:                           3,
		`chatwoot_delivery_retries_total`:                            1,
		`chatwoot_deliveries_total{outcome="dead"}`:                  1,
		`chatwoot_deliveries_total{outcome="cancelled"}`:             1,
		`chatwoot_delivery_attempts_total{status_class="2xx"}`:       3,
		`chatwoot_delivery_attempts_total{status_class="4xx"}`:       1,
		`chatwoot_delivery_attempts_total{status_class="5xx"}`:       2,
		`chatwoot_delivery_attempt_duration_seconds_count`:           6,
		`chatwoot_endpoints_disabled`:                                0,
		`chatwoot_endpoints`:                                         3,
		`chatwoot_reconcile_errors_total`:                            0,
		`chatwoot_delivery_queue_depth{state="completed"}`:           -2, // present; sampled, so not checked
		`chatwoot_reconcile_seconds_since_success`:                   -2,
		`chatwoot_delivery_attempt_duration_seconds_bucket{le="30"}`: 6,
	} {
		v := metricValue(t, base, series)
		if want == -2 && v < 0 || want != -2 && v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
}

// TestRiverUIServes: River's UI answers its page and its JSON API under
// /riverui/, with the SQLite store.
func TestRiverUIServes(t *testing.T) {
	rcv := newReceiver(t, "s")
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 1, URL: relayed(1, rcv.srv.URL), Subscriptions: []string{"message_created"}, Secret: "s"})
	base := startDaemon(t, cw, func(c *Config) { c.RiverUI = true })
	if status, _ := postEvent(t, base, 1, []byte(`{"event":"message_created"}`), ""); status != 202 {
		t.Fatal(status)
	}
	waitDeliveries(t, base, "state=succeeded", 1)

	resp, err := http.Get(base + "/riverui/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(strings.ToLower(string(page)), "<html") {
		t.Fatalf("GET /riverui/: %d %s\n%.300s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	if code, _ := call(t, "GET", base+"/riverui", "", nil); code != 200 { // redirected to /riverui/
		t.Fatalf("GET /riverui: %d", code)
	}
	var states map[string]struct {
		Count int `json:"count"`
	}
	// The delivery is recorded before its job completes: wait for River.
	var code int
	var body string
	testproc.WaitFor(t, 10*time.Second, "River's UI to count the completed job", func() bool {
		code, body = call(t, "GET", base+"/riverui/api/states", "", &states)
		return code != 200 || states["completed"].Count == 1
	})
	if code != 200 || states["completed"].Count != 1 {
		t.Fatalf("GET /riverui/api/states: %d %s", code, body)
	}
	var jobs struct {
		Data []struct {
			Kind  string `json:"kind"`
			State string `json:"state"`
		} `json:"data"`
	}
	if code, body := call(t, "GET", base+"/riverui/api/jobs?state=completed", "", &jobs); code != 200 || len(jobs.Data) != 1 || jobs.Data[0].Kind != delivery.Kind {
		t.Fatalf("GET /riverui/api/jobs: %d %s", code, body)
	}
}

// TestAdminTokenRule: with --admin-token, health is open, ingest from
// loopback needs no token, and the admin API, /metrics and River's UI need
// it even from loopback.
func TestAdminTokenRule(t *testing.T) {
	const token = "test-admin-token-0123456789"
	cw := newFakeChatwoot()
	cw.set(1)
	var logs testproc.Buffer
	base := startDaemonLogs(t, cw, &logs, func(c *Config) { c.AdminToken = token; c.RiverUI = true; c.LogLevel = "debug" })
	for _, tt := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/readyz", "", 200},
		{"GET", "/v1/endpoints", "", 401},
		{"GET", "/v1/endpoints", "wrong-token-wrong-token", 401},
		{"GET", "/v1/endpoints", token, 200},
		{"GET", "/v1/deliveries", "", 401},
		{"GET", "/v1/deliveries", token, 200},
		{"POST", "/v1/deliveries/1/retry", "", 401},
		{"POST", "/v1/deliveries/1/retry", token, 404},
		{"POST", "/v1/endpoints/1/enable", "", 401},
		{"GET", "/metrics", "", 401},
		{"GET", "/metrics", token, 200},
		{"GET", "/riverui/", "", 401},
		{"GET", "/riverui/", token, 200},
		{"GET", "/riverui/api/states", "", 401},
	} {
		if code, body := call(t, tt.method, base+tt.path, tt.token, nil); code != tt.want {
			t.Errorf("%s %s (token %v): %d %s; want %d", tt.method, tt.path, tt.token != "", code, body, tt.want)
		}
	}
	// Ingest from loopback needs no token.
	if status, _ := postEvent(t, base, 1, []byte(`{"event":"message_created"}`), ""); status != 202 {
		t.Errorf("ingest from loopback without the token: %d", status)
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the admin token appears in the logs")
	}
}
