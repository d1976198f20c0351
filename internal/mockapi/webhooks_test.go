package mockapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

func TestCreateWebhookBodyForms(t *testing.T) {
	tests := []struct {
		name, body string
		want       chatwoot.Webhook
	}{
		{
			"wrapped", `{"webhook":{"url":"https://a.example/hook","name":"A","subscriptions":["message_created"]}}`,
			chatwoot.Webhook{Name: "A", URL: "https://a.example/hook", AccountID: 1, Subscriptions: []string{"message_created"}},
		},
		{
			"top level", `{"url":"https://b.example/hook","name":"B","subscriptions":["contact_created","message_created"]}`,
			chatwoot.Webhook{Name: "B", URL: "https://b.example/hook", AccountID: 1, Subscriptions: []string{"contact_created", "message_created"}},
		},
		{
			"wrapper wins over top-level keys", `{"webhook":{"url":"https://c.example/hook"},"url":"https://ignored.example"}`,
			chatwoot.Webhook{URL: "https://c.example/hook", AccountID: 1, Subscriptions: chatwoot.DefaultSubscriptions},
		},
		{
			"subscriptions omitted: default 8", `{"url":"https://d.example/hook"}`,
			chatwoot.Webhook{URL: "https://d.example/hook", AccountID: 1, Subscriptions: chatwoot.DefaultSubscriptions},
		},
		{
			"subscriptions null: default 8", `{"url":"https://e.example/hook","subscriptions":null}`,
			chatwoot.Webhook{URL: "https://e.example/hook", AccountID: 1, Subscriptions: chatwoot.DefaultSubscriptions},
		},
		{
			"subscriptions not an array is dropped like strong params drop it", `{"url":"https://f.example/hook","subscriptions":"message_created"}`,
			chatwoot.Webhook{URL: "https://f.example/hook", AccountID: 1, Subscriptions: chatwoot.DefaultSubscriptions},
		},
		{
			"duplicates kept as sent", `{"url":"https://g.example/hook","subscriptions":["message_created","message_created"]}`,
			chatwoot.Webhook{URL: "https://g.example/hook", AccountID: 1, Subscriptions: []string{"message_created", "message_created"}},
		},
		{
			"all 12 events", `{"url":"https://h.example/hook","subscriptions":` + mustJSON(chatwoot.AllowedEvents) + `}`,
			chatwoot.Webhook{URL: "https://h.example/hook", AccountID: 1, Subscriptions: chatwoot.AllowedEvents},
		},
		{
			"inbox echoed as {id, name}", `{"url":"https://i.example/hook","inbox_id":1}`,
			chatwoot.Webhook{URL: "https://i.example/hook", AccountID: 1, Subscriptions: chatwoot.DefaultSubscriptions, Inbox: &chatwoot.Inbox{ID: 1, Name: "Website"}},
		},
		{
			"inbox id as a numeric string is cast", `{"url":"https://j.example/hook","inbox_id":"2"}`,
			chatwoot.Webhook{URL: "https://j.example/hook", AccountID: 1, Subscriptions: chatwoot.DefaultSubscriptions, Inbox: &chatwoot.Inbox{ID: 2, Name: "API"}},
		},
		{
			"unknown inbox is stored but renders no inbox, like upstream", `{"url":"https://k.example/hook","inbox_id":999}`,
			chatwoot.Webhook{URL: "https://k.example/hook", AccountID: 1, Subscriptions: chatwoot.DefaultSubscriptions},
		},
	}
	_, ts := NewTestServer(t, Options{})
	var lastID int64
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, tt.body)
			wantStatus(t, a, http.StatusOK)
			var resp chatwoot.WebhookResponse
			a.decode(t, &resp)
			got := resp.Payload.Webhook
			if got.ID <= lastID {
				t.Errorf("id %d not after %d", got.ID, lastID)
			}
			lastID = got.ID
			if !validSecret(got.Secret) {
				t.Errorf("secret %q is not 24 base58 characters", got.Secret)
			}
			tt.want.ID, tt.want.Secret = got.ID, got.Secret
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("webhook\n got %+v\nwant %+v", got, tt.want)
			}
			// Upstream's exact keys: name is null when unset, inbox only when set, no timestamps.
			var rawResp struct {
				Payload struct {
					Webhook map[string]json.RawMessage `json:"webhook"`
				} `json:"payload"`
			}
			a.decode(t, &rawResp)
			raw := rawResp.Payload.Webhook
			keys := []string{"account_id", "id", "name", "secret", "subscriptions", "url"}
			if tt.want.Inbox != nil {
				keys = append(keys, "inbox")
			}
			slices.Sort(keys)
			if got := slices.Sorted(maps.Keys(raw)); !reflect.DeepEqual(got, keys) {
				t.Errorf("keys %v, want %v", got, keys)
			}
			if tt.want.Name == "" && string(raw["name"]) != "null" {
				t.Errorf("name %s, want null", raw["name"])
			}
		})
	}
}

func TestWebhookIDsAreGlobalAndURLsUniquePerAccount(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	a := createWebhook(t, ts, "1", `{"url":"https://same.example/hook"}`)
	b := createWebhook(t, ts, "2", `{"url":"https://same.example/hook"}`) // another account: allowed
	c := createWebhook(t, ts, "1", `{"url":"https://other.example/hook"}`)
	if a.ID != 1 || b.ID != 2 || c.ID != 3 {
		t.Fatalf("ids %d %d %d, want one global sequence 1 2 3", a.ID, b.ID, c.ID)
	}
	if a.Secret == b.Secret {
		t.Fatal("two webhooks share a secret")
	}
	dup := send(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, `{"url":"https://same.example/hook"}`)
	wantStatus(t, dup, http.StatusUnprocessableEntity)
	if got := dup.errorBody(t); got.Message != "Url has already been taken" || !reflect.DeepEqual(got.Attributes, []string{"url"}) {
		t.Fatalf("body %s", dup.body)
	}
	// The list of each account holds only its own.
	for account, want := range map[string][]int64{"1": {1, 3}, "2": {2}} {
		l := send(t, ts, "GET", "/api/v1/accounts/"+account+"/webhooks", AdminToken, "")
		wantStatus(t, l, http.StatusOK)
		var list chatwoot.WebhookListResponse
		l.decode(t, &list)
		var ids []int64
		for _, w := range list.Payload.Webhooks {
			ids = append(ids, w.ID)
			if !validSecret(w.Secret) {
				t.Errorf("listed secret %q", w.Secret)
			}
		}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("account %s lists %v, want %v", account, ids, want)
		}
	}
}

func TestListEmpty(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	a := send(t, ts, "GET", "/api/v1/accounts/1/webhooks", AdminToken, "")
	wantStatus(t, a, http.StatusOK)
	if string(a.body) != `{"payload":{"webhooks":[]}}` {
		t.Fatalf("body %s", a.body)
	}
}

// Each 422 text, exactly.
func TestCreateWebhookValidation(t *testing.T) {
	urlBad := chatwoot.ErrorBody{Message: "Url is invalid", Attributes: []string{"url"}}
	subsBad := chatwoot.ErrorBody{Message: "Subscriptions Invalid events", Attributes: []string{"subscriptions"}}
	both := chatwoot.ErrorBody{Message: "Url is invalid, Subscriptions Invalid events", Attributes: []string{"url", "subscriptions"}}
	missing := chatwoot.ErrorBody{Error: "param is missing or the value is empty: webhook"}
	tests := []struct {
		name, body string
		want       chatwoot.ErrorBody
	}{
		{"url not a URL", `{"url":"not a url"}`, urlBad},
		{"url ftp", `{"url":"ftp://example.com/x"}`, urlBad},
		{"url relative", `{"url":"/hook"}`, urlBad},
		{"url null", `{"url":null,"name":"x"}`, urlBad},
		{"url missing", `{"name":"x"}`, urlBad},
		{"url a number", `{"url":5}`, urlBad},
		{"subscriptions empty", `{"url":"https://x.example","subscriptions":[]}`, subsBad},
		{"unknown event", `{"url":"https://x.example","subscriptions":["message_created","message_deleted"]}`, subsBad},
		{"non-string event", `{"url":"https://x.example","subscriptions":[1]}`, subsBad},
		{"both joined with comma", `{"url":"nope","subscriptions":["nope"]}`, both},
		{"wrapped both", `{"webhook":{"url":"nope","subscriptions":[]}}`, both},
		{"empty object", `{}`, missing},
		{"no Webhook attribute at the top level", `{"foo":"bar"}`, missing},
		// wrap_parameters wraps the Webhook attribute secret; permit drops it.
		{"only an unpermitted attribute at the top level", `{"foo":"bar","secret":"s"}`, urlBad},
		{"empty wrapper", `{"webhook":{}}`, missing},
		{"wrapper not an object", `{"webhook":"https://x.example"}`, missing},
		// require passes a non-empty hash; permit leaves nothing: no url.
		{"wrapper with unpermitted keys only", `{"webhook":{"id":5}}`, urlBad},
		{"wrapper with an unknown key only (upstream v4.15.1)", `{"webhook":{"foo":1}}`, urlBad},
	}
	_, ts := NewTestServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, tt.body)
			wantStatus(t, a, http.StatusUnprocessableEntity)
			if got := a.errorBody(t); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("body %s, want %+v", a.body, tt.want)
			}
		})
	}
	t.Run("nothing was stored", func(t *testing.T) {
		var list chatwoot.WebhookListResponse
		send(t, ts, "GET", "/api/v1/accounts/1/webhooks", AdminToken, "").decode(t, &list)
		if n := len(list.Payload.Webhooks); n != 0 {
			t.Fatalf("%d webhooks stored by failed creates", n)
		}
	})
	t.Run("form bodies are parsed but not wrapped (wrap_parameters format: json)", func(t *testing.T) {
		a := sendCT(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, `url=https%3A%2F%2Fx.example`, "application/x-www-form-urlencoded")
		wantStatus(t, a, http.StatusUnprocessableEntity)
		if a.errorBody(t).Error != chatwoot.MsgParamMissing || !strings.Contains(a.header.Get("X-Mock-Hint"), "webhook[url]") {
			t.Fatalf("body %s hint %q", a.body, a.header.Get("X-Mock-Hint"))
		}
		a = sendCT(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, `{"url":"https://x.example"}`, "text/plain")
		if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.header.Get("X-Mock-Hint"), "Content-Type") {
			t.Fatalf("another media type is ignored: %d %s hint %q", a.status, a.body, a.header.Get("X-Mock-Hint"))
		}
	})
}

func TestUpdateWebhook(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	orig := createWebhook(t, ts, "1", `{"url":"https://one.example/hook","name":"one","subscriptions":["message_created"],"inbox_id":1}`)
	createWebhook(t, ts, "1", `{"url":"https://taken.example/hook"}`)
	path := fmt.Sprintf("/api/v1/accounts/1/webhooks/%d", orig.ID)

	tests := []struct {
		name, method, body string
		status             int
		check              func(t *testing.T, got chatwoot.Webhook, a answer)
	}{
		{"PATCH wrapped url only keeps the rest", "PATCH", `{"webhook":{"url":"https://two.example/hook"}}`, 200, func(t *testing.T, got chatwoot.Webhook, _ answer) {
			if got.URL != "https://two.example/hook" || got.Name != "one" || !reflect.DeepEqual(got.Subscriptions, []string{"message_created"}) || got.InboxID() != 1 {
				t.Errorf("%+v", got)
			}
		}},
		{"PUT top level", "PUT", `{"name":"renamed","subscriptions":["contact_created","message_created"]}`, 200, func(t *testing.T, got chatwoot.Webhook, _ answer) {
			if got.Name != "renamed" || got.URL != "https://two.example/hook" || !reflect.DeepEqual(got.Subscriptions, []string{"contact_created", "message_created"}) {
				t.Errorf("%+v", got)
			}
		}},
		{"subscriptions null leaves them", "PATCH", `{"subscriptions":null,"name":"n2"}`, 200, func(t *testing.T, got chatwoot.Webhook, _ answer) {
			if !reflect.DeepEqual(got.Subscriptions, []string{"contact_created", "message_created"}) {
				t.Errorf("%+v", got)
			}
		}},
		{"name and inbox null clear them", "PATCH", `{"name":null,"inbox_id":null}`, 200, func(t *testing.T, got chatwoot.Webhook, a answer) {
			if got.Name != "" || got.Inbox != nil || !strings.Contains(string(a.body), `"name":null`) || strings.Contains(string(a.body), `"inbox"`) {
				t.Errorf("%s", a.body)
			}
		}},
		{"same url as itself is fine", "PATCH", `{"url":"https://two.example/hook"}`, 200, nil},
		{"url of another webhook of the account", "PATCH", `{"url":"https://taken.example/hook"}`, 422, func(t *testing.T, _ chatwoot.Webhook, a answer) {
			if b := a.errorBody(t); b.Message != chatwoot.MsgURLTaken || !reflect.DeepEqual(b.Attributes, []string{"url"}) {
				t.Errorf("%s", a.body)
			}
		}},
		{"invalid url", "PATCH", `{"url":"nope"}`, 422, func(t *testing.T, _ chatwoot.Webhook, a answer) {
			if a.errorBody(t).Message != chatwoot.MsgURLInvalid {
				t.Errorf("%s", a.body)
			}
		}},
		{"empty subscriptions", "PUT", `{"subscriptions":[]}`, 422, func(t *testing.T, _ chatwoot.Webhook, a answer) {
			if a.errorBody(t).Message != chatwoot.MsgSubscriptionsBad {
				t.Errorf("%s", a.body)
			}
		}},
		{"no Webhook attribute", "PATCH", `{"foo":1}`, 422, func(t *testing.T, _ chatwoot.Webhook, a answer) {
			if a.errorBody(t).Error != chatwoot.MsgParamMissing {
				t.Errorf("%s", a.body)
			}
		}},
		// Upstream v4.15.1: require passes, permit leaves nothing, update({}) is a 200.
		{"wrapper with an unknown key only changes nothing", "PATCH", `{"webhook":{"foo":1}}`, 200, func(t *testing.T, got chatwoot.Webhook, _ answer) {
			if got.URL != "https://two.example/hook" || len(got.Subscriptions) != 2 {
				t.Errorf("%+v", got)
			}
		}},
		{"a wrapped secret is not permitted", "PATCH", `{"secret":"mine"}`, 200, func(t *testing.T, got chatwoot.Webhook, _ answer) {
			if got.Secret == "mine" {
				t.Error("the secret was changed by an update")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, ts, tt.method, path, AdminToken, tt.body)
			wantStatus(t, a, tt.status)
			var resp chatwoot.WebhookResponse
			if tt.status == 200 {
				a.decode(t, &resp)
				if resp.Payload.Webhook.ID != orig.ID || resp.Payload.Webhook.Secret != orig.Secret {
					t.Fatalf("id/secret changed: %+v (was %d %q)", resp.Payload.Webhook, orig.ID, orig.Secret)
				}
			}
			if tt.check != nil {
				tt.check(t, resp.Payload.Webhook, a)
			}
		})
	}
	t.Run("failed updates changed nothing and the secret is stable in the list", func(t *testing.T) {
		var list chatwoot.WebhookListResponse
		send(t, ts, "GET", "/api/v1/accounts/1/webhooks", AdminToken, "").decode(t, &list)
		got := list.Payload.Webhooks[0]
		if got.ID != orig.ID || got.Secret != orig.Secret || got.URL != "https://two.example/hook" || len(got.Subscriptions) != 2 {
			t.Fatalf("%+v", got)
		}
	})
}

func TestDeleteWebhook(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	w := createWebhook(t, ts, "1", `{"url":"https://gone.example/hook"}`)
	path := fmt.Sprintf("/api/v1/accounts/1/webhooks/%d", w.ID)

	a := send(t, ts, "DELETE", path, AdminToken, "")
	wantStatus(t, a, http.StatusOK)
	if len(a.body) != 0 {
		t.Fatalf("DELETE body %q, want empty", a.body)
	}
	if l := send(t, ts, "GET", "/api/v1/accounts/1/webhooks", AdminToken, ""); string(l.body) != `{"payload":{"webhooks":[]}}` {
		t.Fatalf("list after delete %s", l.body)
	}
	again := send(t, ts, "DELETE", path, AdminToken, "")
	wantStatus(t, again, http.StatusNotFound)
	// The url is free again.
	createWebhook(t, ts, "1", `{"url":"https://gone.example/hook"}`)
}

// Concurrent creates of one url: exactly one wins; ids never repeat.
func TestConcurrentCreates(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	const n = 40
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("https://c%d.example/hook", i)
			if i%2 == 0 {
				url = "https://shared.example/hook"
			}
			statuses[i] = send(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, `{"url":"`+url+`"}`).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == http.StatusOK {
			ok++
		}
	}
	if ok != n/2+1 {
		t.Fatalf("%d creates succeeded, want %d (one per distinct url)", ok, n/2+1)
	}
	seen := map[int64]bool{}
	for _, w := range s.Webhooks(1) {
		if seen[w.ID] {
			t.Fatalf("id %d twice", w.ID)
		}
		seen[w.ID] = true
	}
	if len(s.Requests()) != n {
		t.Fatalf("%d requests recorded, want %d", len(s.Requests()), n)
	}
}

func validSecret(s string) bool {
	if len(s) != 24 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune(base58, c) {
			return false
		}
	}
	return true
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Upstream stores name: "" as sent and renders it as "", not null (v4.15.1).
func TestEmptyNameRendersEmpty(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	a := send(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, `{"url":"https://x.example/empty-name","name":""}`)
	wantStatus(t, a, 200)
	if !strings.Contains(string(a.body), `"name":""`) {
		t.Fatalf("create answered %s; want \"name\":\"\"", a.body)
	}
	if l := send(t, ts, "GET", "/api/v1/accounts/1/webhooks", AdminToken, ""); !strings.Contains(string(l.body), `"name":""`) {
		t.Fatalf("list answered %s", l.body)
	}
}

// Upstream's url check is URI::DEFAULT_PARSER.make_regexp(%w[http https]),
// unanchored (v4.15.1): it accepts what merely holds an http(s) URI.
func TestURLValidationIsUpstreamsUnanchoredFormat(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	for i, u := range []string{"http:", "http://", "http:foo", "see http://x", "HTTP://X.COM", "https:"} {
		body, _ := json.Marshal(map[string]string{"url": u, "name": fmt.Sprint(i)})
		if a := send(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, string(body)); a.status != 200 {
			t.Errorf("url %q: %d %s; upstream accepts it", u, a.status, a.body)
		}
	}
	for _, u := range []string{"javascript:alert(1)", "ftp://x.example", "x.example/hook", ""} {
		body, _ := json.Marshal(map[string]string{"url": u})
		a := send(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, string(body))
		if a.status != 422 || a.errorBody(t).Message != chatwoot.MsgURLInvalid {
			t.Errorf("url %q: %d %s; upstream answers 422 Url is invalid", u, a.status, a.body)
		}
	}
}
