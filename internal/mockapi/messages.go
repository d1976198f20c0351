package mockapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// maxContent is upstream's length validation on Message#content.
const maxContent = 150_000

// msgIncomingNotAPI is what upstream's MessageBuilder raises for an incoming
// message in an inbox that is not an API channel.
const msgIncomingNotAPI = "Incoming messages are only allowed in Api inboxes"

type message struct {
	id            int64
	accountID     int64
	inboxID       int64
	conv          *conversation
	content       *string
	messageType   string // enum name
	contentType   string
	attrs         map[string]any // stored content_attributes: items, in_reply_to
	private       bool
	echoID        string
	sourceID      *string
	createdAt     time.Time
	senderUser    *user    // outgoing through the API
	senderContact *contact // everything else
}

func (m *message) chat() bool { return m.messageType != chatwoot.MessageTypeActivity && !m.private }

// fires reports whether upstream's webhook listener sends message_created
// for it (Message#webhook_sendable?).
func (m *message) fires() bool { return m.messageType != chatwoot.MessageTypeActivity }

// handleCreateMessage is upstream's MessagesController#create through
// Messages::MessageBuilder: any member of the account who can see the
// conversation may post; builder errors answer 422 {"error": ...}.
func (s *Server) handleCreateMessage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, false)
	if !ok {
		return
	}
	display, err := strconv.ParseInt(r.PathValue("conversation_id"), 10, 64)
	s.mu.Lock()
	conv := s.conversations[convKey{c.account.id, display}]
	s.mu.Unlock()
	if err != nil || conv == nil {
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return
	}
	in := s.inboxes[conv.seed.InboxID]
	if c.role != chatwoot.RoleAdministrator && in.members != nil && !in.members[c.user.ID] {
		// ConversationPolicy#show?: agents see the conversations of their inboxes.
		writeError(w, http.StatusUnauthorized, chatwoot.MsgNotAuthorizedAction)
		return
	}
	msg, errText := s.buildMessage(c, conv, in)
	if errText != "" {
		writeError(w, http.StatusUnprocessableEntity, errText)
		return
	}

	s.mu.Lock()
	msg.id = s.nextMessageID
	s.nextMessageID++
	conv.messages = append(conv.messages, msg)
	conv.lastActivityAt, conv.updatedAt = msg.createdAt, msg.createdAt
	if msg.messageType == chatwoot.MessageTypeIncoming && (conv.status == "resolved" || conv.status == "snoozed") {
		conv.status = "open" // Message#reopen_conversation
	}
	answer := s.renderMessageLocked(msg)
	var ev *EventRecord
	if msg.fires() {
		ev = s.recordEventLocked(msg)
	}
	s.mu.Unlock()

	s.log.Info("message created", "account_id", msg.accountID, "conversation_id", conv.seed.DisplayID,
		"message_id", msg.id, "message_type", msg.messageType, "content_type", msg.contentType, "private", msg.private)
	writeJSON(w, http.StatusOK, answer)
	// Like upstream's after-commit job: the event leaves after the answer.
	if ev != nil && ev.Webhooks > 0 {
		s.dlv.kick()
	}
}

// buildMessage applies MessageBuilder's params and the Message validations
// in upstream's order; errText is the 422 "error" text.
func (s *Server) buildMessage(c *call, conv *conversation, in *inbox) (*message, string) {
	p := c.params
	msg := &message{
		accountID: c.account.id, inboxID: in.ID, conv: conv,
		createdAt: time.Now().UTC().Truncate(time.Millisecond),
		attrs:     map[string]any{},
	}

	// MessageBuilder#initialize digs content_attributes.items and
	// .in_reply_to; a non-object content_attributes makes Ruby's dig raise.
	if ca, present := p["content_attributes"]; present && ca != nil {
		obj, isObj := ca.(map[string]any)
		if !isObj {
			return nil, digError(ca)
		}
		if items := obj["items"]; items != nil {
			msg.attrs["items"] = items
		}
		if reply := obj["in_reply_to"]; reply != nil {
			msg.attrs["in_reply_to"] = reply
		}
	}

	// message_type: params[:message_type] || 'outgoing'. Only the string
	// "incoming" is checked against the channel and only the string
	// "outgoing" makes the user the sender, exactly as upstream compares.
	senderIsUser := false
	switch raw := p["message_type"].(type) {
	case nil:
		msg.messageType, senderIsUser = chatwoot.MessageTypeOutgoing, true
	case bool:
		if raw {
			return nil, "'true' is not a valid message_type"
		}
		msg.messageType, senderIsUser = chatwoot.MessageTypeOutgoing, true
	case string:
		if raw == chatwoot.MessageTypeIncoming && in.ChannelType != channelAPI {
			return nil, msgIncomingNotAPI
		}
		if _, ok := chatwoot.MessageTypeCodes[raw]; !ok {
			return nil, fmt.Sprintf("'%s' is not a valid message_type", raw)
		}
		msg.messageType, senderIsUser = raw, raw == chatwoot.MessageTypeOutgoing
	case json.Number:
		name, ok := enumName(raw, []string{chatwoot.MessageTypeIncoming, chatwoot.MessageTypeOutgoing, chatwoot.MessageTypeActivity, chatwoot.MessageTypeTemplate})
		if !ok {
			return nil, fmt.Sprintf("'%s' is not a valid message_type", raw)
		}
		msg.messageType = name
	default:
		return nil, fmt.Sprintf("'%s' is not a valid message_type", rubyInspect(raw))
	}
	if senderIsUser {
		msg.senderUser = c.user
	} else {
		msg.senderContact = s.contacts[conv.seed.ContactID]
	}

	// content_type: blank means text (ensure_content_type); the enum also
	// takes its integer values.
	switch raw := p["content_type"].(type) {
	case nil:
		msg.contentType = chatwoot.ContentTypeText
	case string:
		if raw == "" {
			msg.contentType = chatwoot.ContentTypeText
		} else if slices.Contains(chatwoot.ContentTypes, raw) {
			msg.contentType = raw
		} else {
			return nil, fmt.Sprintf("'%s' is not a valid content_type", raw)
		}
	case json.Number:
		name, ok := enumName(raw, chatwoot.ContentTypes)
		if !ok {
			return nil, fmt.Sprintf("'%s' is not a valid content_type", raw)
		}
		msg.contentType = name
	default:
		return nil, fmt.Sprintf("'%s' is not a valid content_type", rubyInspect(raw))
	}

	switch raw := p["content"].(type) {
	case nil:
	case map[string]any, []any:
		b, _ := json.Marshal(raw)
		msg.content = ptr(string(b))
	default:
		msg.content, _ = scalarString(raw)
	}
	msg.private = castBool(p["private"])
	msg.sourceID, _ = scalarString(p["source_id"])
	if echo, ok := scalarString(p["echo_id"]); ok && echo != nil {
		msg.echoID = *echo
	}

	var attrs json.RawMessage
	if items, ok := msg.attrs["items"]; ok {
		attrs, _ = json.Marshal(map[string]any{"items": items})
	}
	errs := chatwoot.ValidateContent(msg.contentType, attrs)
	if msg.content != nil && utf8.RuneCountInString(*msg.content) > maxContent {
		errs = append(errs, fmt.Sprintf("Content is too long (maximum is %d characters)", maxContent))
	}
	if len(errs) > 0 {
		// ActiveRecord::RecordInvalid#message, rescued by the controller.
		return nil, "Validation failed: " + strings.Join(errs, ", ")
	}
	return msg, ""
}

// digError is the TypeError Ruby's Hash#dig raises when content_attributes
// is not an object.
func digError(v any) string {
	switch x := v.(type) {
	case []any:
		return "no implicit conversion of Symbol into Integer"
	case string:
		return "String does not have #dig method"
	case bool:
		if x {
			return "TrueClass does not have #dig method"
		}
		return "FalseClass does not have #dig method"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "Integer does not have #dig method"
		}
		return "Float does not have #dig method"
	}
	return fmt.Sprintf("%T does not have #dig method", v)
}

// enumName maps an integer enum value to its name.
func enumName(n json.Number, names []string) (string, bool) {
	i, err := n.Int64()
	if err != nil || i < 0 || i >= int64(len(names)) {
		return "", false
	}
	return names[i], true
}

func rubyInspect(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// castBool is ActiveModel's boolean cast of params[:private] || false.
func castBool(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		switch x {
		case "", "0", "f", "F", "false", "FALSE", "off", "OFF":
			return false
		}
		return true
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	}
	return true
}

// --- renderings; s.mu must be held ---

func (s *Server) attrsJSON(m *message) json.RawMessage {
	b, _ := json.Marshal(m.attrs)
	return b
}

// renderMessageLocked is the messages create view: integer message_type,
// unix created_at, the sender's push_event_data.
func (s *Server) renderMessageLocked(m *message) chatwoot.Message {
	return chatwoot.Message{
		ID:                m.id,
		Content:           m.content,
		InboxID:           m.inboxID,
		EchoID:            m.echoID,
		ConversationID:    m.conv.seed.DisplayID,
		MessageType:       chatwoot.MessageTypeCodes[m.messageType],
		ContentType:       m.contentType,
		Status:            "sent",
		ContentAttributes: s.attrsJSON(m),
		CreatedAt:         m.createdAt.Unix(),
		Private:           m.private,
		SourceID:          m.sourceID,
		Sender:            s.pushSender(m),
	}
}

func (s *Server) pushSender(m *message) *chatwoot.PushSender {
	if u := m.senderUser; u != nil {
		return &chatwoot.PushSender{User: userPush(u)}
	}
	return &chatwoot.PushSender{Contact: contactPush(m.senderContact)}
}

func userPush(u *user) *chatwoot.UserPush {
	return &chatwoot.UserPush{
		ID: u.ID, Name: u.Name, AvailableName: u.Name, Type: chatwoot.SenderUser, AvailabilityStatus: "online",
	}
}

func contactPush(c *contact) *chatwoot.ContactPush {
	return &chatwoot.ContactPush{
		ID: c.ID, Name: c.Name, Type: chatwoot.SenderContact,
		Email: optional(c.Email), PhoneNumber: optional(c.PhoneNumber), Identifier: optional(c.Identifier),
		Blocked:              c.Blocked,
		AdditionalAttributes: cloneMap(c.AdditionalAttributes), CustomAttributes: cloneMap(c.CustomAttributes),
	}
}

func (s *Server) contactWebhook(c *contact) *chatwoot.Contact {
	acc := s.accounts[c.AccountID]
	return &chatwoot.Contact{
		Account: chatwoot.Account{ID: acc.id, Name: acc.name}, ID: c.ID, Name: c.Name,
		Email: optional(c.Email), PhoneNumber: optional(c.PhoneNumber), Identifier: optional(c.Identifier),
		Blocked:              c.Blocked,
		AdditionalAttributes: cloneMap(c.AdditionalAttributes), CustomAttributes: cloneMap(c.CustomAttributes),
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// messagePushLocked is Message#push_event_data, which the conversation of an
// event carries as its last message. Content is normalised as upstream's
// webhook presenter does.
func (s *Server) messagePushLocked(m *message) chatwoot.MessagePush {
	senderType, senderID := "Contact", int64(0)
	if m.senderUser != nil {
		senderType, senderID = "User", m.senderUser.ID
	} else {
		senderID = m.senderContact.ID
	}
	content := chatwoot.NormalizeContent(m.content)
	out := chatwoot.MessagePush{
		ID:                      m.id,
		Content:                 content,
		AccountID:               m.accountID,
		InboxID:                 m.inboxID,
		ConversationID:          m.conv.seed.DisplayID,
		MessageType:             chatwoot.MessageTypeCodes[m.messageType],
		CreatedAt:               m.createdAt.Unix(),
		UpdatedAt:               chatwoot.RailsTime{Time: m.createdAt},
		Private:                 m.private,
		Status:                  "sent",
		SourceID:                m.sourceID,
		ContentType:             m.contentType,
		ContentAttributes:       cloneMap(m.attrs),
		SenderType:              &senderType,
		SenderID:                &senderID,
		ExternalSourceIDs:       map[string]any{},
		AdditionalAttributes:    map[string]any{},
		ProcessedMessageContent: content,
		Sentiment:               map[string]any{},
		EchoID:                  m.echoID,
		Sender:                  s.pushSender(m),
	}
	out.Conversation.UnreadCount = m.conv.unreadCount()
	out.Conversation.LastActivityAt = m.conv.lastActivityAt.Unix()
	out.Conversation.ContactInbox.SourceID = m.conv.contactSourceID
	return out
}

// unreadCount counts incoming messages, capped at 10 as upstream's; the
// mock's agents never read.
func (c *conversation) unreadCount() int {
	n := 0
	for _, m := range c.messages {
		if m.messageType == chatwoot.MessageTypeIncoming {
			n++
		}
	}
	return min(n, 10)
}

// conversationLocked is Conversation#webhook_data.
func (s *Server) conversationLocked(conv *conversation) chatwoot.Conversation {
	acc := s.accounts[conv.seed.AccountID]
	in := s.inboxes[conv.seed.InboxID]
	ct := s.contacts[conv.seed.ContactID]
	out := chatwoot.Conversation{
		AdditionalAttributes: cloneMap(conv.seed.AdditionalAttributes),
		CanReply:             true,
		Channel:              in.ChannelType,
		ContactInbox: chatwoot.ContactInbox{
			ID: conv.contactInboxID, ContactID: ct.ID, InboxID: in.ID, SourceID: conv.contactSourceID,
			CreatedAt: chatwoot.RailsTime{Time: conv.createdAt}, UpdatedAt: chatwoot.RailsTime{Time: conv.createdAt},
			PubsubToken: conv.pubsubToken,
		},
		ID:                  conv.seed.DisplayID,
		InboxID:             in.ID,
		Messages:            []chatwoot.MessagePush{},
		Labels:              append([]string{}, conv.seed.Labels...),
		Meta:                chatwoot.ConversationMeta{Sender: *contactPush(ct)},
		Status:              conv.status,
		CustomAttributes:    cloneMap(conv.seed.CustomAttributes),
		UnreadCount:         conv.unreadCount(),
		WaitingSince:        chatwoot.Unix(conv.waitingSince),
		LastActivityAt:      conv.lastActivityAt.Unix(),
		Timestamp:           conv.lastActivityAt.Unix(),
		CreatedAt:           conv.createdAt.Unix(),
		UpdatedAt:           chatwoot.UnixFloat(conv.updatedAt),
		Account:             chatwoot.Account{ID: acc.id, Name: acc.name},
		FirstReplyCreatedAt: chatwoot.NewRailsTime(conv.firstReplyAt),
	}
	for i := len(conv.messages) - 1; i >= 0; i-- {
		if conv.messages[i].chat() {
			out.Messages = []chatwoot.MessagePush{s.messagePushLocked(conv.messages[i])}
			break
		}
	}
	return out
}

// messageEventLocked is Message#webhook_data plus "event" and its JSON.
func (s *Server) messageEventLocked(m *message, event string) (chatwoot.MessageEvent, []byte) {
	acc := s.accounts[m.accountID]
	in := s.inboxes[m.inboxID]
	var sender chatwoot.Sender
	if u := m.senderUser; u != nil {
		sender.User = &chatwoot.User{ID: u.ID, Name: u.Name, Email: u.Email, Type: chatwoot.SenderUser}
	} else {
		sender.Contact = s.contactWebhook(m.senderContact)
	}
	ev := chatwoot.MessageEvent{
		Account:              chatwoot.Account{ID: acc.id, Name: acc.name},
		AdditionalAttributes: map[string]any{},
		ContentAttributes:    cloneMap(m.attrs),
		ContentType:          m.contentType,
		Content:              chatwoot.NormalizeContent(m.content),
		Conversation:         s.conversationLocked(m.conv),
		CreatedAt:            chatwoot.RailsTime{Time: m.createdAt},
		ID:                   m.id,
		Inbox:                chatwoot.Inbox{ID: in.ID, Name: in.Name},
		MessageType:          m.messageType,
		Private:              m.private,
		Sender:               &sender,
		SourceID:             m.sourceID,
		Event:                event,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(fmt.Sprintf("mockapi: encoding message event: %v", err))
	}
	return ev, b
}
