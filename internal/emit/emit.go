// Package emit builds a sample message_created event in upstream Chatwoot's
// shape and posts it to the delivery daemon's ingest, the way Chatwoot (or
// the mock API) would: a quick way to watch a delivery end to end.
package emit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/version"
)

// Options describe the message to send.
type Options struct {
	AccountID         int64
	AccountName       string
	ConversationID    int64 // display id
	MessageID         int64 // 0: derived from the clock
	Content           string
	MessageType       string          // incoming (default), outgoing or template
	ContentType       string          // default text
	ContentAttributes json.RawMessage // items for input_select, form, cards, article
	Private           bool
	Now               time.Time
}

// Event builds the message_created payload, validating content_type and
// content_attributes as upstream does.
func Event(o Options) (chatwoot.MessageEvent, error) {
	if o.AccountID <= 0 {
		return chatwoot.MessageEvent{}, fmt.Errorf("account id is %d; pass --account with the account's id (1 in the mock)", o.AccountID)
	}
	if o.MessageType == "" {
		o.MessageType = chatwoot.MessageTypeIncoming
	}
	switch o.MessageType {
	case chatwoot.MessageTypeIncoming, chatwoot.MessageTypeOutgoing, chatwoot.MessageTypeTemplate:
	default:
		return chatwoot.MessageEvent{}, fmt.Errorf("message type %q does not fire webhooks; use incoming, outgoing or template", o.MessageType)
	}
	if o.ContentType == "" {
		o.ContentType = chatwoot.ContentTypeText
	}
	if errs := chatwoot.ValidateContent(o.ContentType, o.ContentAttributes); len(errs) > 0 {
		return chatwoot.MessageEvent{}, fmt.Errorf("content: %s (see the content_attributes shapes in the README)", strings.Join(errs, ", "))
	}
	attrs := map[string]any{}
	if len(o.ContentAttributes) > 0 {
		if err := json.Unmarshal(o.ContentAttributes, &attrs); err != nil {
			return chatwoot.MessageEvent{}, fmt.Errorf("--content-attributes is not a JSON object like {\"items\":[...]}: %w", err)
		}
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.MessageID == 0 {
		o.MessageID = o.Now.UnixMilli() % 1_000_000_000
	}
	if o.ConversationID == 0 {
		o.ConversationID = 1
	}
	if o.AccountName == "" {
		o.AccountName = "Acme Inc"
	}
	account := chatwoot.Account{ID: o.AccountID, Name: o.AccountName}
	content := o.Content
	created := o.Now.UTC().Truncate(time.Millisecond)
	conv := sampleConversation(account, o.ConversationID, created)
	return chatwoot.MessageEvent{
		Account:              account,
		AdditionalAttributes: map[string]any{},
		ContentAttributes:    attrs,
		ContentType:          o.ContentType,
		Content:              chatwoot.NormalizeContent(&content),
		Conversation:         conv,
		CreatedAt:            chatwoot.RailsTime{Time: created},
		ID:                   o.MessageID,
		Inbox:                chatwoot.Inbox{ID: 1, Name: "Website"},
		MessageType:          o.MessageType,
		Private:              o.Private,
		Sender:               sender(o.MessageType, account),
		Event:                chatwoot.EventMessageCreated,
	}, nil
}

func str(s string) *string { return &s }

func sampleContact(account chatwoot.Account) *chatwoot.Contact {
	return &chatwoot.Contact{
		Account: account, AdditionalAttributes: map[string]any{}, CustomAttributes: map[string]any{},
		Email: str("jane@example.com"), ID: 1, Identifier: str("jane-doe"), Name: "Jane Doe",
		PhoneNumber: str("+15555550100"),
	}
}

func sampleAgent() *chatwoot.User {
	return &chatwoot.User{ID: 1, Name: "Ada Admin", Email: "admin@acme.example", Type: chatwoot.SenderUser}
}

// sampleConversation is conversation display id in the web widget inbox,
// opened an hour before now by the sample contact.
func sampleConversation(account chatwoot.Account, id int64, now time.Time) chatwoot.Conversation {
	c := sampleContact(account)
	created := now.Add(-time.Hour).Truncate(time.Second)
	return chatwoot.Conversation{
		AdditionalAttributes: map[string]any{
			"browser": map[string]any{
				"device_name": "Macbook", "browser_name": "Chrome", "platform_name": "Macintosh",
				"browser_version": "80.0.3987.122", "platform_version": "10.15.2",
			},
			"referer":      "http://www.chatwoot.com",
			"initiated_at": map[string]any{"timestamp": "Tue Mar 03 2020 18:37:38 GMT-0700 (Mountain Standard Time)"},
		},
		CanReply: true,
		Channel:  "Channel::WebWidget",
		ContactInbox: chatwoot.ContactInbox{
			ID: 1, ContactID: c.ID, InboxID: 1, SourceID: "9c1d2e0a-5b7f-4c1e-8f00-2b6a7d1e9a11",
			CreatedAt: chatwoot.RailsTime{Time: created}, UpdatedAt: chatwoot.RailsTime{Time: created},
			PubsubToken: "Xq7pL2mN9vR4tY6uW8zA1bC3",
		},
		ID:       id,
		InboxID:  1,
		Messages: []chatwoot.MessagePush{},
		Labels:   []string{},
		Meta: chatwoot.ConversationMeta{Sender: chatwoot.ContactPush{
			AdditionalAttributes: c.AdditionalAttributes, CustomAttributes: c.CustomAttributes, Email: c.Email,
			ID: c.ID, Identifier: c.Identifier, Name: c.Name, PhoneNumber: c.PhoneNumber, Type: chatwoot.SenderContact,
		}},
		Status:           "open",
		CustomAttributes: map[string]any{},
		WaitingSince:     created.Unix(),
		LastActivityAt:   now.Unix(),
		Timestamp:        now.Unix(),
		CreatedAt:        created.Unix(),
		UpdatedAt:        chatwoot.UnixFloat(now),
		Account:          account,
	}
}

// sender is the contact for incoming messages and an agent otherwise.
func sender(messageType string, account chatwoot.Account) *chatwoot.Sender {
	if messageType == chatwoot.MessageTypeIncoming {
		return &chatwoot.Sender{Contact: sampleContact(account)}
	}
	return &chatwoot.Sender{User: sampleAgent()}
}

// Result is the daemon's answer to one post.
type Result struct {
	Deliveries int `json:"deliveries"`
}

// Post sends body to the daemon's ingest for the account and returns its
// fan-out. idempotencyKey may be empty.
func Post(ctx context.Context, client *http.Client, daemonURL string, accountID int64, body []byte, idempotencyKey string) (Result, error) {
	url := fmt.Sprintf("%s/v1/accounts/%d/events", strings.TrimRight(daemonURL, "/"), accountID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{}, fmt.Errorf("--daemon %q: %w", daemonURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", version.UserAgent())
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("posting to the daemon at %s: %w; is `terraform-provider-chatwoot daemon` running there?", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusAccepted {
		return Result{}, fmt.Errorf("the daemon answered %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	var out Result
	if err := json.Unmarshal(raw, &out); err != nil {
		return Result{}, errors.New("the daemon's answer is not {\"deliveries\": N}: " + string(raw))
	}
	return out, nil
}
