package mockapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// answer is one HTTP exchange with the mock.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string { return string(a.body) }

// errorBody decodes any of upstream's error shapes.
func (a answer) errorBody(t *testing.T) chatwoot.ErrorBody {
	t.Helper()
	var b chatwoot.ErrorBody
	if err := json.Unmarshal(a.body, &b); err != nil {
		t.Fatalf("error body %q is not JSON: %v", a.body, err)
	}
	return b
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %q does not decode into %T: %v", a.body, v, err)
	}
}

// send makes a request with token (none when "") and a raw JSON body (none
// when ""), sent as application/json.
func send(t *testing.T, ts *httptest.Server, method, path, token, body string) answer {
	t.Helper()
	return sendCT(t, ts, method, path, token, body, "application/json")
}

func sendCT(t *testing.T, ts *httptest.Server, method, path, token, body, contentType string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("api_access_token", token)
	}
	if body != "" && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func wantStatus(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
}

// createWebhook creates a webhook through the API and returns it.
func createWebhook(t *testing.T, ts *httptest.Server, account, body string) chatwoot.Webhook {
	t.Helper()
	a := send(t, ts, "POST", "/api/v1/accounts/"+account+"/webhooks", AdminToken, body)
	wantStatus(t, a, http.StatusOK)
	var resp chatwoot.WebhookResponse
	a.decode(t, &resp)
	return resp.Payload.Webhook
}

// itemsOf is the typed items of an event's content_attributes.
func itemsOf(ev chatwoot.MessageEvent) []chatwoot.ContentItem {
	a, _ := ev.Items()
	return a.Items
}

// eventsNamed keeps the events of one name, in firing order.
func eventsNamed(all []EventRecord, name string) []EventRecord {
	var out []EventRecord
	for _, ev := range all {
		if ev.Event == name {
			out = append(out, ev)
		}
	}
	return out
}
