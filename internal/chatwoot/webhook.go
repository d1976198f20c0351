package chatwoot

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// Webhook events upstream Chatwoot accepts in a webhook's subscriptions.
const (
	EventConversationStatusChanged = "conversation_status_changed"
	EventConversationUpdated       = "conversation_updated"
	EventConversationCreated       = "conversation_created"
	EventContactCreated            = "contact_created"
	EventContactUpdated            = "contact_updated"
	EventMessageCreated            = "message_created"
	EventMessageUpdated            = "message_updated"
	EventWebwidgetTriggered        = "webwidget_triggered"
	EventInboxCreated              = "inbox_created"
	EventInboxUpdated              = "inbox_updated"
	EventConversationTypingOn      = "conversation_typing_on"
	EventConversationTypingOff     = "conversation_typing_off"
)

// AllowedEvents are the 12 events upstream's Webhook model allows, in its order.
var AllowedEvents = []string{
	EventConversationStatusChanged, EventConversationUpdated, EventConversationCreated,
	EventContactCreated, EventContactUpdated, EventMessageCreated, EventMessageUpdated,
	EventWebwidgetTriggered, EventInboxCreated, EventInboxUpdated,
	EventConversationTypingOn, EventConversationTypingOff,
}

// DefaultSubscriptions are what upstream stores when a webhook is created
// without subscriptions.
var DefaultSubscriptions = []string{
	EventConversationStatusChanged, EventConversationUpdated, EventConversationCreated,
	EventContactCreated, EventContactUpdated, EventMessageCreated, EventMessageUpdated,
	EventWebwidgetTriggered,
}

// IsAllowedEvent reports whether upstream accepts event in subscriptions.
func IsAllowedEvent(event string) bool { return slices.Contains(AllowedEvents, event) }

// ValidWebhookURL reports whether raw is an absolute http(s) URL with a host,
// which is what upstream's URI format check on Webhook#url accepts.
func ValidWebhookURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// RedactURL returns scheme://host/path of raw: enough to recognise a
// webhook url in a log or an error without leaking credentials or query
// tokens (receivers put tokens there).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid url>"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// UpstreamURLFormat reports whether upstream's Webhook#url validation,
// `format: URI::DEFAULT_PARSER.make_regexp(%w[http https])`, accepts raw.
// That regexp is unanchored and its hierarchical part may be empty, so it
// accepts any string holding "http:" or "https:" (in any case): "http:",
// "http:foo", "see http://x", "HTTP://X.COM"; it refuses
// "javascript:alert(1)" and "ftp://x". ValidWebhookURL is the stricter
// check the provider applies at plan time.
func UpstreamURLFormat(raw string) bool {
	l := strings.ToLower(raw)
	return strings.Contains(l, "http:") || strings.Contains(l, "https:")
}

// Webhook is one account webhook as the API returns it. Upstream has no
// timestamps and no GET of a single webhook.
type Webhook struct {
	ID            int64    `json:"id"`
	Name          string   `json:"name"`
	URL           string   `json:"url"`
	AccountID     int64    `json:"account_id"`
	Subscriptions []string `json:"subscriptions"`
	Secret        string   `json:"secret"`
	Inbox         *Inbox   `json:"inbox,omitempty"`
	// NameSet renders an empty Name as "" rather than null: upstream stores
	// and renders name: "" as sent.
	NameSet bool `json:"-"`
}

// MarshalJSON writes an unset name as null, as upstream's jbuilder view does.
func (w Webhook) MarshalJSON() ([]byte, error) {
	type plain Webhook
	var name *string
	if w.Name != "" || w.NameSet {
		name = &w.Name
	}
	return json.Marshal(struct {
		plain
		Name *string `json:"name"`
	}{plain(w), name})
}

// Subscribed reports whether the webhook receives event.
func (w Webhook) Subscribed(event string) bool { return slices.Contains(w.Subscriptions, event) }

// InboxID returns the id of the webhook's inbox, or 0 when it has none.
func (w Webhook) InboxID() int64 {
	if w.Inbox == nil {
		return 0
	}
	return w.Inbox.ID
}

// WebhookInput is the body of a create or update. Nil Subscriptions on
// create lets the server pick DefaultSubscriptions; nil Name or InboxID
// clears them.
type WebhookInput struct {
	URL           string   `json:"url"`
	Name          *string  `json:"name"`
	Subscriptions []string `json:"subscriptions,omitempty"`
	InboxID       *int64   `json:"inbox_id"`
}

// Inbox is the short form of an inbox embedded in webhooks and events.
type Inbox struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Profile is the token's user from GET /api/v1/profile.
type Profile struct {
	ID       int64            `json:"id"`
	Name     string           `json:"name"`
	Email    string           `json:"email"`
	Accounts []AccountProfile `json:"accounts"`
}

// AccountProfile is one account membership of a Profile.
type AccountProfile struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Roles an account member can have.
const (
	RoleAdministrator = "administrator"
	RoleAgent         = "agent"
)

// AdministeredAccounts returns the ids of the accounts where the user is an administrator.
func (p Profile) AdministeredAccounts() []int64 {
	var ids []int64
	for _, a := range p.Accounts {
		if a.Role == RoleAdministrator {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// Response envelopes of the webhook routes.
type (
	WebhookListResponse struct {
		Payload struct {
			Webhooks []Webhook `json:"webhooks"`
		} `json:"payload"`
	}
	WebhookResponse struct {
		Payload struct {
			Webhook Webhook `json:"webhook"`
		} `json:"payload"`
	}
)
