package emit

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot/chatwoottest"
)

func TestEvent(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		check   func(t *testing.T, ev chatwoot.MessageEvent)
	}{
		{name: "text from a contact", opts: Options{AccountID: 1, Content: "Hi"}, check: func(t *testing.T, ev chatwoot.MessageEvent) {
			if ev.MessageType != "incoming" || ev.ContentType != "text" || *ev.Content != "Hi" || ev.Sender.Type() != chatwoot.SenderContact || ev.Sender.Contact.Email == nil {
				t.Errorf("incoming text = %+v, sender %+v", ev, ev.Sender)
			}
		}},
		{name: "outgoing from an agent", opts: Options{AccountID: 2, MessageType: "outgoing"}, check: func(t *testing.T, ev chatwoot.MessageEvent) {
			if ev.Sender.Type() != chatwoot.SenderUser || ev.Account.ID != 2 {
				t.Errorf("outgoing sender = %+v, account %+v", ev.Sender, ev.Account)
			}
		}},
		{name: "options", opts: Options{AccountID: 1, ContentType: "input_select", ContentAttributes: json.RawMessage(`{"items":[{"title":"Yes","value":"yes"},{"title":"No","value":"no"}]}`)},
			check: func(t *testing.T, ev chatwoot.MessageEvent) {
				if len(itemsOf(ev)) != 2 || itemsOf(ev)[1].Value != "no" {
					t.Errorf("items = %+v", ev.ContentAttributes)
				}
			}},
		{name: "cards", opts: Options{AccountID: 1, ContentType: "cards", ContentAttributes: json.RawMessage(`{"items":[{"title":"T","actions":[{"type":"link","text":"Go","uri":"https://x"}]}]}`)},
			check: func(t *testing.T, ev chatwoot.MessageEvent) {
				if itemsOf(ev)[0].Actions[0].URI != "https://x" {
					t.Errorf("card = %+v", itemsOf(ev)[0])
				}
			}},
		{name: "form without items", opts: Options{AccountID: 1, ContentType: "form"}, wantErr: "At least one item is required"},
		{name: "unknown content type", opts: Options{AccountID: 1, ContentType: "hologram"}, wantErr: "'hologram' is not a valid content_type"},
		{name: "activity", opts: Options{AccountID: 1, MessageType: "activity"}, wantErr: "does not fire webhooks"},
		{name: "no account", opts: Options{}, wantErr: "--account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Now = now
			ev, err := Event(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Event != "message_created" || !ev.CreatedAt.Equal(now) || ev.Inbox.Name != "Website" {
				t.Errorf("event = %+v", ev)
			}
			tt.check(t, ev)
		})
	}
}

func TestPost(t *testing.T) {
	var gotKey, gotPath string
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey, gotPath = r.Header.Get("Idempotency-Key"), r.URL.Path
		gotBody, _ = io.ReadAll(r.Body)
		if r.URL.Path == "/v1/accounts/9/events" {
			http.Error(w, `{"error":"account 9 is not reconciled"}`, http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"deliveries":2}`))
	}))
	defer srv.Close()
	ctx := context.Background()

	res, err := Post(ctx, srv.Client(), srv.URL+"/", 1, []byte(`{"event":"message_created"}`), "k1")
	if err != nil || res.Deliveries != 2 || gotKey != "k1" || gotPath != "/v1/accounts/1/events" || string(gotBody) != `{"event":"message_created"}` {
		t.Fatalf("post = %+v, %v (key %q path %q body %s)", res, err, gotKey, gotPath, gotBody)
	}
	if _, err := Post(ctx, srv.Client(), srv.URL, 9, []byte(`{}`), ""); err == nil || !strings.Contains(err.Error(), "not reconciled") {
		t.Fatalf("404 err = %v", err)
	}
	srv.Close()
	if _, err := Post(ctx, &http.Client{}, srv.URL, 1, []byte(`{}`), ""); err == nil || !strings.Contains(err.Error(), "is `terraform-provider-chatwoot daemon` running") {
		t.Fatalf("refused err = %v", err)
	}
}

// itemsOf is the typed items of an event's content_attributes.
func itemsOf(ev chatwoot.MessageEvent) []chatwoot.ContentItem {
	a, _ := ev.Items()
	return a.Items
}

// --event builds each of the 12 events in upstream's shape.
func TestPayloadEveryEvent(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	for _, event := range chatwoot.AllowedEvents {
		t.Run(event, func(t *testing.T) {
			p, err := Payload(event, Options{AccountID: 3, AccountName: "Initech", Content: "Hi", Now: now})
			if err != nil {
				t.Fatal(err)
			}
			body, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := chatwoottest.ShapeDiff(event, body); diff != "" {
				t.Fatalf("differs from upstream's %s:\n%s\n%s", event, diff, body)
			}
			if name, _ := chatwoot.EventName(body); name != event {
				t.Fatalf("event key %q", name)
			}
			if !strings.Contains(string(body), `"account":{"id":3,"name":"Initech"}`) {
				t.Fatalf("account not in %s", body)
			}
		})
	}
	if _, err := Payload("message_deleted", Options{AccountID: 1}); err == nil || !strings.Contains(err.Error(), "conversation_typing_off") {
		t.Fatalf("unknown event: %v", err)
	}
}
