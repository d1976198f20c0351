package mockapi

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Every 401 and 404 body, in upstream's order of checks.
func TestAuthAndNotFoundBodies(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	createWebhook(t, ts, "2", `{"url":"https://globex.example/hook"}`) // webhook 1, account 2

	signIn := chatwoot.ErrorBody{Errors: []string{chatwoot.MsgSignIn}}
	invalid := chatwoot.ErrorBody{Error: chatwoot.MsgInvalidToken}
	notIn := chatwoot.ErrorBody{Error: chatwoot.MsgNotInAccount}
	action := chatwoot.ErrorBody{Error: chatwoot.MsgNotAuthorizedAction}
	notFound := chatwoot.ErrorBody{Error: chatwoot.MsgNotFound}
	routing := `{"status":404,"error":"Not Found"}`

	tests := []struct {
		name, method, path, token, body string
		status                          int
		want                            chatwoot.ErrorBody
		rawWant                         string // when set, the exact body
	}{
		{"no token", "GET", "/api/v1/accounts/1/webhooks", "", "", 401, signIn, ""},
		{"no token on profile", "GET", "/api/v1/profile", "", "", 401, signIn, ""},
		{"no token on messages", "POST", "/api/v1/accounts/1/conversations/1/messages", "", `{"content":"hi"}`, 401, signIn, ""},
		{"unknown token", "GET", "/api/v1/accounts/1/webhooks", "nope", "", 401, invalid, ""},
		{"unknown token on profile", "GET", "/api/v1/profile", "nope", "", 401, invalid, ""},
		{"token checked before the account", "GET", "/api/v1/accounts/999/webhooks", "nope", "", 401, invalid, ""},
		{"unknown account", "GET", "/api/v1/accounts/999/webhooks", AdminToken, "", 404, notFound, ""},
		{"unknown account for an agent (404 before membership)", "GET", "/api/v1/accounts/999/webhooks", AgentToken, "", 404, notFound, ""},
		{"non-numeric account", "GET", "/api/v1/accounts/acme/webhooks", AdminToken, "", 404, notFound, ""},
		{"agent not in account", "GET", "/api/v1/accounts/2/webhooks", AgentToken, "", 401, notIn, ""},
		{"agent not in account, messages", "POST", "/api/v1/accounts/2/conversations/1/messages", AgentToken, `{"content":"hi"}`, 401, notIn, ""},
		{"agent lists webhooks", "GET", "/api/v1/accounts/1/webhooks", AgentToken, "", 401, action, ""},
		{"agent creates a webhook", "POST", "/api/v1/accounts/1/webhooks", AgentToken, `{"url":"https://x.example"}`, 401, action, ""},
		{"agent updates (policy before find)", "PATCH", "/api/v1/accounts/1/webhooks/12345", AgentToken, `{"name":"x"}`, 401, action, ""},
		{"agent puts", "PUT", "/api/v1/accounts/1/webhooks/1", AgentToken, `{"name":"x"}`, 401, action, ""},
		{"agent deletes", "DELETE", "/api/v1/accounts/1/webhooks/1", AgentToken, "", 401, action, ""},
		{"unknown webhook update", "PATCH", "/api/v1/accounts/1/webhooks/12345", AdminToken, `{"name":"x"}`, 404, notFound, ""},
		{"unknown webhook delete", "DELETE", "/api/v1/accounts/1/webhooks/12345", AdminToken, "", 404, notFound, ""},
		{"other account's webhook update", "PATCH", "/api/v1/accounts/1/webhooks/1", AdminToken, `{"name":"x"}`, 404, notFound, ""},
		{"other account's webhook delete", "DELETE", "/api/v1/accounts/1/webhooks/1", AdminToken, "", 404, notFound, ""},
		{"non-numeric webhook id", "PATCH", "/api/v1/accounts/2/webhooks/abc", AdminToken, `{"name":"x"}`, 404, notFound, ""},
		{"unknown conversation", "POST", "/api/v1/accounts/1/conversations/999/messages", AdminToken, `{"content":"hi"}`, 404, notFound, ""},
		{"unknown route", "GET", "/api/v1/accounts/1/campaigns", AdminToken, "", 404, chatwoot.ErrorBody{}, routing},
		{"no GET of one webhook upstream", "GET", "/api/v1/accounts/2/webhooks/1", AdminToken, "", 404, chatwoot.ErrorBody{}, routing},
		{"wrong method is a 404 like Rails, not a 405", "DELETE", "/api/v1/accounts/1/webhooks", AdminToken, "", 404, chatwoot.ErrorBody{}, routing},
		{"unknown route needs no token", "GET", "/nothing/here", "", "", 404, chatwoot.ErrorBody{}, routing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, ts, tt.method, tt.path, tt.token, tt.body)
			wantStatus(t, a, tt.status)
			if tt.rawWant != "" {
				if string(a.body) != tt.rawWant {
					t.Fatalf("body %s, want %s", a.body, tt.rawWant)
				}
				return
			}
			if got := a.errorBody(t); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("body %s, want %+v", a.body, tt.want)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestProfile(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	tests := []struct {
		token    string
		id       int64
		accounts []chatwoot.AccountProfile
	}{
		{AdminToken, 1, []chatwoot.AccountProfile{{ID: 1, Name: "Acme Inc", Role: "administrator"}, {ID: 2, Name: "Globex", Role: "administrator"}}},
		{AgentToken, 2, []chatwoot.AccountProfile{{ID: 1, Name: "Acme Inc", Role: "agent"}}},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			a := send(t, ts, "GET", "/api/v1/profile", tt.token, "")
			wantStatus(t, a, http.StatusOK)
			var p chatwoot.Profile
			a.decode(t, &p)
			if p.ID != tt.id || p.Email == "" || p.Name == "" {
				t.Errorf("profile %+v", p)
			}
			if !reflect.DeepEqual(p.Accounts, tt.accounts) {
				t.Errorf("accounts %+v, want %+v", p.Accounts, tt.accounts)
			}
			// Upstream's user view carries the token itself and the active account.
			var raw map[string]any
			a.decode(t, &raw)
			if raw["access_token"] != tt.token || raw["account_id"] != float64(1) {
				t.Errorf("access_token/account_id: %v %v", raw["access_token"], raw["account_id"])
			}
			// Upstream v4.15.1's profile accounts[] carry onboarding_step (null here).
			for _, acc := range raw["accounts"].([]any) {
				if step, has := acc.(map[string]any)["onboarding_step"]; !has || step != nil {
					t.Errorf("accounts[] onboarding_step = %v (present %v), want null", step, has)
				}
			}
		})
	}
	if got := (chatwoot.Profile{Accounts: []chatwoot.AccountProfile{{ID: 1, Role: "agent"}}}).AdministeredAccounts(); got != nil {
		t.Errorf("agent administers %v", got)
	}
}

// Malformed JSON is a 400 like Rails' parse error — before the token check,
// as upstream's auth before-action reads params first (v4.15.1) — and
// never a panic.
func TestMalformedJSON(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/accounts/1/webhooks"},
		{"PATCH", "/api/v1/accounts/1/webhooks/1"},
		{"PUT", "/api/v1/accounts/1/webhooks/1"},
		{"POST", "/api/v1/accounts/1/conversations/1/messages"},
	}
	bodies := []string{`{"url":`, `{"url": "x"}}`, `not json`, `{"webhook": {"url": "https://x"}`, "\x00"}
	for _, r := range routes {
		for _, body := range bodies {
			t.Run(r.method+" "+r.path+" "+body, func(t *testing.T) {
				a := send(t, ts, r.method, r.path, AdminToken, body)
				wantStatus(t, a, http.StatusBadRequest)
				if string(a.body) != `{"status":400,"error":"Bad Request"}` {
					t.Errorf("body %s", a.body)
				}
				if a.header.Get("X-Mock-Hint") == "" {
					t.Error("no X-Mock-Hint explaining the 400")
				}
			})
		}
	}
	t.Run("parse before token", func(t *testing.T) {
		wantStatus(t, send(t, ts, "POST", "/api/v1/accounts/1/webhooks", "", `{"url":`), http.StatusBadRequest)
		wantStatus(t, send(t, ts, "POST", "/api/v1/accounts/1/webhooks", "nope", `{"url":`), http.StatusBadRequest)
	})
	t.Run("JSON that is not an object gives no params", func(t *testing.T) {
		a := send(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, `["https://x.example"]`)
		wantStatus(t, a, http.StatusUnprocessableEntity)
		if a.errorBody(t).Error != chatwoot.MsgParamMissing {
			t.Errorf("body %s", a.body)
		}
	})
}

// Upstream reads the token from HTTP_API_ACCESS_TOKEN, which Rack fills from
// the api_access_token header and from Api-Access-Token alike (v4.15.1);
// n8n's Chatwoot node sends the hyphenated form.
func TestHyphenatedTokenHeader(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	for _, header := range []string{"Api-Access-Token", "api-access-token", "api_access_token"} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/profile", nil)
		req.Header.Set(header, AdminToken)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, want 200", header, resp.StatusCode)
		}
	}
}
