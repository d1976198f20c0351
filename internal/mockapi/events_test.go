package mockapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot/chatwoottest"
)

// fired returns the events fired since the last call, resetting them.
func fired(t *testing.T, s *Server) []EventRecord {
	t.Helper()
	evs := s.Events()
	s.ResetEvents()
	return evs
}

func names(evs []EventRecord) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Event
	}
	return out
}

// wantEvents checks the events' names in order and each payload's shape
// against upstream's reference payload of its event.
func wantEvents(t *testing.T, evs []EventRecord, want ...string) {
	t.Helper()
	if got := names(evs); !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	for _, ev := range evs {
		if diff := chatwoottest.ShapeDiff(ev.Event, ev.Payload); diff != "" {
			t.Errorf("%s differs from upstream's shape:\n%s\n%s", ev.Event, diff, ev.Payload)
		}
	}
}

// changedColumns lists the changed_attributes columns of a payload, in order.
func changedColumns(t *testing.T, payload []byte) []string {
	t.Helper()
	var ev struct {
		Changes chatwoot.ChangedAttributes `json:"changed_attributes"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ch := range ev.Changes.List() {
		out = append(out, ch.Name)
	}
	return out
}

func conversationOfEvent(t *testing.T, payload []byte) chatwoot.ConversationEvent {
	t.Helper()
	var ev chatwoot.ConversationEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatalf("not a conversation event: %v\n%s", err, payload)
	}
	return ev
}

// One message fires more than message_created, as upstream's callbacks do
// (chatwoot-events.md §4).
func TestMessageSideEvents(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	post := func(token, conv, body string) {
		t.Helper()
		wantStatus(t, send(t, ts, "POST", messagesPath("1", conv), token, body), http.StatusOK)
	}

	t.Run("incoming stamps the contact's last_activity_at: contact_updated", func(t *testing.T) {
		post(AdminToken, "2", `{"content":"hi","message_type":"incoming"}`)
		evs := fired(t, s)
		wantEvents(t, evs, chatwoot.EventMessageCreated, chatwoot.EventContactUpdated)
		if got := changedColumns(t, evs[1].Payload); !slices.Equal(got, []string{"updated_at", "last_activity_at"}) {
			t.Fatalf("contact_updated changed %v, want [updated_at last_activity_at] (table order)", got)
		}
	})
	t.Run("first public agent reply: first_reply_created_at set, waiting_since cleared", func(t *testing.T) {
		post(AdminToken, "2", `{"content":"note","private":true}`)
		wantEvents(t, fired(t, s), chatwoot.EventMessageCreated) // private notes change nothing
		post(AgentToken, "2", `{"content":"hello"}`)
		evs := fired(t, s)
		wantEvents(t, evs, chatwoot.EventMessageCreated, chatwoot.EventConversationUpdated)
		if got := changedColumns(t, evs[1].Payload); !slices.Equal(got, []string{"updated_at", "first_reply_created_at", "waiting_since"}) {
			t.Fatalf("changed %v", got)
		}
		conv := conversationOfEvent(t, evs[1].Payload)
		if conv.WaitingSince != 0 || conv.FirstReplyCreatedAt == nil {
			t.Fatalf("waiting_since %d, first_reply_created_at %v", conv.WaitingSince, conv.FirstReplyCreatedAt)
		}
		post(AgentToken, "2", `{"content":"more"}`)
		wantEvents(t, fired(t, s), chatwoot.EventMessageCreated) // nothing left to change
	})
	t.Run("incoming after the reply starts waiting_since again", func(t *testing.T) {
		post(AdminToken, "2", `{"content":"still there?","message_type":"incoming"}`)
		evs := fired(t, s)
		wantEvents(t, evs, chatwoot.EventMessageCreated, chatwoot.EventContactUpdated, chatwoot.EventConversationUpdated)
		if got := changedColumns(t, evs[2].Payload); !slices.Equal(got, []string{"updated_at", "waiting_since"}) {
			t.Fatalf("changed %v", got)
		}
	})
	t.Run("incoming on a resolved conversation reopens it", func(t *testing.T) {
		wantStatus(t, send(t, ts, "POST", "/api/v1/accounts/1/conversations/2/toggle_status", AdminToken, `{"status":"resolved"}`), http.StatusOK)
		fired(t, s)
		post(AdminToken, "2", `{"content":"back","message_type":"incoming"}`)
		evs := fired(t, s)
		wantEvents(t, evs, chatwoot.EventMessageCreated, chatwoot.EventContactUpdated,
			chatwoot.EventConversationStatusChanged, chatwoot.EventConversationUpdated)
		if !strings.Contains(string(evs[2].Payload), `"changed_attributes":null`) {
			t.Fatalf("conversation_status_changed must carry changed_attributes null: %s", evs[2].Payload)
		}
		if got := changedColumns(t, evs[3].Payload); !slices.Equal(got, []string{"status", "updated_at"}) {
			t.Fatalf("changed %v", got)
		}
		var msg chatwoot.MessageEvent
		_ = json.Unmarshal(evs[0].Payload, &msg)
		if msg.Conversation.Status != "open" {
			t.Fatalf("message_created shows status %q; payloads show the state after the request", msg.Conversation.Status)
		}
	})
}

// An agent bot's token may post messages and toggle; its replies clear
// waiting_since but are not a first human reply.
func TestAgentBotToken(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	a := send(t, ts, "POST", messagesPath("1", "2"), BotToken, `{"content":"beep"}`)
	wantStatus(t, a, http.StatusOK)
	var m chatwoot.Message
	a.decode(t, &m)
	if m.Sender == nil || m.Sender.AgentBot == nil || m.Sender.AgentBot.Name != "Triage Bot" {
		t.Fatalf("sender %s", a.body)
	}
	evs := fired(t, s)
	wantEvents(t, evs, chatwoot.EventMessageCreated, chatwoot.EventConversationUpdated)
	if got := changedColumns(t, evs[1].Payload); !slices.Equal(got, []string{"updated_at", "waiting_since"}) {
		t.Fatalf("changed %v, want waiting_since only", got)
	}
	if !strings.Contains(string(evs[0].Payload), `"sender":{"id":1,"name":"Triage Bot","type":"agent_bot"}`) {
		t.Fatalf("sender is not AGENT_BOT_W: %s", evs[0].Payload)
	}
	for _, path := range []string{"/api/v1/accounts/1/webhooks", "/api/v1/profile"} {
		a := send(t, ts, "GET", path, BotToken, "")
		wantStatus(t, a, http.StatusUnauthorized)
		if a.errorBody(t).Error != chatwoot.MsgBotsNotAuthorized {
			t.Fatalf("%s: %s", path, a.body)
		}
	}
	a = send(t, ts, "POST", "/api/v1/accounts/1/contacts", BotToken, `{"name":"x"}`)
	if a.status != http.StatusUnauthorized || a.errorBody(t).Error != chatwoot.MsgBotsNotAuthorized {
		t.Fatalf("contacts with a bot token: %d %s", a.status, a.body)
	}
	// Bots reach only upstream's bot routes: not the conversation list, the
	// message list, or message updates.
	for _, rt := range [][2]string{{"GET", "/api/v1/accounts/1/conversations"}, {"GET", messagesPath("1", "2")}, {"PATCH", messagesPath("1", "2") + "/1"}} {
		a := send(t, ts, rt[0], rt[1], BotToken, `{"status":"read"}`)
		if a.status != http.StatusUnauthorized || a.errorBody(t).Error != chatwoot.MsgBotsNotAuthorized {
			t.Fatalf("%s %s with a bot token: %d %s", rt[0], rt[1], a.status, a.body)
		}
	}
	wantStatus(t, send(t, ts, "GET", "/api/v1/accounts/1/conversations/2", BotToken, ""), http.StatusOK)
	a = send(t, ts, "POST", messagesPath("2", "1"), BotToken, `{"content":"beep"}`)
	if a.status != http.StatusUnauthorized || a.errorBody(t).Error != chatwoot.MsgNotInAccount {
		t.Fatalf("another account's conversation: %d %s", a.status, a.body)
	}
}

// A suspended account answers 401 "Account is suspended" to every token,
// members included, before membership is checked.
func TestSuspendedAccount(t *testing.T) {
	seed := DefaultSeed()
	seed.Accounts = append(seed.Accounts, SeedAccount{ID: 3, Name: "Gone Inc", Suspended: true})
	seed.Users[0].Accounts = append(seed.Users[0].Accounts, SeedMembership{AccountID: 3, Role: chatwoot.RoleAdministrator})
	_, ts := NewTestServer(t, Options{Seed: seed})
	for _, token := range []string{AdminToken, AgentToken} {
		a := send(t, ts, "GET", "/api/v1/accounts/3/webhooks", token, "")
		if a.status != http.StatusUnauthorized || a.errorBody(t).Error != chatwoot.MsgAccountSuspended {
			t.Fatalf("%s: %d %s", token, a.status, a.body)
		}
	}
	var p struct {
		Accounts []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"accounts"`
	}
	send(t, ts, "GET", "/api/v1/profile", AdminToken, "").decode(t, &p)
	if len(p.Accounts) != 3 || p.Accounts[2].Status != "suspended" || p.Accounts[0].Status != "active" {
		t.Fatalf("profile accounts %+v", p.Accounts)
	}
}

func TestCreateConversation(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	path := "/api/v1/accounts/1/conversations"

	a := send(t, ts, "POST", path, AdminToken, `{"inbox_id":2,"contact_id":1,"custom_attributes":{"order":"A-1"}}`)
	wantStatus(t, a, http.StatusOK)
	var conv chatwoot.RESTConversation
	a.decode(t, &conv)
	if conv.ID != 3 || conv.InboxID != 2 || conv.Status != "open" || conv.Meta.Sender.ID != 1 || conv.CustomAttributes["order"] != "A-1" ||
		conv.FirstReplyCreatedAt != 0 || conv.WaitingSince != conv.CreatedAt || conv.UUID == "" || conv.Meta.Channel != "Channel::Api" {
		t.Fatalf("answer %s", a.body)
	}
	if strings.Contains(string(a.body), `"assignee"`) {
		t.Fatalf("an unassigned REST conversation has no assignee key: %s", a.body)
	}
	evs := fired(t, s)
	wantEvents(t, evs, chatwoot.EventConversationCreated)
	if strings.Contains(string(evs[0].Payload), "changed_attributes") {
		t.Fatal("conversation_created has no changed_attributes key")
	}

	// The same contact_inbox again, by its source_id, and a first message.
	var ci struct {
		ContactInbox struct {
			SourceID string `json:"source_id"`
		} `json:"contact_inbox"`
	}
	_ = json.Unmarshal(evs[0].Payload, &ci)
	body, _ := json.Marshal(map[string]any{"source_id": ci.ContactInbox.SourceID, "message": map[string]any{"content": "Hello!"}})
	a = send(t, ts, "POST", path, AgentToken, string(body))
	wantStatus(t, a, http.StatusOK)
	a.decode(t, &conv)
	if conv.ID != 4 || conv.LastNonActivityMessage == nil || *conv.LastNonActivityMessage.Content != "Hello!" || conv.FirstReplyCreatedAt == 0 {
		t.Fatalf("answer %s", a.body)
	}
	wantEvents(t, fired(t, s), chatwoot.EventConversationCreated, chatwoot.EventMessageCreated, chatwoot.EventConversationUpdated)

	for _, tt := range []struct{ name, body string }{
		{"unknown inbox", `{"inbox_id":99,"contact_id":1}`},
		{"another account's inbox", `{"inbox_id":3,"contact_id":1}`},
		{"unknown source_id", `{"source_id":"nope"}`},
		{"nothing", `{}`},
	} {
		a := send(t, ts, "POST", path, AdminToken, tt.body)
		if a.status != http.StatusNotFound || a.errorBody(t).Error != chatwoot.MsgNotFound {
			t.Errorf("%s: %d %s", tt.name, a.status, a.body)
		}
	}
	if evs := fired(t, s); len(evs) != 0 {
		t.Fatalf("failed creates fired %v", names(evs))
	}
}

func TestToggleStatus(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	toggle := func(token, body string) chatwoot.ToggleStatusAnswer {
		t.Helper()
		a := send(t, ts, "POST", "/api/v1/accounts/1/conversations/1/toggle_status", token, body)
		wantStatus(t, a, http.StatusOK)
		var out chatwoot.ToggleStatusAnswer
		a.decode(t, &out)
		return out
	}
	if got := toggle(AdminToken, ""); got.Payload.CurrentStatus != "resolved" || got.Payload.Success == nil || !*got.Payload.Success || got.Payload.ConversationID != 1 {
		t.Fatalf("open toggles to resolved: %+v", got)
	}
	evs := fired(t, s)
	wantEvents(t, evs, chatwoot.EventConversationStatusChanged, chatwoot.EventConversationUpdated)
	if got := changedColumns(t, evs[1].Payload); !slices.Equal(got, []string{"status", "updated_at"}) {
		t.Fatalf("changed %v", got)
	}
	if ch, _ := conversationOfEvent(t, evs[1].Payload).ChangedAttributes.Get("status"); ch.Previous != "open" || ch.Current != "resolved" {
		t.Fatalf("status change %+v", ch)
	}

	toggle(AdminToken, `{"status":"resolved"}`)
	if evs := fired(t, s); len(evs) != 0 {
		t.Fatalf("setting the current status fired %v", names(evs))
	}

	until := time.Now().Add(time.Hour).Unix()
	got := toggle(AdminToken, `{"status":"snoozed","snoozed_until":"`+jsonInt(until)+`"}`)
	if got.Payload.CurrentStatus != "snoozed" || got.Payload.SnoozedUntil == nil || got.Payload.SnoozedUntil.Unix() != until {
		t.Fatalf("snooze: %+v", got)
	}
	evs = fired(t, s)
	wantEvents(t, evs, chatwoot.EventConversationStatusChanged, chatwoot.EventConversationUpdated)
	if got := changedColumns(t, evs[1].Payload); !slices.Equal(got, []string{"status", "updated_at", "snoozed_until"}) {
		t.Fatalf("changed %v", got)
	}

	// An agent opening it takes it: a second save, assignee_id → the agent.
	if got := toggle(AgentToken, ""); got.Payload.CurrentStatus != "open" || got.Payload.SnoozedUntil != nil {
		t.Fatalf("unsnooze: %+v", got)
	}
	evs = fired(t, s)
	wantEvents(t, evs, chatwoot.EventConversationStatusChanged, chatwoot.EventConversationUpdated, chatwoot.EventConversationUpdated)
	if got := changedColumns(t, evs[2].Payload); !slices.Equal(got, []string{"assignee_id", "updated_at"}) {
		t.Fatalf("changed %v", got)
	}
	if ce := conversationOfEvent(t, evs[2].Payload); ce.Meta.Assignee == nil || ce.Meta.Assignee.User == nil || ce.Meta.Assignee.User.ID != 2 || *ce.Meta.AssigneeType != "User" {
		t.Fatalf("meta %+v", ce.Meta)
	}

	a := send(t, ts, "POST", "/api/v1/accounts/1/conversations/99/toggle_status", AdminToken, "")
	wantStatus(t, a, http.StatusNotFound)
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestToggleTyping(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	path := "/api/v1/accounts/1/conversations/2/toggle_typing_status"
	for _, tt := range []struct {
		token, body, want string
		private           any
		user              string
	}{
		{AdminToken, `{"typing_status":"on"}`, chatwoot.EventConversationTypingOn, false, `{"id":1,"name":"Ada Admin","email":"admin@acme.example","type":"user"}`},
		{AdminToken, `{"typing_status":"off","is_private":true}`, chatwoot.EventConversationTypingOff, true, ""},
		{BotToken, `{"typing_status":"on"}`, chatwoot.EventConversationTypingOn, false, `{"id":1,"name":"Triage Bot","type":"agent_bot"}`},
		{AdminToken, `{"typing_status":"maybe"}`, "", nil, ""},
	} {
		a := send(t, ts, "POST", path, tt.token, tt.body)
		if a.status != http.StatusOK || len(a.body) != 0 {
			t.Fatalf("%s: %d %q, want 200 with an empty body", tt.body, a.status, a.body)
		}
		evs := fired(t, s)
		if tt.want == "" {
			if len(evs) != 0 {
				t.Fatalf("%s fired %v", tt.body, names(evs))
			}
			continue
		}
		wantEvents(t, evs, tt.want)
		var ev chatwoot.TypingEvent
		_ = json.Unmarshal(evs[0].Payload, &ev)
		if ev.IsPrivate != tt.private || ev.Conversation.ID != 2 {
			t.Fatalf("%s: is_private %v conversation %d", tt.body, ev.IsPrivate, ev.Conversation.ID)
		}
		if tt.user != "" && !strings.Contains(string(evs[0].Payload), `"user":`+tt.user) {
			t.Fatalf("user is not %s: %s", tt.user, evs[0].Payload)
		}
	}
}

func TestContacts(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	path := "/api/v1/accounts/1/contacts"
	a := send(t, ts, "POST", path, AdminToken, `{"name":"Maria","email":"Maria@Example.com","phone_number":"+5511987654321","inbox_id":2,"custom_attributes":{"tier":"gold"}}`)
	wantStatus(t, a, http.StatusOK)
	var created struct {
		Payload struct {
			Contact      chatwoot.RESTContact `json:"contact"`
			ContactInbox struct {
				Inbox    map[string]any `json:"inbox"`
				SourceID string         `json:"source_id"`
			} `json:"contact_inbox"`
		} `json:"payload"`
	}
	a.decode(t, &created)
	c := created.Payload.Contact
	if c.Name != "Maria" || *c.Email != "maria@example.com" || len(c.ContactInboxes) != 1 || c.ContactInboxes[0].Inbox.ID != 2 ||
		created.Payload.ContactInbox.SourceID != c.ContactInboxes[0].SourceID || created.Payload.ContactInbox.Inbox["id"] != float64(2) {
		t.Fatalf("answer %s", a.body)
	}
	wantEvents(t, fired(t, s), chatwoot.EventContactCreated)

	a = send(t, ts, "POST", path, AdminToken, `{"name":"Solo"}`)
	wantStatus(t, a, http.StatusOK)
	if !strings.Contains(string(a.body), `"contact_inbox":{"inbox":null,"source_id":null}`) {
		t.Fatalf("without inbox_id: %s", a.body)
	}
	fired(t, s)

	for _, tt := range []struct {
		body, message string
		attrs         []string
	}{
		{`{"email":"MARIA@example.com"}`, "Email has already been taken", []string{"email"}},
		{`{"email":"not-an-email"}`, "Email Invalid email", []string{"email"}},
		{`{"phone_number":"12345"}`, "Phone number should be in e164 format", []string{"phone_number"}},
		{`{"phone_number":"+5511987654321","identifier":"x","name":"` + strings.Repeat("n", 256) + `"}`, "Phone number has already been taken, Name is too long (maximum is 255 characters)", []string{"phone_number", "name"}},
	} {
		a := send(t, ts, "POST", path, AdminToken, tt.body)
		if a.status != http.StatusUnprocessableEntity || !slices.Equal(a.errorBody(t).Attributes, tt.attrs) || a.errorBody(t).Message != tt.message {
			t.Errorf("%s: %d %s", tt.body, a.status, a.body)
		}
	}
	a = send(t, ts, "POST", path, AdminToken, `{"inbox_id":3}`)
	wantStatus(t, a, http.StatusNotFound)

	// Update merges the hashes; an update that changes nothing fires nothing.
	upd := "/api/v1/accounts/1/contacts/" + jsonInt(c.ID)
	a = send(t, ts, "PATCH", upd, AdminToken, `{"name":"Maria Souza","custom_attributes":{"plan":"pro"}}`)
	wantStatus(t, a, http.StatusOK)
	var updated struct {
		Payload chatwoot.RESTContact `json:"payload"`
	}
	a.decode(t, &updated)
	if updated.Payload.Name != "Maria Souza" || updated.Payload.CustomAttributes["tier"] != "gold" || updated.Payload.CustomAttributes["plan"] != "pro" {
		t.Fatalf("update %s", a.body)
	}
	evs := fired(t, s)
	wantEvents(t, evs, chatwoot.EventContactUpdated)
	if got := changedColumns(t, evs[0].Payload); !slices.Equal(got, []string{"name", "updated_at", "custom_attributes"}) {
		t.Fatalf("changed %v", got)
	}
	wantStatus(t, send(t, ts, "PUT", upd, AdminToken, `{"name":"Maria Souza"}`), http.StatusOK)
	if evs := fired(t, s); len(evs) != 0 {
		t.Fatalf("an update changing nothing fired %v", names(evs))
	}
	a = send(t, ts, "PATCH", upd, AdminToken, `{"email":"jane@example.com"}`)
	if a.status != http.StatusUnprocessableEntity || a.errorBody(t).Message != "Email has already been taken" {
		t.Fatalf("taken email: %d %s", a.status, a.body)
	}
	wantStatus(t, send(t, ts, "PATCH", "/api/v1/accounts/1/contacts/2", AdminToken, `{"name":"x"}`), http.StatusNotFound) // account 2's
}

func TestInboxes(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		s, ts := NewTestServer(t, Options{InboxEvents: enabled})
		a := send(t, ts, "POST", "/api/v1/accounts/1/inboxes", AdminToken, `{"name":"Bridge","channel":{"type":"api","webhook_url":"https://bridge.example/in"}}`)
		wantStatus(t, a, http.StatusOK)
		var in map[string]any
		a.decode(t, &in)
		if in["id"] != float64(4) || in["channel_type"] != "Channel::Api" || in["webhook_url"] != "https://bridge.example/in" {
			t.Fatalf("answer %s", a.body)
		}
		a = send(t, ts, "PATCH", "/api/v1/accounts/1/inboxes/4", AdminToken, `{"name":"Support API","greeting_enabled":true}`)
		wantStatus(t, a, http.StatusOK)
		evs := fired(t, s)
		if !enabled {
			if len(evs) != 0 {
				t.Fatalf("without ENABLE_INBOX_EVENTS fired %v", names(evs))
			}
			continue
		}
		wantEvents(t, evs, chatwoot.EventInboxCreated, chatwoot.EventInboxUpdated)
		if got := changedColumns(t, evs[1].Payload); !slices.Equal(got, []string{"name", "updated_at", "greeting_enabled"}) {
			t.Fatalf("changed %v", got)
		}
		var ev chatwoot.InboxEvent
		_ = json.Unmarshal(evs[0].Payload, &ev)
		var ch chatwoot.APIChannel
		if err := json.Unmarshal(ev.Channel, &ch); err != nil || ch.Secret == "" || *ch.WebhookURL != "https://bridge.example/in" || len(ev.WorkingHours) != 7 {
			t.Fatalf("channel %s, %d working hours", ev.Channel, len(ev.WorkingHours))
		}
		wantStatus(t, send(t, ts, "PATCH", "/api/v1/accounts/1/inboxes/4", AdminToken, `{"channel":{"webhook_url":"https://b.example"}}`), http.StatusOK)
		if evs := fired(t, s); len(evs) != 0 {
			t.Fatalf("a channel-only change fired %v", names(evs))
		}
		a = send(t, ts, "POST", "/api/v1/accounts/1/inboxes", AgentToken, `{"name":"x","channel":{"type":"api"}}`)
		if a.status != http.StatusUnauthorized || a.errorBody(t).Error != chatwoot.MsgNotAuthorizedAction {
			t.Fatalf("agent: %d %s", a.status, a.body)
		}
	}
}

func TestMessageUpdated(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	a := send(t, ts, "POST", messagesPath("1", "2"), AdminToken, `{"content":"hi"}`)
	var m chatwoot.Message
	a.decode(t, &m)
	fired(t, s)
	path := messagesPath("1", "2") + "/" + jsonInt(m.ID)

	a = send(t, ts, "PATCH", path, AdminToken, `{"status":"read"}`)
	wantStatus(t, a, http.StatusOK)
	evs := fired(t, s)
	wantEvents(t, evs, chatwoot.EventMessageUpdated)
	var ev chatwoot.MessageEvent
	_ = json.Unmarshal(evs[0].Payload, &ev)
	if ev.Conversation.Messages[0].Status != "read" || strings.Contains(string(evs[0].Payload), "changed_attributes") {
		t.Fatalf("message_updated shows the status only in conversation.messages[0]: %s", evs[0].Payload)
	}
	wantStatus(t, send(t, ts, "PATCH", path, AdminToken, `{"status":"read"}`), http.StatusOK)
	if evs := fired(t, s); len(evs) != 0 {
		t.Fatalf("an unchanged status fired %v", names(evs))
	}
	a = send(t, ts, "PATCH", path, AdminToken, `{"status":"lost"}`)
	wantStatus(t, a, http.StatusUnprocessableEntity)

	wantStatus(t, send(t, ts, "DELETE", path, AdminToken, ""), http.StatusOK)
	evs = fired(t, s)
	wantEvents(t, evs, chatwoot.EventMessageUpdated)
	_ = json.Unmarshal(evs[0].Payload, &ev)
	if *ev.Content != "This message was deleted" || ev.ContentAttributes["deleted"] != true {
		t.Fatalf("soft delete: %s", evs[0].Payload)
	}

	// Status updates are for API inboxes only.
	a = send(t, ts, "POST", messagesPath("1", "1"), AdminToken, `{"content":"hi"}`)
	a.decode(t, &m)
	a = send(t, ts, "PATCH", messagesPath("1", "1")+"/"+jsonInt(m.ID), AdminToken, `{"status":"read"}`)
	if a.status != http.StatusForbidden || a.errorBody(t).Error != "Message status update is only allowed for API inboxes" {
		t.Fatalf("web widget inbox: %d %s", a.status, a.body)
	}
	wantStatus(t, send(t, ts, "DELETE", messagesPath("1", "2")+"/999", AdminToken, ""), http.StatusNotFound)
}

func TestWebwidgetTriggered(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/_mock/webwidget_triggered",
		strings.NewReader(`{"inbox_id":1,"contact_id":1,"event_info":{"initiated_at":{"timestamp":"Wed Jun 17 2026"},"referer":"https://shop.example/"}}`))
	req.Header.Set("Accept-Language", "pt-BR,pt;q=0.9")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	evs := fired(t, s)
	wantEvents(t, evs, chatwoot.EventWebwidgetTriggered)
	var ev chatwoot.WebwidgetEvent
	_ = json.Unmarshal(evs[0].Payload, &ev)
	want := chatwoot.Browser{BrowserName: "Chrome", BrowserVersion: "126.0.0.0", DeviceName: "Unknown", PlatformName: "macOS", PlatformVersion: "10.15.7"}
	if ev.EventInfo.Browser != want || *ev.EventInfo.BrowserLanguage != "pt" || *ev.EventInfo.Referer != "https://shop.example/" ||
		ev.CurrentConversation == nil || ev.CurrentConversation.ID != 1 || ev.Contact.ID != 1 || ev.Inbox.ID != 1 {
		t.Fatalf("payload %s", evs[0].Payload)
	}
	a := send(t, ts, "POST", "/_mock/webwidget_triggered", "", `{"inbox_id":2,"contact_id":1}`)
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.errorBody(t).Error, "WebWidget") {
		t.Fatalf("API inbox: %d %s", a.status, a.body)
	}
}

// Every event reaches the webhooks subscribed to it, as message_created does.
func TestEveryEventDelivered(t *testing.T) {
	stub, sts := newHookStub(t, http.StatusOK)
	s, ts := NewTestServer(t, Options{AllowPrivateNetwork: true, InboxEvents: true})
	createHook(t, ts, "1", sts.URL+"/all", chatwoot.AllowedEvents...)
	steps := []struct{ method, path, body string }{
		{"POST", "/api/v1/accounts/1/conversations", `{"inbox_id":2,"contact_id":1}`},
		{"POST", "/api/v1/accounts/1/conversations/2/messages", `{"content":"hi","message_type":"incoming"}`},
		{"POST", "/api/v1/accounts/1/conversations/2/messages", `{"content":"hello"}`},
		{"PATCH", "/api/v1/accounts/1/conversations/2/messages/2", `{"status":"delivered"}`},
		{"POST", "/api/v1/accounts/1/conversations/2/toggle_status", ``},
		{"POST", "/api/v1/accounts/1/conversations/2/toggle_typing_status", `{"typing_status":"on"}`},
		{"POST", "/api/v1/accounts/1/conversations/2/toggle_typing_status", `{"typing_status":"off"}`},
		{"POST", "/api/v1/accounts/1/contacts", `{"name":"New"}`},
		{"POST", "/api/v1/accounts/1/inboxes", `{"name":"Web","channel":{"type":"web_widget","website_url":"https://shop.example"}}`},
		{"PATCH", "/api/v1/accounts/1/inboxes/4", `{"timezone":"Europe/Lisbon"}`},
	}
	for _, st := range steps {
		a := send(t, ts, st.method, st.path, AdminToken, st.body)
		if a.status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", st.method, st.path, a.status, a.body)
		}
	}
	wantStatus(t, send(t, ts, "POST", "/_mock/webwidget_triggered", "", `{"inbox_id":1,"contact_id":1}`), http.StatusNoContent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := len(s.Events())
	recs, err := s.WaitForDeliveries(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.State != DeliveryDelivered {
			t.Errorf("%s: %+v", r.Event, r)
		}
		seen[r.Event] = true
	}
	for _, ev := range chatwoot.AllowedEvents {
		if !seen[ev] {
			t.Errorf("%s was never delivered", ev)
		}
	}
	if len(stub.got()) != n {
		t.Fatalf("%d events, %d deliveries arrived", n, len(stub.got()))
	}
}

// The read routes answer upstream's index and show views and fire nothing.
func TestReadRoutes(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	wantStatus(t, send(t, ts, "POST", messagesPath("1", "2"), AdminToken, `{"content":"hi","message_type":"incoming"}`), http.StatusOK)
	s.ResetEvents()

	var inboxes struct {
		Payload []map[string]any `json:"payload"`
	}
	send(t, ts, "GET", "/api/v1/accounts/1/inboxes", AdminToken, "").decode(t, &inboxes)
	if len(inboxes.Payload) != 2 || inboxes.Payload[1]["channel_type"] != "Channel::Api" {
		t.Fatalf("inboxes %+v", inboxes)
	}
	var contacts struct {
		Meta    struct{ Count int } `json:"meta"`
		Payload []chatwoot.RESTContact
	}
	send(t, ts, "GET", "/api/v1/accounts/1/contacts", AgentToken, "").decode(t, &contacts)
	if contacts.Meta.Count != 1 || contacts.Payload[0].LastActivityAt == nil || len(contacts.Payload[0].ContactInboxes) != 2 {
		t.Fatalf("contacts %+v", contacts)
	}
	var convs struct {
		Data struct {
			Meta    map[string]int              `json:"meta"`
			Payload []chatwoot.RESTConversation `json:"payload"`
		} `json:"data"`
	}
	send(t, ts, "GET", "/api/v1/accounts/1/conversations", AdminToken, "").decode(t, &convs)
	if len(convs.Data.Payload) != 2 || convs.Data.Payload[0].ID != 2 || convs.Data.Meta["all_count"] != 2 || convs.Data.Meta["unassigned_count"] != 2 {
		t.Fatalf("conversations %+v", convs.Data)
	}
	var msgs struct {
		Payload []chatwoot.Message `json:"payload"`
	}
	send(t, ts, "GET", "/api/v1/accounts/1/conversations/2/messages", AgentToken, "").decode(t, &msgs)
	if len(msgs.Payload) != 1 || *msgs.Payload[0].Content != "hi" {
		t.Fatalf("messages %+v", msgs)
	}
	var conv chatwoot.RESTConversation
	send(t, ts, "GET", "/api/v1/accounts/1/conversations/2", AdminToken, "").decode(t, &conv)
	if conv.ID != 2 || conv.UnreadCount != 1 {
		t.Fatalf("conversation %+v", conv)
	}
	wantStatus(t, send(t, ts, "GET", "/api/v1/accounts/1/contacts/2", AdminToken, ""), http.StatusNotFound)
	wantStatus(t, send(t, ts, "GET", "/api/v1/accounts/1/inboxes/3", AdminToken, ""), http.StatusNotFound)
	if evs := s.Events(); len(evs) != 0 {
		t.Fatalf("reads fired %v", names(evs))
	}
}

// An API inbox's channel webhook_url gets its conversations' events too,
// unfiltered and signed with the channel's secret; contact and inbox
// events go to account webhooks only.
func TestAPIInboxChannelWebhook(t *testing.T) {
	stub, sts := newHookStub(t, http.StatusOK)
	s, ts := NewTestServer(t, Options{AllowPrivateNetwork: true, InboxEvents: true})
	body, _ := json.Marshal(map[string]any{"name": "Bridge", "channel": map[string]any{"type": "api", "webhook_url": sts.URL + "/bridge"}})
	a := send(t, ts, "POST", "/api/v1/accounts/1/inboxes", AdminToken, string(body))
	wantStatus(t, a, http.StatusOK)
	var in map[string]any
	a.decode(t, &in)
	secret, _ := in["secret"].(string)
	a = send(t, ts, "POST", "/api/v1/accounts/1/conversations", AdminToken, `{"inbox_id":4,"contact_id":1}`)
	var conv chatwoot.RESTConversation
	a.decode(t, &conv)
	wantStatus(t, send(t, ts, "POST", messagesPath("1", jsonInt(conv.ID)), AdminToken, `{"content":"hi","message_type":"incoming"}`), http.StatusOK)
	wantStatus(t, send(t, ts, "POST", "/api/v1/accounts/1/conversations/"+jsonInt(conv.ID)+"/toggle_typing_status", AdminToken, `{"typing_status":"on"}`), http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := []string{chatwoot.EventConversationCreated, chatwoot.EventMessageCreated, chatwoot.EventConversationTypingOn}
	recs, err := s.WaitForDeliveries(ctx, len(want))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.InboxID != 4 || r.WebhookID != 0 || r.State != DeliveryDelivered {
			t.Fatalf("delivery %+v", r)
		}
		got = append(got, r.Event)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("channel webhook got %v, want %v (no inbox_created, no contact_updated)", got, want)
	}
	for _, d := range stub.got() {
		if d.path != "/bridge" {
			t.Fatalf("path %s", d.path)
		}
		if err := chatwoot.Verify(secret, d.header, d.body, time.Minute, time.Now()); err != nil {
			t.Fatalf("not signed with the channel's secret: %v", err)
		}
	}
}
