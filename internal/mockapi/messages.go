package mockapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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
	status        string // sent, delivered, read, failed
	createdAt     time.Time
	updatedAt     time.Time
	senderUser    *user     // outgoing through the API by a user
	senderBot     *agentBot // outgoing through the API by a bot
	senderContact *contact  // everything else
	uploads       []*upload // attachments[] files, stored by addMessageLocked
	attachments   []chatwoot.Attachment
	baseURL       string // where the attachments' urls point
}

func (m *message) chat() bool { return m.messageType != chatwoot.MessageTypeActivity && !m.private }

// fires reports whether upstream's webhook listener sends message_created
// for it (Message#webhook_sendable?).
func (m *message) fires() bool { return m.messageType != chatwoot.MessageTypeActivity }

// handleCreateMessage is upstream's MessagesController#create through
// Messages::MessageBuilder: any member of the account who can see the
// conversation, or its bot, may post; builder errors answer 422 {"error": ...}.
func (s *Server) handleCreateMessage(w http.ResponseWriter, r *http.Request) {
	c, conv, ok := s.conversationCall(w, r, membersOrBots)
	if !ok {
		return
	}
	s.mu.Lock()
	in := s.inboxes[conv.seed.InboxID]
	ct := s.contacts[conv.seed.ContactID]
	s.mu.Unlock()
	msg, errText := buildMessage(c, conv, in, ct)
	if errText != "" {
		writeError(w, http.StatusUnprocessableEntity, errText)
		return
	}

	s.mu.Lock()
	side := s.addMessageLocked(msg)
	answer := s.renderMessageLocked(msg)
	var evs []*EventRecord
	if msg.fires() {
		evs = s.fireMessageLocked(msg, side)
	}
	s.mu.Unlock()

	s.log.Info("message created", "account_id", msg.accountID, "conversation_id", conv.seed.DisplayID,
		"message_id", msg.id, "message_type", msg.messageType, "content_type", msg.contentType, "private", msg.private)
	writeJSON(w, http.StatusOK, answer)
	s.deliverFired(evs)
}

// sideEffects are the events a new message owes besides message_created.
type sideEffects struct {
	contact []chatwoot.AttributeChange // contact_updated, when the contact wrote
	conv    []convFire
}

// addMessageLocked stores m and applies upstream's after-create callbacks:
// an incoming message stamps the contact's last_activity_at, reopens a
// resolved or snoozed conversation and starts waiting_since; the first
// public reply of an agent sets first_reply_created_at, and any public
// agent or bot reply clears waiting_since.
func (s *Server) addMessageLocked(m *message) sideEffects {
	m.id = s.nextMessageID
	s.nextMessageID++
	if m.status == "" {
		m.status = "sent"
	}
	m.updatedAt = m.createdAt
	for _, up := range m.uploads {
		s.ids.attachment++
		m.attachments = append(m.attachments, attachmentOf(s.ids.attachment, m, up))
	}
	m.uploads = nil
	conv := m.conv
	conv.messages = append(conv.messages, m)
	var side sideEffects
	at := m.createdAt
	switch {
	case m.messageType == chatwoot.MessageTypeIncoming:
		ct := m.senderContact
		side.contact = saveContact(ct, at, func() { ct.lastActivityAt = at })
		if conv.status == "resolved" || conv.status == "snoozed" {
			side.conv = saveConversation(conv, at, func() { conv.status, conv.snoozedUntil = "open", time.Time{} })
		}
		if conv.waitingSince.IsZero() {
			side.conv = append(side.conv, saveConversation(conv, at, func() { conv.waitingSince = at })...)
		}
	case m.messageType == chatwoot.MessageTypeOutgoing && !m.private && m.senderUser != nil && conv.firstReplyAt.IsZero():
		side.conv = saveConversation(conv, at, func() { conv.firstReplyAt, conv.waitingSince = at, time.Time{} })
	case m.messageType == chatwoot.MessageTypeOutgoing && !m.private && (m.senderUser != nil || m.senderBot != nil):
		side.conv = saveConversation(conv, at, func() { conv.waitingSince = time.Time{} })
	}
	// belongs_to touch: true and update_columns(last_activity_at): no callbacks.
	conv.lastActivityAt, conv.updatedAt = at, at
	return side
}

// fireMessageLocked fires message_created and what the message's callbacks owe.
func (s *Server) fireMessageLocked(m *message, side sideEffects) []*EventRecord {
	evs := []*EventRecord{s.fireMessageEventLocked(m, chatwoot.EventMessageCreated)}
	if side.contact != nil {
		evs = append(evs, s.fireContactLocked(m.senderContact, chatwoot.EventContactUpdated, chatwoot.Changes(side.contact...)))
	}
	return append(evs, s.fireConversationLocked(m.conv, side.conv...)...)
}

func (s *Server) fireMessageEventLocked(m *message, event string) *EventRecord {
	ev := s.fireLocked(m.accountID, m.inboxID, event, s.messageEventLocked(m, event))
	ev.MessageID = m.id
	return ev
}

// buildMessage applies MessageBuilder's params and the Message validations
// in upstream's order; errText is the 422 "error" text.
func buildMessage(c *call, conv *conversation, in *inbox, ct *contact) (*message, string) {
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
	switch {
	case senderIsUser && c.bot != nil:
		msg.senderBot = c.bot
	case senderIsUser:
		msg.senderUser = c.user
	default:
		msg.senderContact = ct
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
	if files, ok := p["attachments"].([]any); ok {
		for _, f := range files {
			if up, isFile := f.(*upload); isFile {
				msg.uploads = append(msg.uploads, up)
			}
		}
	}
	msg.baseURL = c.baseURL
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
		Status:            m.status,
		ContentAttributes: s.attrsJSON(m),
		CreatedAt:         m.createdAt.Unix(),
		Private:           m.private,
		SourceID:          m.sourceID,
		Sender:            s.pushSender(m),
		Attachments:       cloneAttachments(m.attachments),
	}
}

func (s *Server) pushSender(m *message) *chatwoot.PushSender {
	if u := m.senderUser; u != nil {
		return &chatwoot.PushSender{User: userPush(u)}
	}
	if b := m.senderBot; b != nil {
		return &chatwoot.PushSender{AgentBot: &chatwoot.AgentBotPush{ID: b.ID, Name: b.Name, Type: chatwoot.SenderAgentBot}}
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
	var senderType string
	var senderID int64
	switch {
	case m.senderUser != nil:
		senderType, senderID = "User", m.senderUser.ID
	case m.senderBot != nil:
		senderType, senderID = "AgentBot", m.senderBot.ID
	default:
		senderType, senderID = "Contact", m.senderContact.ID
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
		UpdatedAt:               chatwoot.RailsTime{Time: m.updatedAt},
		Private:                 m.private,
		Status:                  m.status,
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
		Attachments:             cloneAttachments(m.attachments),
		Sender:                  s.pushSender(m),
	}
	out.Conversation.UnreadCount = m.conv.unreadCount()
	out.Conversation.LastActivityAt = m.conv.lastActivityAt.Unix()
	out.Conversation.ContactInbox.SourceID = m.conv.ci.sourceID
	if a := m.conv.assignee; a != nil {
		out.Conversation.AssigneeID = &a.ID
	}
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

// messageEventLocked is Message#webhook_data plus "event".
func (s *Server) messageEventLocked(m *message, event string) chatwoot.MessageEvent {
	acc := s.accounts[m.accountID]
	in := s.inboxes[m.inboxID]
	var sender chatwoot.Sender
	switch {
	case m.senderUser != nil:
		u := m.senderUser
		sender.User = &chatwoot.User{ID: u.ID, Name: u.Name, Email: u.Email, Type: chatwoot.SenderUser}
	case m.senderBot != nil:
		sender.AgentBot = &chatwoot.AgentBot{ID: m.senderBot.ID, Name: m.senderBot.Name, Type: chatwoot.SenderAgentBot}
	default:
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
		Attachments:          cloneAttachments(m.attachments),
		Event:                event,
	}
	return ev
}

// MessageStatuses are the statuses of upstream's Message enum.
var MessageStatuses = []string{"sent", "delivered", "read", "failed"}

// messageOf answers 404 unless the path's message is in the conversation.
func (s *Server) messageOf(w http.ResponseWriter, r *http.Request, conv *conversation) (*message, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	var found *message
	for _, m := range conv.messages {
		if err == nil && m.id == id {
			found = m
		}
	}
	s.mu.Unlock()
	if found == nil {
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return nil, false
	}
	return found, true
}

// handleUpdateMessage is MessagesController#update: status and
// external_error of a message in an API inbox (403 elsewhere);
// message_updated fires when a column changed.
func (s *Server) handleUpdateMessage(w http.ResponseWriter, r *http.Request) {
	c, conv, ok := s.conversationCall(w, r, members)
	if !ok {
		return
	}
	m, ok := s.messageOf(w, r, conv)
	if !ok {
		return
	}
	s.mu.Lock()
	if s.inboxes[conv.seed.InboxID].ChannelType != channelAPI {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "Message status update is only allowed for API inboxes")
		return
	}
	status, external := m.status, m.attrs["external_error"]
	if raw, present := c.params["status"]; present {
		st, _ := scalarString(raw)
		if st == nil || !slices.Contains(MessageStatuses, *st) {
			s.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("'%s' is not a valid status", deref(st)))
			return
		}
		status = *st
	}
	if raw, present := c.params["external_error"]; present {
		external = raw
	}
	evs := s.updateMessageLocked(m, func() {
		m.status = status
		if external != nil {
			m.attrs["external_error"] = external
		}
	})
	answer := s.renderMessageLocked(m)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
	s.deliverFired(evs)
}

// handleDeleteMessage is MessagesController#destroy, a soft delete: the
// content becomes "This message was deleted", content_attributes
// {"deleted": true}; message_updated fires.
func (s *Server) handleDeleteMessage(w http.ResponseWriter, r *http.Request) {
	_, conv, ok := s.conversationCall(w, r, members)
	if !ok {
		return
	}
	m, ok := s.messageOf(w, r, conv)
	if !ok {
		return
	}
	s.mu.Lock()
	evs := s.updateMessageLocked(m, func() {
		m.content, m.contentType, m.attrs = ptr("This message was deleted"), chatwoot.ContentTypeText, map[string]any{"deleted": true}
		m.attachments = nil
	})
	answer := s.renderMessageLocked(m)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
	s.deliverFired(evs)
}

// updateMessageLocked saves m; message_updated fires when the save changed
// a column of a message that fires webhooks.
func (s *Server) updateMessageLocked(m *message, mutate func()) []*EventRecord {
	before, _ := json.Marshal(s.messagePushLocked(m))
	mutate()
	after, _ := json.Marshal(s.messagePushLocked(m))
	if string(before) == string(after) || !m.fires() {
		return nil
	}
	m.updatedAt = time.Now().UTC().Truncate(time.Millisecond)
	return []*EventRecord{s.fireMessageEventLocked(m, chatwoot.EventMessageUpdated)}
}

// attachmentOf stores an uploaded file as upstream's Attachment: the file
// type from its MIME type, ActiveStorage redirect urls on the mock's host,
// the size and, for images Go decodes, the dimensions.
func attachmentOf(id int64, m *message, up *upload) chatwoot.Attachment {
	fileType := "file"
	for _, t := range []string{"image", "audio", "video"} {
		if strings.HasPrefix(up.contentType, t+"/") {
			fileType = t
		}
	}
	var ext *string
	if dot := strings.LastIndexByte(up.filename, '.'); dot >= 0 && dot < len(up.filename)-1 {
		ext = ptr(up.filename[dot+1:])
	}
	key := randomToken(28)
	a := chatwoot.Attachment{
		ID: id, MessageID: m.id, FileType: fileType, AccountID: m.accountID, Extension: ext,
		ContentType: up.contentType, FileSize: int64(len(up.data)),
		DataURL: fmt.Sprintf("%s/rails/active_storage/blobs/redirect/%s/%s", m.baseURL, key, url.PathEscape(up.filename)),
	}
	switch fileType {
	case "image":
		a.ThumbURL = fmt.Sprintf("%s/rails/active_storage/representations/redirect/%s/%s", m.baseURL, key, url.PathEscape(up.filename))
		a.Width, a.Height = imageSize(up.data)
	case "audio":
		a.TranscribedText = ptr("")
	}
	return a
}

func cloneAttachments(in []chatwoot.Attachment) []chatwoot.Attachment {
	if len(in) == 0 {
		return nil
	}
	return append([]chatwoot.Attachment{}, in...)
}
