package mockapi

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Form names nest as Rack::QueryParser#normalize_params nests them.
func TestParseFormRackNesting(t *testing.T) {
	tests := []struct {
		in   string
		want params
	}{
		{"a=1", params{"a": "1"}},
		{"a", params{"a": nil}},
		{"a=1&a=2", params{"a": "2"}},
		{"a[b]=1&a[c]=2", params{"a": params{"b": "1", "c": "2"}}},
		{"a[]=1&a[]=2", params{"a": []any{"1", "2"}}},
		{"a[][b]=1&a[][c]=2&a[][b]=3", params{"a": []any{params{"b": "1", "c": "2"}, params{"b": "3"}}}},
		{"a[b][c]=x%20y", params{"a": params{"b": params{"c": "x y"}}}},
		{"webhook[subscriptions][]=message_created&webhook[url]=https%3A%2F%2Fx.example", params{"webhook": params{"subscriptions": []any{"message_created"}, "url": "https://x.example"}}},
	}
	for _, tt := range tests {
		got := params{}
		if err := parseForm(got, tt.in); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %#v, want %#v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"a[]=1&a[b]=2", "a[b]=1&a[]=2", "a=%zz"} {
		if err := parseForm(params{}, bad); err == nil {
			t.Errorf("%s parsed; Rack raises (400)", bad)
		}
	}
}

func TestFormBodies(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	form := "application/x-www-form-urlencoded"

	t.Run("webhook[...] form fields create a webhook", func(t *testing.T) {
		a := sendCT(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken,
			"webhook[url]=https%3A%2F%2Fform.example%2Fhook&webhook[subscriptions][]=message_created&webhook[subscriptions][]=contact_created&webhook[inbox_id]=2", form)
		wantStatus(t, a, http.StatusOK)
		var resp chatwoot.WebhookResponse
		a.decode(t, &resp)
		wh := resp.Payload.Webhook
		if wh.URL != "https://form.example/hook" || len(wh.Subscriptions) != 2 || wh.Inbox == nil || wh.Inbox.ID != 2 {
			t.Fatalf("%s", a.body)
		}
	})
	t.Run("a malformed form is 400", func(t *testing.T) {
		a := sendCT(t, ts, "POST", "/api/v1/accounts/1/webhooks", AdminToken, "webhook[]=1&webhook[url]=x", form)
		wantStatus(t, a, http.StatusBadRequest)
	})
	t.Run("query params merge into params", func(t *testing.T) {
		a := send(t, ts, "POST", "/api/v1/accounts/1/conversations/1/toggle_status?status=snoozed&snoozed_until=4102444800", AdminToken, "")
		wantStatus(t, a, http.StatusOK)
		var out chatwoot.ToggleStatusAnswer
		a.decode(t, &out)
		if out.Payload.CurrentStatus != "snoozed" || out.Payload.SnoozedUntil == nil || out.Payload.SnoozedUntil.Unix() != 4102444800 {
			t.Fatalf("%s", a.body)
		}
	})
	t.Run("a form is_private reaches the typing event as the string sent", func(t *testing.T) {
		s.ResetEvents()
		a := sendCT(t, ts, "POST", "/api/v1/accounts/1/conversations/2/toggle_typing_status", AdminToken, "typing_status=on&is_private=true", form)
		wantStatus(t, a, http.StatusOK)
		evs := s.Events()
		if len(evs) != 1 || !strings.Contains(string(evs[0].Payload), `"is_private":"true"`) {
			t.Fatalf("%v", names(evs))
		}
	})
}

// An SDK generated from upstream's swagger posts messages as multipart,
// files under attachments[].
func TestMultipartMessageWithAttachments(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	var img bytes.Buffer
	_ = png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 8, 6)))
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("content", "receipt attached\\\nthanks\n")
	_ = mw.WriteField("message_type", "incoming")
	_ = mw.WriteField("private", "false")
	fw, _ := mw.CreatePart(map[string][]string{
		"Content-Disposition": {`form-data; name="attachments[]"; filename="receipt.png"`},
		"Content-Type":        {"image/png"},
	})
	_, _ = fw.Write(img.Bytes())
	fw, _ = mw.CreateFormFile("attachments[]", "notes.txt")
	_, _ = fw.Write([]byte("hello"))
	_ = mw.Close()

	a := sendCT(t, ts, "POST", messagesPath("1", "2"), AdminToken, body.String(), mw.FormDataContentType())
	wantStatus(t, a, http.StatusOK)
	var m chatwoot.Message
	a.decode(t, &m)
	if m.Content == nil || *m.Content != "receipt attached\\\nthanks\n" || m.MessageType != 0 || len(m.Attachments) != 2 {
		t.Fatalf("answer %s", a.body)
	}
	evs := eventsNamed(s.Events(), chatwoot.EventMessageCreated)
	if len(evs) != 1 {
		t.Fatalf("%d message_created", len(evs))
	}
	var ev chatwoot.MessageEvent
	if err := json.Unmarshal(evs[0].Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if *ev.Content != "receipt attached\nthanks" {
		t.Fatalf("content %q, want upstream's normalised form", *ev.Content)
	}
	if len(ev.Attachments) != 2 {
		t.Fatalf("attachments %s", evs[0].Payload)
	}
	png, txt := ev.Attachments[0], ev.Attachments[1]
	if png.FileType != "image" || png.ContentType != "image/png" || *png.Extension != "png" || png.Width == nil || *png.Width != 8 || *png.Height != 6 ||
		png.MessageID != ev.ID || png.FileSize != int64(img.Len()) || !strings.HasPrefix(png.DataURL, ts.URL+"/rails/active_storage/blobs/redirect/") || png.ThumbURL == "" {
		t.Fatalf("image attachment %+v", png)
	}
	if txt.FileType != "file" || txt.ThumbURL != "" || txt.Width != nil || txt.FileSize != 5 {
		t.Fatalf("file attachment %+v", txt)
	}
	if len(ev.Conversation.Messages) != 1 || len(ev.Conversation.Messages[0].Attachments) != 2 {
		t.Fatal("the nested message carries the attachments too")
	}
	// No attachments: the key is absent, not [].
	wantStatus(t, send(t, ts, "POST", messagesPath("1", "2"), AdminToken, `{"content":"plain"}`), http.StatusOK)
	last := eventsNamed(s.Events(), chatwoot.EventMessageCreated)[1]
	if strings.Contains(string(last.Payload), `"attachments"`) {
		t.Fatalf("attachments key present without attachments")
	}
}
