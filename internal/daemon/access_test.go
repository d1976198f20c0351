package daemon

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

// TestAccessFromWebPages: what a web page in a browser on the daemon's
// machine could send — a cross-origin text/plain POST to ingest, one to
// River's UI, a request under a rebinding DNS name — is refused and
// changes nothing; the relay route is not a local route and does not care
// about Host.
func TestAccessFromWebPages(t *testing.T) {
	rcv := newReceiver(t, "s")
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 1, URL: relayed(1, rcv.srv.URL), Subscriptions: []string{"message_created"}, Secret: "s"})
	base := startDaemon(t, cw, func(c *Config) { c.RiverUI = true })
	// A delivery that stays in the store, for River's UI to be asked to delete.
	if status, _ := postEvent(t, base, 1, []byte(`{"event":"message_created"}`), ""); status != 202 {
		t.Fatal(status)
	}
	waitDeliveries(t, base, "state=succeeded", 1)

	send := func(method, path, host, contentType string, header map[string]string, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	page := map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
	for _, tc := range []struct {
		name                         string
		method, path, host, ct, body string
		header                       map[string]string
		want                         int
	}{
		{"cross-origin text/plain post to ingest", "POST", "/v1/accounts/1/events", "", "text/plain", `{"event":"message_created"}`, page, 403},
		{"text/plain post to ingest (no Origin)", "POST", "/v1/accounts/1/events", "", "text/plain", `{"event":"message_created"}`, nil, 415},
		{"cross-origin delete through River's UI", "POST", "/riverui/api/jobs/delete", "", "text/plain;charset=UTF-8", `{"ids":["1"]}`, page, 403},
		{"rebinding name on the admin API", "GET", "/v1/endpoints", "attacker.example:8787", "", "", nil, 403},
		{"rebinding name on River's UI", "GET", "/riverui/api/jobs?state=completed", "attacker.example", "", "", nil, 403},
		{"rebinding name on ingest", "POST", "/v1/accounts/1/events", "attacker.example", "application/json", `{"event":"message_created"}`, nil, 403},
	} {
		if status, body := send(tc.method, tc.path, tc.host, tc.ct, tc.header, tc.body); status != tc.want {
			t.Errorf("%s: %d %s; want %d", tc.name, status, body, tc.want)
		}
	}
	if n := len(listDeliveries(t, base, "").Deliveries); n != 1 {
		t.Fatalf("%d deliveries after the refused requests, want the 1 posted before", n)
	}
	time.Sleep(200 * time.Millisecond)
	if hits, _, _ := rcv.stats(); hits != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", hits)
	}

	// The relay route answers whatever Host Chatwoot uses, and authenticates by signature.
	relay := chatwoot.RelayPath(1) + "?to=" + url.QueryEscape(rcv.srv.URL)
	if status, body := send("POST", relay, "relay.example.com", "application/json", nil, `{"event":"message_created"}`); status != http.StatusUnauthorized {
		t.Fatalf("unsigned relay post under another Host: %d %s; want 401 (the signature check, not the Host check)", status, body)
	}
}

// TestStartupLogSaysWhatIsReachable: bound to every address without an
// admin token, the daemon starts and says plainly what answers whom.
func TestStartupLogSaysWhatIsReachable(t *testing.T) {
	cw := newFakeChatwoot()
	cw.set(1)
	var logs testproc.Buffer
	startDaemonLogs(t, cw, &logs, func(c *Config) { c.Listen = "0.0.0.0:0"; c.LogLevel = "info" })
	out := logs.String()
	for _, want := range []string{
		"listening on a non-loopback address without --admin-token",
		"may use the relay route (it needs Chatwoot's signature)",
		"ingest, the admin API, /metrics and River's UI answer loopback clients only",
		"/v1/accounts/{account_id}/relay?to=",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("startup log lacks %q:\n%s", want, out)
		}
	}
}

// TestQueryWithSemicolonIsRefused: Go drops a query parameter holding a
// ';' silently; the daemon answers 400 naming the parameter instead of
// acting on the query without it.
func TestQueryWithSemicolonIsRefused(t *testing.T) {
	cw := newFakeChatwoot()
	cw.set(1)
	base := startDaemon(t, cw, nil)
	status, body := call(t, http.MethodGet, base+"/v1/deliveries?state=dead;failed&limit=5", "", nil)
	if status != http.StatusBadRequest || !strings.Contains(body, `\"state\"`) || !strings.Contains(body, "%3B") {
		t.Fatalf("GET with state=dead;failed: %d %s; want 400 naming the parameter", status, body)
	}
	status, body = call(t, http.MethodPost, base+chatwoot.RelayPath(1)+"?to=https://x/?a=1;token=hunter2-secret", "", nil)
	if status != http.StatusBadRequest || strings.Contains(body, "hunter2-secret") {
		t.Fatalf("relay post with a ';' in to: %d %s; want 400 without the value", status, body)
	}
}
