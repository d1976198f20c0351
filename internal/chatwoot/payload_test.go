package chatwoot

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot/chatwoottest"
)

// eventTypes maps each event to the type that carries it.
var eventTypes = map[string]func() any{
	EventConversationCreated:       func() any { return new(ConversationEvent) },
	EventConversationStatusChanged: func() any { return new(ConversationEvent) },
	EventConversationUpdated:       func() any { return new(ConversationEvent) },
	EventContactCreated:            func() any { return new(ContactEvent) },
	EventContactUpdated:            func() any { return new(ContactEvent) },
	EventMessageCreated:            func() any { return new(MessageEvent) },
	EventMessageUpdated:            func() any { return new(MessageEvent) },
	EventWebwidgetTriggered:        func() any { return new(WebwidgetEvent) },
	EventInboxCreated:              func() any { return new(InboxEvent) },
	EventInboxUpdated:              func() any { return new(InboxEvent) },
	EventConversationTypingOn:      func() any { return new(TypingEvent) },
	EventConversationTypingOff:     func() any { return new(TypingEvent) },
}

// TestPayloadGolden decodes each event of chatwoot-events.md (chatwoottest's
// testdata, the reference's examples; the abridged ones completed with the
// reference's full conversation) and encodes it again: the bytes must be the
// reference's, key order, nulls and number forms included. A field missing
// from a type, renamed, reordered or wrongly omitted fails here.
func TestPayloadGolden(t *testing.T) {
	if len(eventTypes) != len(AllowedEvents) {
		t.Fatalf("eventTypes has %d events, upstream has %d", len(eventTypes), len(AllowedEvents))
	}
	for _, name := range AllowedEvents {
		t.Run(name, func(t *testing.T) {
			raw, err := chatwoottest.Golden(name)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := json.Compact(&want, raw); err != nil {
				t.Fatal(err)
			}
			v := eventTypes[name]()
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				t.Fatalf("decoding the reference's %s: %v", name, err)
			}
			got, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("re-encoded %s differs from the reference\n got: %s\nwant: %s", name, got, want.Bytes())
			}
			if d := chatwoottest.ShapeDiff(name, got); d != "" {
				t.Fatalf("shape check of the reference against itself: %s", d)
			}
			if ev, _ := EventName(got); ev != name {
				t.Fatalf("event = %q, want %q", ev, name)
			}
		})
	}
}

func TestSenderForms(t *testing.T) {
	tests := []struct{ name, json, wantType string }{
		{"agent", `{"id":7,"name":"Ana Lima","email":"ana@acme.test","type":"user"}`, SenderUser},
		{"bot", `{"id":4,"name":"Triage Bot","type":"agent_bot"}`, SenderAgentBot},
		{"contact", `{"account":{"id":1,"name":"Acme Support"},"additional_attributes":{},"avatar":"","custom_attributes":{},"email":null,"id":43,"identifier":null,"name":"calm-sun-482","phone_number":null,"thumbnail":"","blocked":false}`, SenderContact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Sender
			if err := json.Unmarshal([]byte(tt.json), &s); err != nil {
				t.Fatal(err)
			}
			if s.Type() != tt.wantType {
				t.Fatalf("Type = %q, want %q", s.Type(), tt.wantType)
			}
			got, _ := json.Marshal(s)
			if string(got) != tt.json {
				t.Fatalf("re-encoded\n got %s\nwant %s", got, tt.json)
			}
		})
	}
	if _, err := json.Marshal(Sender{}); err == nil {
		t.Fatal("an empty Sender encoded; want an error")
	}
}

func TestAttachmentShape(t *testing.T) {
	const ref = `{"id":310,"message_id":902,"file_type":"image","account_id":1,"extension":"png","content_type":"image/png","data_url":"https://chat.acme.test/rails/active_storage/blobs/redirect/eyJf.../receipt.png","thumb_url":"https://chat.acme.test/rails/active_storage/representations/redirect/eyJf.../receipt.png","file_size":48213,"width":800,"height":600}`
	var a Attachment
	if err := json.Unmarshal([]byte(ref), &a); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(a); string(got) != ref {
		t.Fatalf("re-encoded\n got %s\nwant %s", got, ref)
	}
}

func TestChangedAttributesForms(t *testing.T) {
	type wrap struct {
		Event string            `json:"event"`
		C     ChangedAttributes `json:"changed_attributes,omitzero"`
	}
	tests := []struct {
		name string
		v    wrap
		want string
	}{
		{"absent (created events)", wrap{Event: "x"}, `{"event":"x"}`},
		{"null (status_changed)", wrap{Event: "x", C: NullChanges()}, `{"event":"x","changed_attributes":null}`},
		{"list", wrap{Event: "x", C: Changes(AttributeChange{"status", "open", "resolved"})}, `{"event":"x","changed_attributes":[{"status":{"previous_value":"open","current_value":"resolved"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v)
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}

func TestNormalizeContent(t *testing.T) {
	for in, want := range map[string]string{
		"line one\\\nline two\n\n": "line one\nline two",
		"plain":                    "plain",
		"keeps **markdown**\\":     "keeps **markdown**\\",
		"crlf\\\r\nnext\r\n":       "crlf\r\nnext",
	} {
		if got := *NormalizeContent(&in); got != want {
			t.Errorf("NormalizeContent(%q) = %q, want %q", in, got, want)
		}
	}
	if NormalizeContent(nil) != nil {
		t.Error("nil content must stay nil (null)")
	}
}
