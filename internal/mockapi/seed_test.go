package mockapi

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

func TestDefaultSeed(t *testing.T) {
	seed := DefaultSeed()
	if err := seed.Validate(); err != nil {
		t.Fatal(err)
	}
	if seed.Accounts[0] != (SeedAccount{ID: 1, Name: "Acme Inc"}) || seed.Accounts[1] != (SeedAccount{ID: 2, Name: "Globex"}) {
		t.Errorf("accounts %+v", seed.Accounts)
	}
	if in := seed.Inboxes[0]; in.ID != 1 || in.AccountID != 1 || in.Name != "Website" || in.ChannelType != "Channel::WebWidget" {
		t.Errorf("inbox 1 %+v", in)
	}
	c := seed.Conversations[0]
	if c.AccountID != 1 || c.DisplayID != 1 || c.InboxID != 1 || c.ContactID != 1 || c.AdditionalAttributes["browser"] == nil {
		t.Errorf("conversation 1 %+v", c)
	}
	// A fresh copy each time: changing one does not change the next.
	seed.Accounts[0].Name = "changed"
	if DefaultSeed().Accounts[0].Name != "Acme Inc" {
		t.Fatal("DefaultSeed shares state between calls")
	}
}

// The example in the package docs is a working seed file.
func TestLoadSeedExample(t *testing.T) {
	seed, err := LoadSeed("testdata/example-seed.json")
	if err != nil {
		t.Fatal(err)
	}
	_, ts := NewTestServer(t, Options{Seed: seed})
	var list chatwoot.WebhookListResponse
	a := send(t, ts, "GET", "/api/v1/accounts/1/webhooks", AdminToken, "")
	wantStatus(t, a, http.StatusOK)
	a.decode(t, &list)
	w := list.Payload.Webhooks
	if len(w) != 1 || w[0].Secret != "optional-fixed-secret" || w[0].Name != "existing" || w[0].InboxID() != 1 {
		t.Fatalf("seed webhooks %+v", w)
	}
	// Created webhooks are numbered after the seed's.
	if got := createWebhook(t, ts, "1", `{"url":"https://new.example/hook"}`); got.ID != 2 {
		t.Fatalf("new webhook id %d, want 2", got.ID)
	}
	// Account 2 does not exist in this seed.
	wantStatus(t, send(t, ts, "GET", "/api/v1/accounts/2/webhooks", AdminToken, ""), http.StatusNotFound)
}

func TestLoadSeedReplacesDefault(t *testing.T) {
	seed, err := LoadSeed("testdata/custom-seed.json")
	if err != nil {
		t.Fatal(err)
	}
	_, ts := NewTestServer(t, Options{Seed: seed})
	wantStatus(t, send(t, ts, "GET", "/api/v1/profile", AdminToken, ""), http.StatusUnauthorized)
	a := send(t, ts, "GET", "/api/v1/profile", "initech-admin", "")
	wantStatus(t, a, http.StatusOK)
	var p chatwoot.Profile
	a.decode(t, &p)
	if p.ID != 70 || len(p.Accounts) != 1 || p.Accounts[0] != (chatwoot.AccountProfile{ID: 7, Name: "Initech", Role: "administrator"}) {
		t.Fatalf("profile %+v", p)
	}
	// The seed webhook took the default subscriptions and a generated secret.
	var list chatwoot.WebhookListResponse
	send(t, ts, "GET", "/api/v1/accounts/7/webhooks", "initech-admin", "").decode(t, &list)
	if w := list.Payload.Webhooks; len(w) != 1 || w[0].ID != 100 || len(w[0].Subscriptions) != 8 || !validSecret(w[0].Secret) {
		t.Fatalf("%+v", w)
	}
	// Seeded agent bots and suspended accounts.
	a = send(t, ts, "POST", messagesPath("7", "42"), "initech-bot", `{"content":"beep"}`)
	wantStatus(t, a, http.StatusOK)
	a = send(t, ts, "GET", "/api/v1/accounts/8/webhooks", "initech-agent", "")
	if a.status != http.StatusUnauthorized || a.errorBody(t).Error != chatwoot.MsgAccountSuspended {
		t.Fatalf("suspended account: %d %s", a.status, a.body)
	}
}

func TestLoadSeedErrors(t *testing.T) {
	const users = `"users":[{"id":1,"name":"A","email":"a@x","access_token":"t","accounts":[{"account_id":1,"role":"administrator"}]}]`
	tests := []struct {
		name, content string
		want          []string // every fragment must appear
	}{
		{"empty file", ``, []string{"empty"}},
		{"not JSON", "{\n  \"accounts\": [\n    {\"id\": 1,, \"name\": \"x\"}\n  ]\n}", []string{"line 3, column", "not valid JSON"}},
		{"truncated", `{"accounts":[{"id":1`, []string{"ends early"}},
		{"trailing data", `{"accounts":[{"id":1,"name":"A"}],` + users + `} {}`, []string{"extra data"}},
		{"unknown field", `{"acounts":[]}`, []string{`unknown field "acounts"`, "spelling"}},
		{"wrong type", `{"accounts":[{"id":"one","name":"A"}]}`, []string{"accounts.id", "an integer", "string"}},
		{"no accounts", `{` + users + `}`, []string{"accounts is empty"}},
		{"duplicate account id", `{"accounts":[{"id":1,"name":"A"},{"id":1,"name":"B"}],` + users + `}`, []string{"accounts[1].id 1 is already used by accounts[0]"}},
		{"account without name", `{"accounts":[{"id":1}],` + users + `}`, []string{"accounts[0].name is empty"}},
		{"bad role", `{"accounts":[{"id":1,"name":"A"}],"users":[{"id":1,"name":"A","access_token":"t","accounts":[{"account_id":1,"role":"owner"}]}]}`,
			[]string{`users[0].accounts[0].role is "owner"`, `use "administrator" or "agent"`}},
		{"membership of a missing account", `{"accounts":[{"id":1,"name":"A"}],"users":[{"id":1,"name":"A","access_token":"t","accounts":[{"account_id":2,"role":"agent"}]}]}`,
			[]string{"users[0].accounts[0].account_id 2 is not in accounts", "use one of 1"}},
		{"duplicate token", `{"accounts":[{"id":1,"name":"A"}],"users":[{"id":1,"name":"A","access_token":"t","accounts":[{"account_id":1,"role":"agent"}]},{"id":2,"name":"B","access_token":"t","accounts":[{"account_id":1,"role":"agent"}]}]}`,
			[]string{"users[1].access_token is the same as users[0]'s"}},
		{"empty token", `{"accounts":[{"id":1,"name":"A"}],"users":[{"id":1,"name":"A","access_token":"","accounts":[{"account_id":1,"role":"agent"}]}]}`,
			[]string{"users[0].access_token is empty"}},
		{"duplicate inbox id", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"inboxes":[{"id":1,"account_id":1,"name":"W","channel_type":"Channel::Api"},{"id":1,"account_id":1,"name":"X","channel_type":"Channel::Api"}]}`,
			[]string{"inboxes[1].id 1 is already used by inboxes[0]"}},
		{"unknown channel type", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"inboxes":[{"id":1,"account_id":1,"name":"W","channel_type":"web"}]}`,
			[]string{`inboxes[0].channel_type is "web"`, "Channel::WebWidget"}},
		{"inbox member not in the account", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"inboxes":[{"id":1,"account_id":1,"name":"W","channel_type":"Channel::Api","members":[9]}]}`,
			[]string{"inboxes[0].members[0] is user 9"}},
		{"conversation with a missing inbox", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"inboxes":[{"id":1,"account_id":1,"name":"W","channel_type":"Channel::Api"}],"contacts":[{"id":1,"account_id":1,"name":"C"}],"conversations":[{"account_id":1,"display_id":1,"inbox_id":5,"contact_id":1}]}`,
			[]string{"conversations[0].inbox_id 5 is not in inboxes", "use one of 1"}},
		{"conversation with a missing contact", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"inboxes":[{"id":1,"account_id":1,"name":"W","channel_type":"Channel::Api"}],"conversations":[{"account_id":1,"display_id":1,"inbox_id":1,"contact_id":3}]}`,
			[]string{"conversations[0].contact_id 3 is not in contacts"}},
		{"conversation in another account's inbox", `{"accounts":[{"id":1,"name":"A"},{"id":2,"name":"B"}],` + users + `,"inboxes":[{"id":1,"account_id":2,"name":"W","channel_type":"Channel::Api"}],"contacts":[{"id":1,"account_id":1,"name":"C"}],"conversations":[{"account_id":1,"display_id":1,"inbox_id":1,"contact_id":1}]}`,
			[]string{"inbox_id 1 belongs to account 2, not 1"}},
		{"duplicate display id", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"inboxes":[{"id":1,"account_id":1,"name":"W","channel_type":"Channel::Api"}],"contacts":[{"id":1,"account_id":1,"name":"C"}],"conversations":[{"account_id":1,"display_id":1,"inbox_id":1,"contact_id":1},{"account_id":1,"display_id":1,"inbox_id":1,"contact_id":1}]}`,
			[]string{"conversations[1].display_id 1 is already used in account 1"}},
		{"bad conversation status", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"inboxes":[{"id":1,"account_id":1,"name":"W","channel_type":"Channel::Api"}],"contacts":[{"id":1,"account_id":1,"name":"C"}],"conversations":[{"account_id":1,"display_id":1,"inbox_id":1,"contact_id":1,"status":"closed"}]}`,
			[]string{`status is "closed"`, "open, resolved, pending, snoozed"}},
		{"seed webhook with a bad url", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"webhooks":[{"id":1,"account_id":1,"url":"example.com"}]}`,
			[]string{`webhooks[0].url "example.com" is not an absolute http(s) URL`}},
		{"seed webhook with a bad event", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"webhooks":[{"id":1,"account_id":1,"url":"https://x","subscriptions":["message_deleted"]}]}`,
			[]string{`webhooks[0].subscriptions[0] is "message_deleted"`}},
		{"bot token a user's", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"agent_bots":[{"id":1,"account_id":1,"name":"B","access_token":"t"}]}`,
			[]string{"agent_bots[0].access_token is the same as users[0]'s"}},
		{"bot of a missing account", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"agent_bots":[{"id":1,"account_id":4,"name":"B","access_token":"b"}]}`,
			[]string{"agent_bots[0].account_id 4 is not in accounts"}},
		{"bot tokens shared", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"agent_bots":[{"id":1,"account_id":1,"name":"B","access_token":"b"},{"id":2,"account_id":1,"name":"C","access_token":"b"}]}`,
			[]string{"agent_bots[1].access_token is the same as agent_bots[0]'s"}},
		{"seed webhooks sharing a url", `{"accounts":[{"id":1,"name":"A"}],` + users + `,"webhooks":[{"id":1,"account_id":1,"url":"https://x"},{"id":2,"account_id":1,"url":"https://x"}]}`,
			[]string{"urls are unique per account"}},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadSeed(path)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, frag := range append([]string{"seed file " + path}, tt.want...) {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not contain %q", err, frag)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := LoadSeed(filepath.Join(dir, "nope.json"))
		if err == nil || !strings.Contains(err.Error(), "nope.json") || !strings.Contains(err.Error(), "omit it for the default seed") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("New refuses an invalid seed", func(t *testing.T) {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(p.(string), "accounts is empty") {
				t.Fatalf("panic %v", p)
			}
		}()
		New(Options{Seed: &Seed{}})
	})
}
