package chatwoot

// The REST answers of the conversation and contact routes (upstream's
// jbuilder views), which differ from the webhook forms in payload.go: a
// REST conversation has integer first_reply_created_at and waiting_since,
// a REST contact has its contact_inboxes.

// RESTContact is the contact partial of the contacts API.
type RESTContact struct {
	AdditionalAttributes map[string]any     `json:"additional_attributes"`
	AvailabilityStatus   string             `json:"availability_status"`
	Email                *string            `json:"email"`
	ID                   int64              `json:"id"`
	Name                 string             `json:"name"`
	PhoneNumber          *string            `json:"phone_number"`
	Blocked              bool               `json:"blocked"`
	Identifier           *string            `json:"identifier"`
	Thumbnail            string             `json:"thumbnail"`
	CustomAttributes     map[string]any     `json:"custom_attributes"`
	LastActivityAt       *int64             `json:"last_activity_at,omitempty"` // only once set
	CreatedAt            int64              `json:"created_at"`
	ContactInboxes       []RESTContactInbox `json:"contact_inboxes,omitzero"` // nil: not asked for
}

// RESTContactInbox is one of a contact's inboxes in the contacts API.
type RESTContactInbox struct {
	SourceID string    `json:"source_id"`
	Inbox    RESTInbox `json:"inbox"`
}

// RESTInbox is the short inbox of a contact's contact_inboxes.
type RESTInbox struct {
	ID          int64   `json:"id"`
	AvatarURL   string  `json:"avatar_url"`
	ChannelID   int64   `json:"channel_id"`
	Name        string  `json:"name"`
	ChannelType string  `json:"channel_type"`
	Provider    *string `json:"provider"`
}

// RESTConversationMeta is a REST conversation's meta. Assignee and its type
// are left out when unassigned, Team when there is none.
type RESTConversationMeta struct {
	Sender       RESTContact `json:"sender"`
	Channel      string      `json:"channel"`
	Assignee     *UserPush   `json:"assignee,omitempty"`
	AssigneeType string      `json:"assignee_type,omitempty"`
	Team         *Team       `json:"team,omitempty"`
	HMACVerified bool        `json:"hmac_verified"`
}

// RESTConversation is the conversation partial of the conversations API.
type RESTConversation struct {
	Meta                   RESTConversationMeta `json:"meta"`
	ID                     int64                `json:"id"` // display id
	Messages               []MessagePush        `json:"messages"`
	AccountID              int64                `json:"account_id"`
	UUID                   string               `json:"uuid"`
	AdditionalAttributes   map[string]any       `json:"additional_attributes"`
	AgentLastSeenAt        int64                `json:"agent_last_seen_at"`
	AssigneeLastSeenAt     int64                `json:"assignee_last_seen_at"`
	CanReply               bool                 `json:"can_reply"`
	ContactLastSeenAt      int64                `json:"contact_last_seen_at"`
	CustomAttributes       map[string]any       `json:"custom_attributes"`
	InboxID                int64                `json:"inbox_id"`
	Labels                 []string             `json:"labels"`
	Muted                  bool                 `json:"muted"`
	SnoozedUntil           *RailsTime           `json:"snoozed_until"`
	Status                 string               `json:"status"`
	CreatedAt              int64                `json:"created_at"`
	UpdatedAt              float64              `json:"updated_at"`
	Timestamp              int64                `json:"timestamp"`
	FirstReplyCreatedAt    int64                `json:"first_reply_created_at"` // 0 when none
	UnreadCount            int                  `json:"unread_count"`
	LastNonActivityMessage *MessagePush         `json:"last_non_activity_message"`
	LastActivityAt         int64                `json:"last_activity_at"`
	Priority               *string              `json:"priority"`
	WaitingSince           int64                `json:"waiting_since"`
	SLAPolicyID            *int64               `json:"sla_policy_id"`
}

// ToggleStatusAnswer is the answer of toggle_status.
type ToggleStatusAnswer struct {
	Meta    struct{} `json:"meta"`
	Payload struct {
		Success        *bool      `json:"success"`
		ConversationID int64      `json:"conversation_id"`
		CurrentStatus  string     `json:"current_status"`
		SnoozedUntil   *RailsTime `json:"snoozed_until"`
	} `json:"payload"`
}
