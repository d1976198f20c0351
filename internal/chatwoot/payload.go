package chatwoot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The webhook payloads of upstream v4.15.1, one Go type per shape, with
// fields in the order upstream emits them and null where upstream sends null
// (see ../shared/reference/chatwoot-events.md). The mock builds them, emit
// sends them, the daemon and receivers decode them.

// RailsTime is a time as ActiveSupport renders it in JSON: ISO-8601 UTC with
// exactly three fraction digits. A nil *RailsTime is null.
type RailsTime struct{ time.Time }

// RailsTimeFormat is ActiveSupport's JSON time format.
const RailsTimeFormat = "2006-01-02T15:04:05.000Z"

// NewRailsTime returns t as a RailsTime; nil when t is zero.
func NewRailsTime(t time.Time) *RailsTime {
	if t.IsZero() {
		return nil
	}
	return &RailsTime{t.UTC()}
}

// MarshalJSON writes the ActiveSupport form.
func (t RailsTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(RailsTimeFormat) + `"`), nil
}

// UnmarshalJSON reads any RFC 3339 time.
func (t *RailsTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// Unix is t in unix seconds, 0 for zero, as upstream's integer time fields.
func Unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// UnixFloat is t in unix seconds with microseconds, as a conversation's
// updated_at.
func UnixFloat(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// Account is the short form of an account embedded in events.
type Account struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Team is the short form of a team.
type Team struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Contact is a contact in webhook form (Contact#webhook_data): the top level
// of contact events, a message's sender, a typing contact. It has no "type".
type Contact struct {
	Account              Account        `json:"account"`
	AdditionalAttributes map[string]any `json:"additional_attributes"`
	Avatar               string         `json:"avatar"`
	CustomAttributes     map[string]any `json:"custom_attributes"`
	Email                *string        `json:"email"`
	ID                   int64          `json:"id"`
	Identifier           *string        `json:"identifier"`
	Name                 string         `json:"name"`
	PhoneNumber          *string        `json:"phone_number"`
	Thumbnail            string         `json:"thumbnail"`
	Blocked              bool           `json:"blocked"`
}

// ContactPush is a contact in push form (push_event_data): a conversation's
// meta.sender and the sender of nested messages.
type ContactPush struct {
	AdditionalAttributes map[string]any `json:"additional_attributes"`
	CustomAttributes     map[string]any `json:"custom_attributes"`
	Email                *string        `json:"email"`
	ID                   int64          `json:"id"`
	Identifier           *string        `json:"identifier"`
	Name                 string         `json:"name"`
	PhoneNumber          *string        `json:"phone_number"`
	Thumbnail            string         `json:"thumbnail"`
	Blocked              bool           `json:"blocked"`
	Type                 string         `json:"type"` // SenderContact
}

// User is an agent in webhook form.
type User struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Type  string `json:"type"` // SenderUser
}

// UserPush is an agent in push form (an assignee, a nested sender).
type UserPush struct {
	ID                 int64  `json:"id"`
	Name               string `json:"name"`
	AvailableName      string `json:"available_name"`
	AvatarURL          string `json:"avatar_url"`
	Type               string `json:"type"` // SenderUser
	AvailabilityStatus string `json:"availability_status"`
	Thumbnail          string `json:"thumbnail"`
}

// AgentBot is an agent bot in webhook form.
type AgentBot struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"` // SenderAgentBot
}

// AgentBotPush is an agent bot in push form.
type AgentBotPush struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
	Type      string `json:"type"` // SenderAgentBot
}

// Sender types ("type" of users and bots; contacts in push form).
const (
	SenderUser     = "user"
	SenderAgentBot = "agent_bot"
	SenderContact  = "contact"
)

// Sender is who sent a message or is typing, in webhook form: exactly one
// of Contact, User and AgentBot is set.
type Sender = union[Contact, User, AgentBot]

// PushSender is a sender or assignee in push form: exactly one of Contact,
// User and AgentBot is set.
type PushSender = union[ContactPush, UserPush, AgentBotPush]

// union is a person in one of upstream's forms, told apart in JSON by
// "type" (a webhook-form contact has none).
type union[C, U, B any] struct {
	Contact  *C
	User     *U
	AgentBot *B
}

// Type is SenderContact, SenderUser or SenderAgentBot.
func (s union[C, U, B]) Type() string {
	switch {
	case s.User != nil:
		return SenderUser
	case s.AgentBot != nil:
		return SenderAgentBot
	}
	return SenderContact
}

// ID is the person's id.
func (s union[C, U, B]) ID() int64 {
	var v any
	switch {
	case s.User != nil:
		v = s.User
	case s.AgentBot != nil:
		v = s.AgentBot
	case s.Contact != nil:
		v = s.Contact
	}
	if p, ok := v.(interface{ personID() int64 }); ok {
		return p.personID()
	}
	return 0
}

// MarshalJSON writes the one form that is set.
func (s union[C, U, B]) MarshalJSON() ([]byte, error) {
	switch {
	case s.Contact != nil:
		return json.Marshal(s.Contact)
	case s.User != nil:
		return json.Marshal(s.User)
	case s.AgentBot != nil:
		return json.Marshal(s.AgentBot)
	}
	return nil, errors.New("chatwoot: sender with no form set")
}

// UnmarshalJSON picks the form by "type".
func (s *union[C, U, B]) UnmarshalJSON(b []byte) error {
	*s = union[C, U, B]{}
	switch senderType(b) {
	case SenderUser:
		s.User = new(U)
		return json.Unmarshal(b, s.User)
	case SenderAgentBot:
		s.AgentBot = new(B)
		return json.Unmarshal(b, s.AgentBot)
	}
	s.Contact = new(C)
	return json.Unmarshal(b, s.Contact)
}

func (c *Contact) personID() int64      { return c.ID }
func (c *ContactPush) personID() int64  { return c.ID }
func (u *User) personID() int64         { return u.ID }
func (u *UserPush) personID() int64     { return u.ID }
func (b *AgentBot) personID() int64     { return b.ID }
func (b *AgentBotPush) personID() int64 { return b.ID }

func senderType(b []byte) string {
	var t struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(b, &t)
	return t.Type
}

// ContactInbox is a whole contact_inboxes row, as the conversation payload
// carries it.
type ContactInbox struct {
	ID           int64     `json:"id"`
	ContactID    int64     `json:"contact_id"`
	InboxID      int64     `json:"inbox_id"`
	SourceID     string    `json:"source_id"`
	CreatedAt    RailsTime `json:"created_at"`
	UpdatedAt    RailsTime `json:"updated_at"`
	HMACVerified bool      `json:"hmac_verified"`
	PubsubToken  string    `json:"pubsub_token"`
}

// ConversationMeta is a conversation's meta: its contact, assignee and team.
type ConversationMeta struct {
	Sender       ContactPush `json:"sender"`
	Assignee     *PushSender `json:"assignee"`
	AssigneeType *string     `json:"assignee_type"` // "User", "AgentBot" or null
	Team         *Team       `json:"team"`
	HMACVerified bool        `json:"hmac_verified"`
}

// Conversation is a conversation in webhook form (Conversation#webhook_data):
// the top level of conversation events and the conversation of message and
// typing events. ID is the display id users see.
type Conversation struct {
	AdditionalAttributes map[string]any   `json:"additional_attributes"`
	CanReply             bool             `json:"can_reply"`
	Channel              string           `json:"channel"`
	ContactInbox         ContactInbox     `json:"contact_inbox"`
	ID                   int64            `json:"id"`
	InboxID              int64            `json:"inbox_id"`
	Messages             []MessagePush    `json:"messages"` // the last chat message, or none
	Labels               []string         `json:"labels"`
	Meta                 ConversationMeta `json:"meta"`
	Status               string           `json:"status"`
	CustomAttributes     map[string]any   `json:"custom_attributes"`
	SnoozedUntil         *RailsTime       `json:"snoozed_until"`
	UnreadCount          int              `json:"unread_count"` // capped at 10
	FirstReplyCreatedAt  *RailsTime       `json:"first_reply_created_at"`
	Priority             *string          `json:"priority"`
	WaitingSince         int64            `json:"waiting_since"` // unix, 0 when not waiting
	AgentLastSeenAt      int64            `json:"agent_last_seen_at"`
	ContactLastSeenAt    int64            `json:"contact_last_seen_at"`
	LastActivityAt       int64            `json:"last_activity_at"`
	Timestamp            int64            `json:"timestamp"`
	CreatedAt            int64            `json:"created_at"`
	UpdatedAt            float64          `json:"updated_at"`
	Account              Account          `json:"account"`
}

// MessagePushConversation is the conversation summary inside a MessagePush.
type MessagePushConversation struct {
	AssigneeID     *int64 `json:"assignee_id"`
	UnreadCount    int    `json:"unread_count"`
	LastActivityAt int64  `json:"last_activity_at"`
	ContactInbox   struct {
		SourceID string `json:"source_id"`
	} `json:"contact_inbox"`
}

// MessagePush is a message in push form (Message#push_event_data), as a
// conversation's messages[] carries it: integer message_type (see
// MessageTypeCodes), unix created_at, ISO updated_at.
type MessagePush struct {
	ID                      int64                   `json:"id"`
	Content                 *string                 `json:"content"`
	AccountID               int64                   `json:"account_id"`
	InboxID                 int64                   `json:"inbox_id"`
	ConversationID          int64                   `json:"conversation_id"` // display id
	MessageType             int                     `json:"message_type"`
	CreatedAt               int64                   `json:"created_at"`
	UpdatedAt               RailsTime               `json:"updated_at"`
	Private                 bool                    `json:"private"`
	Status                  string                  `json:"status"`
	SourceID                *string                 `json:"source_id"`
	ContentType             string                  `json:"content_type"`
	ContentAttributes       map[string]any          `json:"content_attributes"`
	SenderType              *string                 `json:"sender_type"` // "Contact", "User", "AgentBot" or null
	SenderID                *int64                  `json:"sender_id"`
	ExternalSourceIDs       map[string]any          `json:"external_source_ids"`
	AdditionalAttributes    map[string]any          `json:"additional_attributes"`
	ProcessedMessageContent *string                 `json:"processed_message_content"`
	Sentiment               map[string]any          `json:"sentiment"`
	Conversation            MessagePushConversation `json:"conversation"`
	EchoID                  string                  `json:"echo_id,omitempty"`
	Attachments             []Attachment            `json:"attachments,omitempty"`
	Sender                  *PushSender             `json:"sender,omitempty"`
}

// Attachment is a file attached to a message (an uploaded image, audio,
// video or file).
type Attachment struct {
	ID              int64   `json:"id"`
	MessageID       int64   `json:"message_id"`
	FileType        string  `json:"file_type"`
	AccountID       int64   `json:"account_id"`
	Extension       *string `json:"extension"`
	ContentType     string  `json:"content_type"`
	DataURL         string  `json:"data_url"`
	ThumbURL        string  `json:"thumb_url"`
	FileSize        int64   `json:"file_size"`
	Width           *int    `json:"width"`
	Height          *int    `json:"height"`
	TranscribedText *string `json:"transcribed_text,omitempty"` // audio only
}

// MessageEvent is message_created and message_updated: Message#webhook_data
// plus "event". Sender is null for automatic templates; Attachments is
// absent, not [], when there are none.
type MessageEvent struct {
	Account              Account        `json:"account"`
	AdditionalAttributes map[string]any `json:"additional_attributes"`
	ContentAttributes    map[string]any `json:"content_attributes"`
	ContentType          string         `json:"content_type"`
	Content              *string        `json:"content"`
	Conversation         Conversation   `json:"conversation"`
	CreatedAt            RailsTime      `json:"created_at"`
	ID                   int64          `json:"id"`
	Inbox                Inbox          `json:"inbox"`
	MessageType          string         `json:"message_type"`
	Private              bool           `json:"private"`
	Sender               *Sender        `json:"sender"`
	SourceID             *string        `json:"source_id"`
	Attachments          []Attachment   `json:"attachments,omitempty"`
	Event                string         `json:"event"`
}

// Items decodes content_attributes into the typed rich-message form.
func (e MessageEvent) Items() (ContentAttributes, error) {
	var out ContentAttributes
	b, err := json.Marshal(e.ContentAttributes)
	if err != nil {
		return out, err
	}
	return out, json.Unmarshal(b, &out)
}

// ConversationEvent is conversation_created (no changed_attributes),
// conversation_status_changed (changed_attributes null) and
// conversation_updated (the columns the save changed).
type ConversationEvent struct {
	Conversation
	Event             string            `json:"event"`
	ChangedAttributes ChangedAttributes `json:"changed_attributes,omitzero"`
}

// ContactEvent is contact_created (no changed_attributes) and
// contact_updated.
type ContactEvent struct {
	Contact
	Event             string            `json:"event"`
	ChangedAttributes ChangedAttributes `json:"changed_attributes,omitzero"`
}

// TypingEvent is conversation_typing_on and conversation_typing_off. The
// conversation is nested, not merged. IsPrivate is the request's value as
// sent: a JSON boolean, false when absent, a string from a form body.
type TypingEvent struct {
	Event        string       `json:"event"`
	User         Sender       `json:"user"`
	Conversation Conversation `json:"conversation"`
	IsPrivate    any          `json:"is_private"`
}

// WebwidgetEvent is webwidget_triggered: the contact_inbox, its latest
// conversation, and what the widget sent merged with what the server adds.
type WebwidgetEvent struct {
	ID                  int64         `json:"id"` // contact_inbox id
	Contact             *Contact      `json:"contact"`
	Inbox               Inbox         `json:"inbox"`
	Account             Account       `json:"account"`
	CurrentConversation *Conversation `json:"current_conversation"`
	SourceID            string        `json:"source_id"`
	Event               string        `json:"event"`
	EventInfo           EventInfo     `json:"event_info"`
}

// EventInfo is what the widget sent (initiated_at, referer) merged with what
// the server adds: the locale param, Accept-Language and the browser.
type EventInfo struct {
	InitiatedAt     map[string]any `json:"initiated_at,omitempty"`
	Referer         *string        `json:"referer,omitempty"`
	WidgetLanguage  *string        `json:"widget_language"`
	BrowserLanguage *string        `json:"browser_language"`
	Browser         Browser        `json:"browser"`
}

// Browser is what upstream's browser gem reads from the User-Agent.
type Browser struct {
	BrowserName     string `json:"browser_name"`
	BrowserVersion  string `json:"browser_version"`
	DeviceName      string `json:"device_name"`
	PlatformName    string `json:"platform_name"`
	PlatformVersion string `json:"platform_version"`
}

// WorkingHours is one working_hours row of an inbox (7 per inbox).
type WorkingHours struct {
	ID           int64     `json:"id"`
	InboxID      int64     `json:"inbox_id"`
	AccountID    int64     `json:"account_id"`
	DayOfWeek    int       `json:"day_of_week"` // 0 Sunday … 6 Saturday
	ClosedAllDay bool      `json:"closed_all_day"`
	OpenHour     *int      `json:"open_hour"`
	OpenMinutes  *int      `json:"open_minutes"`
	CloseHour    *int      `json:"close_hour"`
	CloseMinutes *int      `json:"close_minutes"`
	CreatedAt    RailsTime `json:"created_at"`
	UpdatedAt    RailsTime `json:"updated_at"`
	OpenAllDay   bool      `json:"open_all_day"`
}

// APIChannel is a whole channel_api row, secrets included, as inbox events
// carry it.
type APIChannel struct {
	ID                   int64          `json:"id"`
	AccountID            int64          `json:"account_id"`
	WebhookURL           *string        `json:"webhook_url"`
	CreatedAt            RailsTime      `json:"created_at"`
	UpdatedAt            RailsTime      `json:"updated_at"`
	Identifier           string         `json:"identifier"`
	HMACToken            string         `json:"hmac_token"`
	HMACMandatory        bool           `json:"hmac_mandatory"`
	AdditionalAttributes map[string]any `json:"additional_attributes"`
	Secret               string         `json:"secret"`
}

// WebWidgetChannel is a whole channel_web_widgets row.
type WebWidgetChannel struct {
	ID                 int64          `json:"id"`
	WebsiteURL         *string        `json:"website_url"`
	AccountID          int64          `json:"account_id"`
	CreatedAt          RailsTime      `json:"created_at"`
	UpdatedAt          RailsTime      `json:"updated_at"`
	WebsiteToken       string         `json:"website_token"`
	WidgetColor        string         `json:"widget_color"`
	WelcomeTitle       *string        `json:"welcome_title"`
	WelcomeTagline     *string        `json:"welcome_tagline"`
	FeatureFlags       int            `json:"feature_flags"`
	ReplyTime          int            `json:"reply_time"`
	HMACToken          string         `json:"hmac_token"`
	PreChatFormEnabled bool           `json:"pre_chat_form_enabled"`
	PreChatFormOptions map[string]any `json:"pre_chat_form_options"`
	HMACMandatory      bool           `json:"hmac_mandatory"`
	ContinuityViaEmail bool           `json:"continuity_via_email"`
	AllowedDomains     string         `json:"allowed_domains"`
}

// InboxEvent is inbox_created and inbox_updated: the inbox presenter's
// object, which has no inbox id or name at the top level. Channel is the
// whole channel row (an APIChannel, a WebWidgetChannel, or another row).
type InboxEvent struct {
	AllowMessagesAfterResolved bool              `json:"allow_messages_after_resolved"`
	LockToSingleConversation   bool              `json:"lock_to_single_conversation"`
	AutoAssignmentConfig       map[string]any    `json:"auto_assignment_config"`
	EnableAutoAssignment       bool              `json:"enable_auto_assignment"`
	EnableEmailCollect         bool              `json:"enable_email_collect"`
	GreetingEnabled            bool              `json:"greeting_enabled"`
	GreetingMessage            *string           `json:"greeting_message"`
	CSATSurveyEnabled          bool              `json:"csat_survey_enabled"`
	BusinessName               *string           `json:"business_name"`
	SenderNameType             string            `json:"sender_name_type"`
	Timezone                   string            `json:"timezone"`
	OutOfOfficeMessage         *string           `json:"out_of_office_message"`
	WorkingHoursEnabled        bool              `json:"working_hours_enabled"`
	WorkingHours               []WorkingHours    `json:"working_hours"`
	CreatedAt                  RailsTime         `json:"created_at"`
	UpdatedAt                  RailsTime         `json:"updated_at"`
	Channel                    json.RawMessage   `json:"channel"`
	Account                    Account           `json:"account"`
	Event                      string            `json:"event"`
	ChangedAttributes          ChangedAttributes `json:"changed_attributes,omitzero"`
}

// AttributeChange is one changed column: {"<name>": {"previous_value":
// ..., "current_value": ...}}. Values keep their column types: times as
// RailsTime strings, hashes whole.
type AttributeChange struct {
	Name              string
	Previous, Current any
}

// ChangedAttributes is the changed_attributes key. The zero value leaves the
// key out (created events); NullChanges() writes null (upstream's
// conversation_status_changed); Changes(...) writes the list.
type ChangedAttributes struct {
	present bool
	list    []AttributeChange
}

// Changes returns a changed_attributes list.
func Changes(list ...AttributeChange) ChangedAttributes {
	return ChangedAttributes{present: true, list: append([]AttributeChange{}, list...)}
}

// NullChanges returns changed_attributes: null.
func NullChanges() ChangedAttributes { return ChangedAttributes{present: true} }

// IsZero reports an absent key (for omitzero).
func (c ChangedAttributes) IsZero() bool { return !c.present }

// List returns the changes (nil for null or absent).
func (c ChangedAttributes) List() []AttributeChange { return c.list }

// Get returns the change of one column.
func (c ChangedAttributes) Get(name string) (AttributeChange, bool) {
	for _, ch := range c.list {
		if ch.Name == name {
			return ch, true
		}
	}
	return AttributeChange{}, false
}

// MarshalJSON writes null or the list of one-key objects.
func (c ChangedAttributes) MarshalJSON() ([]byte, error) {
	if c.list == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, ch := range c.list {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, _ := json.Marshal(ch.Name)
		v, err := json.Marshal(struct {
			Previous any `json:"previous_value"`
			Current  any `json:"current_value"`
		}{ch.Previous, ch.Current})
		if err != nil {
			return nil, fmt.Errorf("changed attribute %s: %w", ch.Name, err)
		}
		buf.WriteByte('{')
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(v)
		buf.WriteByte('}')
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads null or the list; values decode as JSON values.
func (c *ChangedAttributes) UnmarshalJSON(b []byte) error {
	c.present, c.list = true, nil
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var raw []map[string]struct {
		Previous any `json:"previous_value"`
		Current  any `json:"current_value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("changed_attributes: %w", err)
	}
	c.list = []AttributeChange{}
	for _, one := range raw {
		if len(one) != 1 {
			return errors.New("changed_attributes: each entry must have exactly one column")
		}
		for name, v := range one {
			c.list = append(c.list, AttributeChange{Name: name, Previous: v.Previous, Current: v.Current})
		}
	}
	return nil
}

// NormalizeContent is upstream's webhook content normaliser: a backslash
// right before a newline (a markdown hard break) becomes a plain newline,
// and trailing newlines are removed.
func NormalizeContent(s *string) *string {
	if s == nil {
		return nil
	}
	out := strings.ReplaceAll(*s, "\\\r\n", "\r\n")
	out = strings.ReplaceAll(out, "\\\n", "\n")
	out = strings.TrimRight(out, "\r\n")
	return &out
}

// EventName reads the "event" key of a payload.
func EventName(payload []byte) (string, error) {
	var ev struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return "", err
	}
	return ev.Event, nil
}
