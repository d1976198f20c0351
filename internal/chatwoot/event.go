package chatwoot

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Message types that fire webhooks (activity messages do not).
const (
	MessageTypeIncoming = "incoming"
	MessageTypeOutgoing = "outgoing"
	MessageTypeTemplate = "template"
)

// Content types upstream's Message model allows.
const (
	ContentTypeText          = "text"
	ContentTypeInputText     = "input_text"
	ContentTypeInputTextarea = "input_textarea"
	ContentTypeInputEmail    = "input_email"
	ContentTypeInputSelect   = "input_select"
	ContentTypeCards         = "cards"
	ContentTypeForm          = "form"
	ContentTypeArticle       = "article"
	ContentTypeIncomingEmail = "incoming_email"
	ContentTypeInputCSAT     = "input_csat"
	ContentTypeIntegrations  = "integrations"
	ContentTypeSticker       = "sticker"
	ContentTypeVoiceCall     = "voice_call"
)

// ContentTypes lists every content_type upstream accepts.
var ContentTypes = []string{
	ContentTypeText, ContentTypeInputText, ContentTypeInputTextarea, ContentTypeInputEmail,
	ContentTypeInputSelect, ContentTypeCards, ContentTypeForm, ContentTypeArticle,
	ContentTypeIncomingEmail, ContentTypeInputCSAT, ContentTypeIntegrations, ContentTypeSticker,
	ContentTypeVoiceCall,
}

// MessageEvent is the message_created (and message_updated) webhook payload
// in today's upstream shape: Message#webhook_data plus "event".
type MessageEvent struct {
	Event                string             `json:"event"`
	ID                   int64              `json:"id"`
	Content              *string            `json:"content"`
	ContentType          string             `json:"content_type"`
	ContentAttributes    *ContentAttributes `json:"content_attributes"`
	MessageType          string             `json:"message_type"`
	CreatedAt            time.Time          `json:"created_at"`
	Private              bool               `json:"private"`
	SourceID             *string            `json:"source_id"`
	AdditionalAttributes map[string]any     `json:"additional_attributes"`
	Sender               *Sender            `json:"sender"`
	Conversation         Conversation       `json:"conversation"`
	Inbox                Inbox              `json:"inbox"`
	Account              Account            `json:"account"`
	Attachments          []Attachment       `json:"attachments,omitempty"`
}

// Account is the short form of an account embedded in events.
type Account struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Sender types.
const (
	SenderUser     = "user"
	SenderAgentBot = "agent_bot"
	SenderContact  = "contact"
)

// Sender is a user, an agent bot or a contact. Contacts carry no "type"
// field upstream; the other fields are omitted when they do not apply.
type Sender struct {
	ID                   int64          `json:"id"`
	Name                 string         `json:"name"`
	Email                *string        `json:"email,omitempty"`
	Type                 string         `json:"type,omitempty"`
	PhoneNumber          *string        `json:"phone_number,omitempty"`
	Identifier           *string        `json:"identifier,omitempty"`
	Thumbnail            *string        `json:"thumbnail,omitempty"`
	AdditionalAttributes map[string]any `json:"additional_attributes,omitempty"`
	CustomAttributes     map[string]any `json:"custom_attributes,omitempty"`
	Blocked              *bool          `json:"blocked,omitempty"`
	Avatar               *string        `json:"avatar,omitempty"`
	Account              *Account       `json:"account,omitempty"`
}

// Conversation is the conversation of an event; ID is the display id users see.
type Conversation struct {
	ID                   int64          `json:"id"`
	InboxID              int64          `json:"inbox_id"`
	Status               string         `json:"status"`
	Channel              string         `json:"channel,omitempty"`
	AdditionalAttributes map[string]any `json:"additional_attributes"`
	CustomAttributes     map[string]any `json:"custom_attributes,omitempty"`
	Labels               []string       `json:"labels"`
	Meta                 map[string]any `json:"meta,omitempty"`
	CreatedAt            int64          `json:"created_at"`
	UpdatedAt            float64        `json:"updated_at,omitempty"`
	Timestamp            int64          `json:"timestamp"`
	UnreadCount          int            `json:"unread_count"`
	Messages             []any          `json:"messages,omitempty"`
}

// Attachment is a file attached to a message.
type Attachment struct {
	ID        int64  `json:"id"`
	MessageID int64  `json:"message_id"`
	FileType  string `json:"file_type"`
	AccountID int64  `json:"account_id"`
	DataURL   string `json:"data_url"`
	ThumbURL  string `json:"thumb_url,omitempty"`
	FileSize  int64  `json:"file_size,omitempty"`
}

// ContentAttributes holds the items of a rich message and the values a
// contact submitted. Which fields of ContentItem apply depends on the
// content_type: input_select uses Title/Value; form uses Type, Placeholder,
// Name, Label (and the others of FormField); cards uses MediaURL, Title,
// Description, Actions; article uses Title, Description, Link.
type ContentAttributes struct {
	Items           []ContentItem    `json:"items,omitempty"`
	SubmittedValues []SubmittedValue `json:"submitted_values,omitempty"`
	InReplyTo       *int64           `json:"in_reply_to,omitempty"`
}

// ContentItem is one option, form field, card or article.
type ContentItem struct {
	Title       string        `json:"title,omitempty"`
	Value       string        `json:"value,omitempty"`
	Type        string        `json:"type,omitempty"`
	Placeholder string        `json:"placeholder,omitempty"`
	Name        string        `json:"name,omitempty"`
	Label       string        `json:"label,omitempty"`
	Required    *bool         `json:"required,omitempty"`
	Default     string        `json:"default,omitempty"`
	Pattern     string        `json:"pattern,omitempty"`
	Options     []ContentItem `json:"options,omitempty"`
	MediaURL    string        `json:"media_url,omitempty"`
	Description string        `json:"description,omitempty"`
	Actions     []CardAction  `json:"actions,omitempty"`
	Link        string        `json:"link,omitempty"`
}

// CardAction is a button on a card: a link (URI) or a postback (Payload).
type CardAction struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	URI     string `json:"uri,omitempty"`
	Payload string `json:"payload,omitempty"`
}

// SubmittedValue is a contact's answer: Title/Value for input_select,
// Name/Value for form.
type SubmittedValue struct {
	Title string `json:"title,omitempty"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
}

// Item keys upstream's ContentAttributeValidator allows per content_type.
var allowedItemKeys = map[string][]string{
	ContentTypeInputSelect: {"title", "value"},
	ContentTypeCards:       {"title", "description", "media_url", "actions"},
	ContentTypeForm:        {"type", "placeholder", "label", "name", "options", "default", "required", "pattern", "title", "pattern_error"},
	ContentTypeArticle:     {"title", "description", "link"},
}

var allowedActionKeys = []string{"text", "type", "payload", "uri"}

// ValidateContent checks content_type and content_attributes (raw JSON, may
// be empty) the way upstream's Message model does, and returns its messages.
func ValidateContent(contentType string, rawAttrs json.RawMessage) []string {
	if contentType == "" {
		contentType = ContentTypeText
	}
	if !slices.Contains(ContentTypes, contentType) {
		return []string{fmt.Sprintf("'%s' is not a valid content_type", contentType)}
	}
	keys, rich := allowedItemKeys[contentType]
	if !rich {
		return nil
	}
	var attrs struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	if len(rawAttrs) > 0 && json.Unmarshal(rawAttrs, &attrs) != nil {
		return []string{"Content attributes Items should be a hash."}
	}
	if len(attrs.Items) == 0 {
		return []string{"Content attributes At least one item is required."}
	}
	var errs []string
	if bad := unknownKeys(attrs.Items, keys); len(bad) > 0 {
		errs = append(errs, fmt.Sprintf("Content attributes contains invalid keys for items : %s", rubyList(bad)))
	}
	if contentType == ContentTypeCards {
		var actions []map[string]json.RawMessage
		for _, item := range attrs.Items {
			var a []map[string]json.RawMessage
			if json.Unmarshal(item["actions"], &a) != nil || len(a) == 0 {
				return append(errs, "Content attributes contains items missing actions")
			}
			actions = append(actions, a...)
		}
		if bad := unknownKeys(actions, allowedActionKeys); len(bad) > 0 {
			errs = append(errs, fmt.Sprintf("Content attributes contains invalid keys for actions:  %s", rubyList(bad)))
		}
	}
	return errs
}

func unknownKeys(items []map[string]json.RawMessage, allowed []string) []string {
	var bad []string
	for _, item := range items {
		for k := range item {
			if !slices.Contains(allowed, k) && !slices.Contains(bad, k) {
				bad = append(bad, k)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// rubyList formats symbols the way Ruby prints an array of them: [:a, :b].
func rubyList(keys []string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = ":" + k
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
