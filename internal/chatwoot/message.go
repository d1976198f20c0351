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
	Attachments       []Attachment    `json:"attachments,omitempty"`
}
