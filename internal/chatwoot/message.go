package chatwoot

import "encoding/json"

// MessageTypeActivity is the message type of system notes ("Conversation
// was resolved by ..."). Activity messages never fire webhooks.
const MessageTypeActivity = "activity"

// MessageTypeCodes maps message_type names to the integers upstream's
// messages API answers with (its enum values); the webhook payload uses the
// names instead.
var MessageTypeCodes = map[string]int{
	MessageTypeIncoming: 0,
	MessageTypeOutgoing: 1,
	MessageTypeActivity: 2,
	MessageTypeTemplate: 3,
}

// MessageInput is the body of POST
// /api/v1/accounts/{account_id}/conversations/{display_id}/messages.
// An empty MessageType means "outgoing", upstream's API default; upstream
// accepts "incoming" only in API-channel inboxes.
type MessageInput struct {
	Content           string             `json:"content"`
	MessageType       string             `json:"message_type,omitempty"`
	Private           bool               `json:"private,omitempty"`
	ContentType       string             `json:"content_type,omitempty"`
	ContentAttributes *ContentAttributes `json:"content_attributes,omitempty"`
	EchoID            string             `json:"echo_id,omitempty"`
}

// Message is a message as upstream's messages API answers a create
// (Message attributes rendered by its jbuilder view). Unlike the webhook
// payload, MessageType is the integer enum value (see MessageTypeCodes) and
// CreatedAt is unix seconds.
type Message struct {
	ID                int64           `json:"id"`
	Content           *string         `json:"content"`
	InboxID           int64           `json:"inbox_id"`
	EchoID            string          `json:"echo_id,omitempty"`
	ConversationID    int64           `json:"conversation_id"` // the display id
	MessageType       int             `json:"message_type"`
	ContentType       string          `json:"content_type"`
	Status            string          `json:"status"`
	ContentAttributes json.RawMessage `json:"content_attributes"`
	CreatedAt         int64           `json:"created_at"`
	Private           bool            `json:"private"`
	SourceID          *string         `json:"source_id"`
	Sender            *PushSender     `json:"sender,omitempty"`
}

// PushSender is a message sender as the API and push events render it
// (push_event_data): a user has Type "user" and the availability fields, a
// contact has Type "contact" and its contact fields.
type PushSender struct {
	ID                   int64          `json:"id"`
	Name                 string         `json:"name"`
	Type                 string         `json:"type"`
	AvailableName        *string        `json:"available_name,omitempty"`
	AvatarURL            *string        `json:"avatar_url,omitempty"`
	AvailabilityStatus   *string        `json:"availability_status,omitempty"`
	Thumbnail            *string        `json:"thumbnail,omitempty"`
	Email                *string        `json:"email,omitempty"`
	PhoneNumber          *string        `json:"phone_number,omitempty"`
	Identifier           *string        `json:"identifier,omitempty"`
	AdditionalAttributes map[string]any `json:"additional_attributes,omitempty"`
	CustomAttributes     map[string]any `json:"custom_attributes,omitempty"`
	Blocked              *bool          `json:"blocked,omitempty"`
}
