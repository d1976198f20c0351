package mockapi

import (
	"context"
	"encoding/json"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot/chatwoottest"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

const (
	optionsAttrs = `{"items":[{"title":"Option 1","value":"option_1"},{"title":"Option 2","value":"option_2"}]}`
	formAttrs    = `{"items":[{"type":"email","placeholder":"Your email","name":"email","label":"Email"},{"type":"text_area","name":"note","label":"Note","pattern_error":"too short"}]}`
	cardsAttrs   = `{"items":[{"media_url":"https://x.example/i.png","title":"Card","description":"D","actions":[{"type":"link","text":"View More","uri":"https://x.example"},{"type":"postback","text":"Buy","payload":"buy"}]}]}`
	articleAttrs = `{"items":[{"title":"How to","description":"Steps","link":"https://x.example/a"}]}`
)

func messagesPath(account, conv string) string {
	return "/api/v1/accounts/" + account + "/conversations/" + conv + "/messages"
}

// Valid and invalid messages of each content type, with upstream's 422 texts.
func TestCreateMessageValidation(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    string // "" = 200
	}{
		{"text", `{"content":"Hello"}`, ""},
		{"text with content_type", `{"content":"Hello","content_type":"text"}`, ""},
		{"blank content_type means text", `{"content":"Hello","content_type":""}`, ""},
		{"input_select", `{"content":"Pick","content_type":"input_select","content_attributes":` + optionsAttrs + `}`, ""},
		{"input_select by enum value", `{"content":"Pick","content_type":4,"content_attributes":` + optionsAttrs + `}`, ""},
		{"form", `{"content":"Fill","content_type":"form","content_attributes":` + formAttrs + `}`, ""},
		{"cards", `{"content":"Look","content_type":"cards","content_attributes":` + cardsAttrs + `}`, ""},
		{"article", `{"content":"Read","content_type":"article","content_attributes":` + articleAttrs + `}`, ""},
		{"private note", `{"content":"internal","private":true}`, ""},
		{"template", `{"content":"Hi","message_type":"template"}`, ""},

		{"input_select without items", `{"content":"Pick","content_type":"input_select"}`, "Validation failed: Content attributes At least one item is required."},
		{"input_select with empty items", `{"content":"Pick","content_type":"input_select","content_attributes":{"items":[]}}`, "Validation failed: Content attributes At least one item is required."},
		{"input_select bad key", `{"content":"Pick","content_type":"input_select","content_attributes":{"items":[{"title":"a","value":"a","emoji":"x"}]}}`, "Validation failed: Content attributes contains invalid keys for items : [:emoji]"},
		{"form items not objects", `{"content_type":"form","content_attributes":{"items":["email"]}}`, "Validation failed: Content attributes Items should be a hash."},
		{"form bad key", `{"content_type":"form","content_attributes":{"items":[{"name":"n","colour":"red"}]}}`, "Validation failed: Content attributes contains invalid keys for items : [:colour]"},
		{"cards without actions", `{"content_type":"cards","content_attributes":{"items":[{"title":"T"}]}}`, "Validation failed: Content attributes contains items missing actions"},
		{"cards bad action key", `{"content_type":"cards","content_attributes":{"items":[{"title":"T","actions":[{"type":"link","text":"x","href":"y"}]}]}}`, "Validation failed: Content attributes contains invalid keys for actions:  [:href]"},
		{"article without items", `{"content_type":"article","content_attributes":{}}`, "Validation failed: Content attributes At least one item is required."},
		{"article bad key", `{"content_type":"article","content_attributes":{"items":[{"title":"T","url":"u"}]}}`, "Validation failed: Content attributes contains invalid keys for items : [:url]"},
		{"unknown content_type", `{"content":"x","content_type":"video"}`, "'video' is not a valid content_type"},
		{"content_type enum out of range", `{"content":"x","content_type":42}`, "'42' is not a valid content_type"},
		{"unknown message_type", `{"content":"x","message_type":"broadcast"}`, "'broadcast' is not a valid message_type"},
		{"incoming in a web widget inbox", `{"content":"x","message_type":"incoming"}`, "Incoming messages are only allowed in Api inboxes"},
		{"content_attributes a string", `{"content":"x","content_attributes":"items"}`, "String does not have #dig method"},
		{"content_attributes an array", `{"content":"x","content_attributes":[1]}`, "no implicit conversion of Symbol into Integer"},
		{"content too long", `{"content":"` + strings.Repeat("a", maxContent+1) + `"}`, "Validation failed: Content is too long (maximum is 150000 characters)"},
	}
	s, ts := NewTestServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, ts, "POST", messagesPath("1", "1"), AdminToken, tt.body)
			if tt.wantErr == "" {
				wantStatus(t, a, http.StatusOK)
				var m chatwoot.Message
				a.decode(t, &m)
				if m.ID == 0 || m.ConversationID != 1 || m.InboxID != 1 {
					t.Fatalf("message %s", a.body)
				}
				return
			}
			wantStatus(t, a, http.StatusUnprocessableEntity)
			if got := a.errorBody(t); !reflect.DeepEqual(got, chatwoot.ErrorBody{Error: tt.wantErr}) {
				t.Fatalf("body %s, want error %q", a.body, tt.wantErr)
			}
		})
	}
	// Only the valid ones fired, and the first public agent reply also set
	// first_reply_created_at (ConversationReplyHandler): one conversation_updated.
	if got, want := len(eventsNamed(s.Events(), chatwoot.EventMessageCreated)), 10; got != want {
		t.Fatalf("%d message_created fired, want %d", got, want)
	}
	if got := eventsNamed(s.Events(), chatwoot.EventConversationUpdated); len(got) != 1 {
		t.Fatalf("%d conversation_updated fired, want 1 (the first reply)", len(got))
	}
}

// The answer is upstream's create view: integer message_type, unix
// created_at, push_event_data sender.
func TestCreateMessageAnswerShape(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	tests := []struct {
		name, token, conv, body string
		wantType                int
		wantSender              chatwoot.PushSender
		wantAttrs               string
	}{
		{
			"outgoing by an administrator", AdminToken, "1", `{"content":"Hi there","content_type":"input_select","content_attributes":` + optionsAttrs + `,"echo_id":"e-1"}`,
			1, chatwoot.PushSender{User: &chatwoot.UserPush{ID: 1, Name: "Ada Admin", Type: "user", AvailableName: "Ada Admin", AvailabilityStatus: "online"}},
			optionsAttrs,
		},
		{
			"outgoing by an agent (allowed on messages)", AgentToken, "1", `{"content":"Hi"}`,
			1, chatwoot.PushSender{User: &chatwoot.UserPush{ID: 2, Name: "Alan Agent", Type: "user", AvailableName: "Alan Agent", AvailabilityStatus: "online"}},
			`{}`,
		},
		{
			"incoming in the API inbox comes from the contact", AgentToken, "2", `{"content":"Help","message_type":"incoming"}`,
			0, chatwoot.PushSender{Contact: &chatwoot.ContactPush{ID: 1, Name: "Jane Doe", Type: "contact", Email: ptr("jane@example.com"), PhoneNumber: ptr("+15555550100"), Identifier: ptr("jane-doe"),
				AdditionalAttributes: map[string]any{"city": "Denver", "country": "United States", "company_name": "Example Corp"}, CustomAttributes: map[string]any{"plan": "pro"}}},
			`{}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, ts, "POST", messagesPath("1", tt.conv), tt.token, tt.body)
			wantStatus(t, a, http.StatusOK)
			var m chatwoot.Message
			a.decode(t, &m)
			if m.MessageType != tt.wantType || m.Status != "sent" || m.Private || m.SourceID != nil {
				t.Errorf("message %s", a.body)
			}
			if time.Since(time.Unix(m.CreatedAt, 0)) > time.Minute {
				t.Errorf("created_at %d", m.CreatedAt)
			}
			if !reflect.DeepEqual(*m.Sender, tt.wantSender) {
				t.Errorf("sender\n got %+v\nwant %+v", *m.Sender, tt.wantSender)
			}
			assertJSONEqual(t, m.ContentAttributes, tt.wantAttrs)
			var raw map[string]any
			a.decode(t, &raw)
			if _, isNumber := raw["message_type"].(float64); !isNumber {
				t.Errorf("message_type %v is not an integer", raw["message_type"])
			}
		})
	}
}

func TestMessageAgentInboxMembership(t *testing.T) {
	seed, err := LoadSeed("testdata/custom-seed.json")
	if err != nil {
		t.Fatal(err)
	}
	_, ts := NewTestServer(t, Options{Seed: seed})
	// The inbox lists no members: its agent may not see the conversation.
	a := send(t, ts, "POST", messagesPath("7", "42"), "initech-agent", `{"content":"hi"}`)
	wantStatus(t, a, http.StatusUnauthorized)
	if a.errorBody(t).Error != chatwoot.MsgNotAuthorizedAction {
		t.Fatalf("body %s", a.body)
	}
	// The administrator may, and an incoming message reopens the resolved conversation.
	a = send(t, ts, "POST", messagesPath("7", "42"), "initech-admin", `{"content":"hi","message_type":"incoming"}`)
	wantStatus(t, a, http.StatusOK)
}

// hookStub is a webhook receiver: it records every delivery with its headers.
type hookStub struct {
	mu       sync.Mutex
	requests []delivered
	status   int
}

type delivered struct {
	method, path string
	header       http.Header
	body         []byte
}

func newHookStub(t *testing.T, status int) (*hookStub, *httptest.Server) {
	d := &hookStub{status: status}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.requests = append(d.requests, delivered{r.Method, r.URL.Path, r.Header.Clone(), b})
		d.mu.Unlock()
		w.WriteHeader(d.status)
	}))
	t.Cleanup(ts.Close)
	return d, ts
}

func (d *hookStub) got() []delivered {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]delivered{}, d.requests...)
}

// createHook creates a webhook through the API and returns it.
func createHook(t *testing.T, ts *httptest.Server, account, url string, subs ...string) chatwoot.Webhook {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"webhook": map[string]any{"url": url, "subscriptions": subs}})
	a := send(t, ts, "POST", "/api/v1/accounts/"+account+"/webhooks", AdminToken, string(body))
	wantStatus(t, a, 200)
	var out struct {
		Payload struct {
			Webhook chatwoot.Webhook `json:"webhook"`
		} `json:"payload"`
	}
	a.decode(t, &out)
	return out.Payload.Webhook
}

// TestMessageCreatedDelivered: the mock delivers each event to every
// subscribed webhook of the account as upstream's Webhooks::Trigger does:
// one signed POST per webhook, a delivery id per webhook and event.
func TestMessageCreatedDelivered(t *testing.T) {
	stub, sts := newHookStub(t, http.StatusOK)
	other, ots := newHookStub(t, http.StatusOK)
	s, ts := NewTestServer(t, Options{AllowPrivateNetwork: true})
	hook1 := createHook(t, ts, "1", sts.URL+"/acme", "message_created")
	hook2 := createHook(t, ts, "2", sts.URL+"/globex", "message_created", "contact_created")
	createHook(t, ts, "1", ots.URL+"/unsubscribed", "conversation_created")

	posts := []struct{ token, account, conv, body string }{
		{AdminToken, "1", "1", `{"content":"Pick one","content_type":"input_select","content_attributes":` + optionsAttrs + `}`},
		{AgentToken, "1", "1", `{"content":"note to self","private":true}`},
		{AdminToken, "1", "2", `{"content":"I need help","message_type":"incoming"}`},
		{AdminToken, "2", "1", `{"content":"Fill this","content_type":"form","content_attributes":` + formAttrs + `}`},
		{AdminToken, "1", "1", `{"content":"joined","message_type":"activity"}`}, // never fires
	}
	for _, p := range posts {
		wantStatus(t, send(t, ts, "POST", messagesPath(p.account, p.conv), p.token, p.body), 200)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.WaitForDeliveries(ctx, 4); err != nil {
		t.Fatal(err)
	}
	all := s.Events()
	events := eventsNamed(all, chatwoot.EventMessageCreated)
	got := stub.got()
	if len(events) != 4 || len(got) != 4 {
		t.Fatalf("%d message_created, %d delivered; want 4 (activity messages do not fire)", len(events), len(got))
	}
	if n := len(other.got()); n != 0 {
		t.Fatalf("a webhook not subscribed to message_created got %d deliveries", n)
	}
	// The deliverers run in parallel: match deliveries to events by id.
	byDelivery := map[string]delivered{}
	for _, g := range got {
		byDelivery[g.header.Get(chatwoot.HeaderDelivery)] = g
	}
	records := s.Deliveries()
	if len(records) != 4 {
		t.Fatalf("%d delivery records, want 4", len(records))
	}
	for i, rec := range records {
		f, ok := byDelivery[rec.DeliveryID]
		if !ok {
			t.Fatalf("record %d: delivery id %s never arrived", i, rec.DeliveryID)
		}
		hook, wantPath := hook1, "/acme"
		if rec.AccountID == 2 {
			hook, wantPath = hook2, "/globex"
		}
		if f.method != "POST" || f.path != wantPath || f.header.Get("Content-Type") != "application/json" || f.header.Get("Accept") != "application/json" {
			t.Errorf("delivery %d: %s %s %v", i, f.method, f.path, f.header)
		}
		if _, err := uuid.Parse(rec.DeliveryID); err != nil {
			t.Errorf("X-Chatwoot-Delivery %q is not a UUID", rec.DeliveryID)
		}
		if err := chatwoot.Verify(hook.Secret, f.header, f.body, time.Minute, time.Now()); err != nil {
			t.Errorf("delivery %d does not verify with the webhook's secret: %v", i, err)
		}
		ev := all[rec.EventID-1]
		if string(f.body) != string(ev.Payload) || ev.Webhooks != 1 {
			t.Errorf("delivery %d: body differs from event %d's payload, or it went to %d webhooks", i, ev.ID, ev.Webhooks)
		}
		if rec.State != DeliveryDelivered || rec.Status != 200 || rec.WebhookID != hook.ID || rec.URL != hook.URL || rec.Event != "message_created" {
			t.Errorf("record %d: %+v", i, rec)
		}
	}
	bodyOf := map[int64][]byte{}
	for _, rec := range records {
		bodyOf[rec.EventID] = byDelivery[rec.DeliveryID].body
	}
	bodies := make([][]byte, len(events))
	for i, ev := range events {
		bodies[i] = bodyOf[ev.ID]
	}

	decode := func(i int) (chatwoot.MessageEvent, map[string]any) {
		var ev chatwoot.MessageEvent
		if err := json.Unmarshal(bodies[i], &ev); err != nil {
			t.Fatalf("event %d does not decode into chatwoot.MessageEvent: %v\n%s", i, err, bodies[i])
		}
		var raw map[string]any
		_ = json.Unmarshal(bodies[i], &raw)
		return ev, raw
	}

	t.Run("outgoing input_select from the administrator", func(t *testing.T) {
		ev, raw := decode(0)
		if ev.Event != "message_created" || ev.ID != events[0].MessageID || *ev.Content != "Pick one" ||
			ev.MessageType != "outgoing" || ev.ContentType != "input_select" || ev.Private || ev.SourceID != nil {
			t.Errorf("%+v", ev)
		}
		if ev.Sender.User == nil || *ev.Sender.User != (chatwoot.User{ID: 1, Name: "Ada Admin", Email: "admin@acme.example", Type: "user"}) {
			t.Errorf("sender %+v", *ev.Sender)
		}
		if len(itemsOf(ev)) != 2 || itemsOf(ev)[1].Value != "option_2" {
			t.Errorf("content_attributes %+v", ev.ContentAttributes)
		}
		if ev.Inbox != (chatwoot.Inbox{ID: 1, Name: "Website"}) || ev.Account != (chatwoot.Account{ID: 1, Name: "Acme Inc"}) {
			t.Errorf("inbox %+v account %+v", ev.Inbox, ev.Account)
		}
		c := ev.Conversation
		if c.ID != 1 || c.InboxID != 1 || c.Status != "open" || c.Channel != "Channel::WebWidget" || c.Labels == nil {
			t.Errorf("conversation %+v", c)
		}
		browser, _ := c.AdditionalAttributes["browser"].(map[string]any)
		if browser["browser_name"] != "Chrome" || c.AdditionalAttributes["referer"] != "http://www.chatwoot.com" {
			t.Errorf("conversation additional_attributes %v", c.AdditionalAttributes)
		}
		if sender := c.Meta.Sender; sender.Name != "Jane Doe" || sender.Type != "contact" {
			t.Errorf("conversation meta %v", c.Meta)
		}
		if len(c.Messages) != 1 {
			t.Errorf("conversation messages %v", c.Messages)
		} else if last := c.Messages[0]; last.ID != ev.ID || last.MessageType != 1 {
			t.Errorf("last message %v", last)
		}
		if time.Since(ev.CreatedAt.Time) > time.Minute {
			t.Errorf("created_at %v", ev.CreatedAt)
		}
		// Today's shape: no top-level contact, conversation.id not display_id, integer ids.
		for _, gone := range []string{"contact"} {
			if _, ok := raw[gone]; ok {
				t.Errorf("payload has %q", gone)
			}
		}
		if _, ok := raw["conversation"].(map[string]any)["display_id"]; ok {
			t.Error("conversation.display_id is the 2020 shape")
		}
		if _, isNum := raw["id"].(float64); !isNum {
			t.Errorf("id %v is not an integer", raw["id"])
		}
		for _, key := range []string{"additional_attributes", "private", "source_id", "inbox", "account", "created_at"} {
			if _, ok := raw[key]; !ok {
				t.Errorf("payload lacks %q", key)
			}
		}
	})
	t.Run("private note from the agent", func(t *testing.T) {
		ev, _ := decode(1)
		if !ev.Private || ev.MessageType != "outgoing" || ev.Sender.Type() != "user" || ev.Sender.ID() != 2 {
			t.Errorf("%+v sender %+v", ev, ev.Sender)
		}
		// A private note is not the conversation's last public message.
		if last := ev.Conversation.Messages[0]; last.ID != events[0].MessageID {
			t.Errorf("last public message %v", last.ID)
		}
	})
	t.Run("incoming from the contact", func(t *testing.T) {
		ev, raw := decode(2)
		if ev.MessageType != "incoming" || ev.Conversation.ID != 2 || ev.Inbox.Name != "API" || ev.Conversation.UnreadCount != 1 {
			t.Errorf("%+v", ev)
		}
		sender := raw["sender"].(map[string]any)
		if _, hasType := sender["type"]; hasType {
			t.Error("a contact sender has no type upstream")
		}
		if sender["email"] != "jane@example.com" || sender["phone_number"] != "+15555550100" ||
			sender["account"].(map[string]any)["name"] != "Acme Inc" || sender["blocked"] != false {
			t.Errorf("contact sender %v", sender)
		}
	})
	t.Run("form in account 2 keeps every stored key", func(t *testing.T) {
		ev, raw := decode(3)
		if ev.Account.ID != 2 || ev.Inbox.ID != 3 || ev.Conversation.ID != 1 {
			t.Errorf("%+v", ev)
		}
		attrs, _ := json.Marshal(raw["content_attributes"])
		assertJSONEqual(t, attrs, formAttrs) // pattern_error included
	})
	t.Run("/_mock/events", func(t *testing.T) {
		a := send(t, ts, "GET", "/_mock/events", "", "")
		wantStatus(t, a, 200)
		var list []EventRecord
		a.decode(t, &list)
		if len(list) != len(all) || list[0].Webhooks != 1 || list[0].Event != "message_created" || list[len(list)-1].AccountID != 2 {
			t.Fatalf("%s", a.body)
		}
		wantStatus(t, send(t, ts, "DELETE", "/_mock/events", "", ""), 204)
		if a := send(t, ts, "GET", "/_mock/events", "", ""); string(a.body) != "[]" {
			t.Fatalf("after reset %s", a.body)
		}
	})
	t.Run("/_mock/deliveries", func(t *testing.T) {
		a := send(t, ts, "GET", "/_mock/deliveries", "", "")
		wantStatus(t, a, 200)
		var list []DeliveryRecord
		a.decode(t, &list)
		if len(list) != 4 || list[0].State != DeliveryDelivered || list[0].DeliveryID == "" || list[0].WebhookID != hook1.ID || list[0].DurationMS <= 0 {
			t.Fatalf("%s", a.body)
		}
		wantStatus(t, send(t, ts, "DELETE", "/_mock/deliveries", "", ""), 204)
		if a := send(t, ts, "GET", "/_mock/deliveries", "", ""); string(a.body) != "[]" {
			t.Fatalf("after reset %s", a.body)
		}
	})
}

// TestMessageDeliveryFailures: one attempt, never retried, each failure
// recorded; SafeFetch's private-address refusal names the flag.
func TestMessageDeliveryFailures(t *testing.T) {
	deliverOnce := func(t *testing.T, opts Options, url string) (*Server, DeliveryRecord) {
		t.Helper()
		s, ts := NewTestServer(t, opts)
		createHook(t, ts, "1", url, "message_created")
		wantStatus(t, send(t, ts, "POST", messagesPath("1", "1"), AdminToken, `{"content":"x"}`), 200)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		recs, err := s.WaitForDeliveries(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return s, recs[0]
	}
	t.Run("webhook refuses: one attempt", func(t *testing.T) {
		stub, sts := newHookStub(t, http.StatusInternalServerError)
		_, rec := deliverOnce(t, Options{AllowPrivateNetwork: true}, sts.URL)
		time.Sleep(100 * time.Millisecond)
		if rec.State != DeliveryFailed || rec.Status != 500 || len(stub.got()) != 1 {
			t.Fatalf("%+v after %d requests; want one failed attempt", rec, len(stub.got()))
		}
	})
	t.Run("webhook down", func(t *testing.T) {
		dts := httptest.NewServer(http.NotFoundHandler())
		url := dts.URL
		dts.Close()
		_, rec := deliverOnce(t, Options{AllowPrivateNetwork: true}, url)
		if rec.State != DeliveryFailed || rec.Error == "" || rec.Status != 0 {
			t.Fatalf("%+v", rec)
		}
	})
	t.Run("private address refused by default", func(t *testing.T) {
		stub, sts := newHookStub(t, http.StatusOK)
		_, rec := deliverOnce(t, Options{}, sts.URL)
		if rec.State != DeliveryFailed || !strings.Contains(rec.Error, "--allow-private-network") || !strings.Contains(rec.Error, "SAFE_FETCH_ALLOW_PRIVATE_NETWORK") || len(stub.got()) != 0 {
			t.Fatalf("%+v; want refused naming the flag, nothing sent", rec)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		hang := make(chan struct{})
		hts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(hts.Close)
		t.Cleanup(func() { close(hang) })
		_, rec := deliverOnce(t, Options{AllowPrivateNetwork: true, WebhookTimeout: 200 * time.Millisecond}, hts.URL)
		if rec.State != DeliveryFailed || rec.Error == "" || rec.DurationMS < 150 || rec.DurationMS > 3000 {
			t.Fatalf("%+v; want a failure after the 200ms timeout", rec)
		}
	})
	t.Run("redirect followed, re-posting the signed body", func(t *testing.T) {
		stub, sts := newHookStub(t, http.StatusOK)
		rts := httptest.NewServer(http.RedirectHandler(sts.URL+"/moved", http.StatusMovedPermanently))
		t.Cleanup(rts.Close)
		_, rec := deliverOnce(t, Options{AllowPrivateNetwork: true}, rts.URL+"/old")
		got := stub.got()
		if rec.State != DeliveryDelivered || len(got) != 1 || got[0].method != "POST" || got[0].path != "/moved" ||
			len(got[0].body) == 0 || got[0].header.Get(chatwoot.HeaderSignature) == "" || got[0].header.Get(chatwoot.HeaderDelivery) != rec.DeliveryID {
			t.Fatalf("%+v, %d requests at the target", rec, len(got))
		}
	})
	t.Run("no webhook: recorded only", func(t *testing.T) {
		s, ts := NewTestServer(t, Options{})
		wantStatus(t, send(t, ts, "POST", messagesPath("1", "1"), AdminToken, `{"content":"x"}`), 200)
		events := waitEvents(t, s, 1)
		if events[0].Webhooks != 0 || len(s.Deliveries()) != 0 {
			t.Fatalf("%+v", events[0])
		}
	})
	t.Run("Close fails what was not delivered", func(t *testing.T) {
		block := make(chan struct{})
		dts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(dts.Close)
		t.Cleanup(func() { close(block) })
		s, ts := NewTestServer(t, Options{AllowPrivateNetwork: true, DeliveryWorkers: 1})
		createHook(t, ts, "1", dts.URL, "message_created")
		for range 3 {
			wantStatus(t, send(t, ts, "POST", messagesPath("1", "1"), AdminToken, `{"content":"x"}`), 200)
		}
		_ = s.Close()
		for i, d := range s.Deliveries() {
			if d.State != DeliveryFailed {
				t.Errorf("delivery %d after Close: %+v", i, d)
			}
		}
	})
}

func waitEvents(t *testing.T, s *Server, n int) []EventRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, err := s.WaitForEvents(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
	}
}

// TestMessageCreatedShape: the mock's message_created has upstream's shape
// key for key, in order, with nulls where upstream has them (the
// reference's example, chatwoottest's golden file).
func TestMessageCreatedShape(t *testing.T) {
	s, ts := NewTestServer(t, Options{AllowPrivateNetwork: true})
	_, hook := newHookStub(t, http.StatusOK)
	createHook(t, ts, "1", hook.URL, "message_created")
	wantStatus(t, send(t, ts, "POST", messagesPath("1", "2"), AdminToken,
		`{"content":"Hi, my order A-1009 has not arrived\\\n\n","message_type":"incoming","source_id":"ext-77"}`), 200)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, err := s.WaitForEvents(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := chatwoottest.ShapeDiff(chatwoot.EventMessageCreated, events[0].Payload); d != "" {
		t.Fatalf("message_created differs from upstream's shape:\n%s\n%s", d, events[0].Payload)
	}
	var ev chatwoot.MessageEvent
	if err := json.Unmarshal(events[0].Payload, &ev); err != nil {
		t.Fatal(err)
	}
	// Messages::WebhookContentNormalizer: hard break and trailing newlines.
	if want := "Hi, my order A-1009 has not arrived"; *ev.Content != want || *ev.Conversation.Messages[0].Content != want {
		t.Fatalf("content %q, nested %q; want %q", *ev.Content, *ev.Conversation.Messages[0].Content, want)
	}
}
