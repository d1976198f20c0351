package mockapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// conversationColumns are the conversations columns the API changes, in the
// table's order, which changed_attributes follows. Every one but updated_at
// is a key conversation_updated watches.
var conversationColumns = []string{
	"status", "assignee_id", "updated_at", "snoozed_until", "custom_attributes",
	"first_reply_created_at", "priority", "waiting_since",
}

// columns are the conversation's values of conversationColumns as their
// JSON columns render them.
func (c *conversation) columns() map[string]any {
	var assignee *int64
	if c.assignee != nil {
		assignee = &c.assignee.ID
	}
	return map[string]any{
		"status":                 c.status,
		"assignee_id":            assignee,
		"updated_at":             chatwoot.NewRailsTime(c.updatedAt),
		"snoozed_until":          chatwoot.NewRailsTime(c.snoozedUntil),
		"custom_attributes":      cloneMap(c.customAttrs),
		"first_reply_created_at": chatwoot.NewRailsTime(c.firstReplyAt),
		"priority":               nil,
		"waiting_since":          chatwoot.NewRailsTime(c.waitingSince),
	}
}

// diffColumns lists the columns whose values differ, in order.
func diffColumns(order []string, before, after map[string]any) []chatwoot.AttributeChange {
	var out []chatwoot.AttributeChange
	for _, col := range order {
		b, _ := json.Marshal(before[col])
		a, _ := json.Marshal(after[col])
		if !bytes.Equal(a, b) {
			out = append(out, chatwoot.AttributeChange{Name: col, Previous: before[col], Current: after[col]})
		}
	}
	return out
}

// saveRow is one ActiveRecord save of a row: mutate changes it, and when a
// column changed the timestamp moves to at. It returns the changes in the
// table's order, updated_at always among them as Rails' (microsecond)
// timestamps always differ, even when the milliseconds rendered are equal.
func saveRow(order []string, columns func() map[string]any, updatedAt *time.Time, at time.Time, mutate func()) []chatwoot.AttributeChange {
	before := columns()
	mutate()
	if len(diffColumns(order, before, columns())) == 0 {
		return nil
	}
	prev := *updatedAt
	*updatedAt = at
	var out []chatwoot.AttributeChange
	after := columns()
	for _, col := range order {
		if col == "updated_at" {
			out = append(out, chatwoot.AttributeChange{Name: col, Previous: chatwoot.NewRailsTime(prev), Current: chatwoot.NewRailsTime(at)})
			continue
		}
		out = append(out, diffColumns([]string{col}, before, after)...)
	}
	return out
}

// convFire is an event a conversation save owes, fired once every save of
// the request is done: upstream's jobs build payloads after the commit, so
// each shows the final state.
type convFire struct {
	event   string
	changes chatwoot.ChangedAttributes
}

// saveConversationLocked is one ActiveRecord save of conv: mutate changes
// it, updated_at moves to at when anything changed, and the callbacks owe
// conversation_status_changed (changed_attributes null, as upstream's) when
// the status changed and conversation_updated with every changed column.
func saveConversation(conv *conversation, at time.Time, mutate func()) []convFire {
	status := conv.status
	changes := saveRow(conversationColumns, conv.columns, &conv.updatedAt, at, mutate)
	if changes == nil {
		return nil
	}
	var out []convFire
	if status != conv.status {
		out = append(out, convFire{chatwoot.EventConversationStatusChanged, chatwoot.NullChanges()})
	}
	return append(out, convFire{chatwoot.EventConversationUpdated, chatwoot.Changes(changes...)})
}

// fireConversationLocked fires the events conv's saves owe, in order.
func (s *Server) fireConversationLocked(conv *conversation, fires ...convFire) []*EventRecord {
	var evs []*EventRecord
	for _, f := range fires {
		evs = append(evs, s.fireLocked(conv.seed.AccountID, conv.seed.InboxID, f.event, chatwoot.ConversationEvent{
			Conversation: s.conversationLocked(conv), Event: f.event, ChangedAttributes: f.changes,
		}))
	}
	return evs
}

// contactInboxLocked finds the contact's row in the inbox (with sourceID,
// when given) or makes one, as ContactInboxBuilder: API and widget inboxes
// get a UUID source id.
func (s *Server) contactInboxLocked(contactID, inboxID int64, sourceID string, at time.Time) *contactInbox {
	for _, ci := range s.contactInbox {
		if ci.contactID == contactID && ci.inboxID == inboxID && (sourceID == "" || ci.sourceID == sourceID) {
			return ci
		}
	}
	if sourceID == "" {
		sourceID = uuid.NewString()
	}
	s.ids.contactInbox++
	ci := &contactInbox{id: s.ids.contactInbox, contactID: contactID, inboxID: inboxID, sourceID: sourceID, pubsubToken: randomToken(24), createdAt: at}
	s.contactInbox = append(s.contactInbox, ci)
	return ci
}

func (s *Server) contactInboxBySourceLocked(accountID int64, sourceID string) *contactInbox {
	for _, ci := range s.contactInbox {
		if ci.sourceID == sourceID && s.inboxes[ci.inboxID].AccountID == accountID {
			return ci
		}
	}
	return nil
}

// conversationCall is accountCall for the routes of one conversation: 404
// unless the path's conversation exists, 401 unless the caller may see it
// (ConversationPolicy#show?: agents see the conversations of their inboxes;
// bots those of their account).
func (s *Server) conversationCall(w http.ResponseWriter, r *http.Request, who access) (*call, *conversation, bool) {
	c, ok := s.accountCall(w, r, who)
	if !ok {
		return nil, nil, false
	}
	conv, ok := s.conversationOf(w, r, c)
	return c, conv, ok
}

func (s *Server) conversationOf(w http.ResponseWriter, r *http.Request, c *call) (*conversation, bool) {
	display, err := strconv.ParseInt(r.PathValue("conversation_id"), 10, 64)
	s.mu.Lock()
	conv := s.conversations[convKey{c.account.id, display}]
	var in *inbox
	if conv != nil {
		in = s.inboxes[conv.seed.InboxID]
	}
	s.mu.Unlock()
	if err != nil || conv == nil {
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return nil, false
	}
	if c.user != nil && c.role != chatwoot.RoleAdministrator && in.members != nil && !in.members[c.user.ID] {
		writeError(w, http.StatusUnauthorized, chatwoot.MsgNotAuthorizedAction)
		return nil, false
	}
	return conv, true
}

// handleCreateConversation is ConversationsController#create through
// ConversationBuilder: the contact_inbox comes from source_id, or from
// inbox_id and contact_id (made when missing); an optional message is the
// caller's first outgoing message.
func (s *Server) handleCreateConversation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, membersOrBots)
	if !ok {
		return
	}
	p := c.params
	status := "open"
	if raw, present := p["status"]; present && raw != nil {
		st, _ := scalarString(raw)
		if st == nil || !slices.Contains(ConversationStatuses, *st) {
			// Rails' enum raises ArgumentError, which no rescue handles.
			hint(w, fmt.Sprintf("status %s is not one of %v; upstream raises here", rubyInspect(raw), ConversationStatuses))
			writeRailsStatus(w, http.StatusInternalServerError)
			return
		}
		status = *st
	}
	now := time.Now().UTC().Truncate(time.Microsecond)

	s.mu.Lock()
	var ci *contactInbox
	sourceID, _ := scalarString(p["source_id"])
	inboxID, hasInbox := intParam(p["inbox_id"])
	contactID, hasContact := intParam(p["contact_id"])
	switch {
	case hasInbox && hasContact:
		in, ct := s.inboxes[inboxID], s.contacts[contactID]
		if in == nil || in.AccountID != c.account.id || ct == nil || ct.AccountID != c.account.id {
			s.mu.Unlock()
			writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
			return
		}
		if sourceID != nil && *sourceID != "" {
			if other := s.contactInboxBySourceLocked(c.account.id, *sourceID); other != nil && other.contactID != contactID {
				s.mu.Unlock()
				writeError(w, http.StatusUnprocessableEntity, "source_id should be unique")
				return
			}
			ci = s.contactInboxLocked(contactID, inboxID, *sourceID, now)
		} else {
			ci = s.contactInboxLocked(contactID, inboxID, "", now)
		}
	case sourceID != nil && *sourceID != "":
		ci = s.contactInboxBySourceLocked(c.account.id, *sourceID)
	}
	if ci == nil {
		s.mu.Unlock()
		hint(w, "send source_id of an existing contact_inbox, or inbox_id and contact_id of this account")
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return
	}
	ct := s.contacts[ci.contactID]
	if ct.Blocked {
		status = "resolved" // a blocked contact's conversations start resolved
	}
	s.ids.display[c.account.id]++
	conv := &conversation{
		seed: SeedConversation{
			AccountID: c.account.id, DisplayID: s.ids.display[c.account.id], InboxID: ci.inboxID, ContactID: ci.contactID,
			AdditionalAttributes: objectParam(p["additional_attributes"]),
		},
		uuid: uuid.NewString(), ci: ci, status: status, customAttrs: objectParam(p["custom_attributes"]),
		createdAt: now, updatedAt: now, lastActivityAt: now, waitingSince: now,
	}
	if status == "snoozed" {
		conv.snoozedUntil = snoozeParam(p["snoozed_until"])
	}
	s.conversations[convKey{c.account.id, conv.seed.DisplayID}] = conv
	var first *message
	if body, isObj := p["message"].(map[string]any); isObj && c.user != nil {
		content, _ := scalarString(body["content"])
		first = &message{
			accountID: c.account.id, inboxID: ci.inboxID, conv: conv, content: content,
			messageType: chatwoot.MessageTypeOutgoing, contentType: chatwoot.ContentTypeText, status: "sent",
			attrs: map[string]any{}, createdAt: now.Truncate(time.Millisecond), senderUser: c.user,
		}
	}
	var side sideEffects
	if first != nil {
		side = s.addMessageLocked(first)
	}
	evs := s.fireConversationLocked(conv, convFire{event: chatwoot.EventConversationCreated})
	if first != nil {
		evs = append(evs, s.fireMessageLocked(first, side)...)
	}
	answer := s.restConversationLocked(conv)
	s.mu.Unlock()

	s.log.Info("conversation created", "account_id", c.account.id, "conversation_id", conv.seed.DisplayID, "inbox_id", ci.inboxID)
	writeJSON(w, http.StatusOK, answer)
	s.deliverFired(evs)
}

// handleToggleStatus is ConversationsController#toggle_status: a given
// status is set (snoozed_until from unix seconds when snoozing), none
// toggles open↔resolved; any status but snoozed clears snoozed_until. An
// agent who opens a conversation assigned to someone else takes it.
func (s *Server) handleToggleStatus(w http.ResponseWriter, r *http.Request) {
	c, conv, ok := s.conversationCall(w, r, membersOrBots)
	if !ok {
		return
	}
	var want string
	if raw, present := c.params["status"]; present && raw != nil {
		st, _ := scalarString(raw)
		if st != nil && *st != "" && !slices.Contains(ConversationStatuses, *st) {
			hint(w, fmt.Sprintf("status %q is not one of %v; upstream raises here", *st, ConversationStatuses))
			writeRailsStatus(w, http.StatusInternalServerError)
			return
		}
		if st != nil {
			want = *st
		}
	}
	now := time.Now().UTC().Truncate(time.Microsecond)

	s.mu.Lock()
	if want == "" {
		want = "resolved"
		if conv.status != "open" {
			want = "open"
		}
	}
	fires := saveConversation(conv, now, func() {
		conv.status = want
		conv.snoozedUntil = time.Time{}
		if want == "snoozed" {
			conv.snoozedUntil = snoozeParam(c.params["snoozed_until"])
		}
	})
	if conv.status == "open" && c.user != nil && c.role == chatwoot.RoleAgent && conv.assignee != c.user {
		fires = append(fires, saveConversation(conv, now, func() { conv.assignee = c.user })...)
	}
	evs := s.fireConversationLocked(conv, fires...)
	var answer chatwoot.ToggleStatusAnswer
	answer.Payload.Success = ptr(true)
	answer.Payload.ConversationID = conv.seed.DisplayID
	answer.Payload.CurrentStatus = conv.status
	answer.Payload.SnoozedUntil = chatwoot.NewRailsTime(conv.snoozedUntil)
	s.mu.Unlock()

	s.log.Info("conversation status toggled", "account_id", c.account.id, "conversation_id", conv.seed.DisplayID, "status", answer.Payload.CurrentStatus)
	writeJSON(w, http.StatusOK, answer)
	s.deliverFired(evs)
}

// handleToggleTyping is ConversationsController#toggle_typing_status: "on"
// and "off" fire conversation_typing_on/off, anything else nothing; the
// answer is always 200 with an empty body.
func (s *Server) handleToggleTyping(w http.ResponseWriter, r *http.Request) {
	c, conv, ok := s.conversationCall(w, r, membersOrBots)
	if !ok {
		return
	}
	event := map[any]string{"on": chatwoot.EventConversationTypingOn, "off": chatwoot.EventConversationTypingOff}[c.params["typing_status"]]
	var evs []*EventRecord
	if event != "" {
		isPrivate, present := c.params["is_private"]
		if !present || isPrivate == nil {
			isPrivate = false
		}
		var who chatwoot.Sender
		if c.bot != nil {
			who.AgentBot = &chatwoot.AgentBot{ID: c.bot.ID, Name: c.bot.Name, Type: chatwoot.SenderAgentBot}
		} else {
			who.User = &chatwoot.User{ID: c.user.ID, Name: c.user.Name, Email: c.user.Email, Type: chatwoot.SenderUser}
		}
		s.mu.Lock()
		evs = append(evs, s.fireLocked(c.account.id, conv.seed.InboxID, event, chatwoot.TypingEvent{
			Event: event, User: who, Conversation: s.conversationLocked(conv), IsPrivate: isPrivate,
		}))
		s.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
	s.deliverFired(evs)
}

// --- params ---

// intParam casts an integer param (a JSON number or a form string).
func intParam(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	case string:
		i, err := strconv.ParseInt(x, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// objectParam is a permitted hash param; anything else is {}.
func objectParam(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return cloneMap(m)
	}
	return map[string]any{}
}

// snoozeParam reads snoozed_until as unix seconds (string or number);
// anything else leaves it unset.
func snoozeParam(v any) time.Time {
	if n, ok := intParam(v); ok && n > 0 {
		return time.Unix(n, 0).UTC()
	}
	return time.Time{}
}

// --- renderings; s.mu must be held ---

func (s *Server) assigneePush(conv *conversation) (*chatwoot.PushSender, *string) {
	if conv.assignee == nil {
		return nil, nil
	}
	return &chatwoot.PushSender{User: userPush(conv.assignee)}, ptr("User")
}

// conversationLocked is Conversation#webhook_data.
func (s *Server) conversationLocked(conv *conversation) chatwoot.Conversation {
	acc := s.accounts[conv.seed.AccountID]
	in := s.inboxes[conv.seed.InboxID]
	ct := s.contacts[conv.seed.ContactID]
	assignee, assigneeType := s.assigneePush(conv)
	out := chatwoot.Conversation{
		AdditionalAttributes: cloneMap(conv.seed.AdditionalAttributes),
		CanReply:             true,
		Channel:              in.ChannelType,
		ContactInbox: chatwoot.ContactInbox{
			ID: conv.ci.id, ContactID: ct.ID, InboxID: in.ID, SourceID: conv.ci.sourceID,
			CreatedAt: chatwoot.RailsTime{Time: conv.ci.createdAt}, UpdatedAt: chatwoot.RailsTime{Time: conv.ci.createdAt},
			PubsubToken: conv.ci.pubsubToken,
		},
		ID:                  conv.seed.DisplayID,
		InboxID:             in.ID,
		Messages:            []chatwoot.MessagePush{},
		Labels:              append([]string{}, conv.seed.Labels...),
		Meta:                chatwoot.ConversationMeta{Sender: *contactPush(ct), Assignee: assignee, AssigneeType: assigneeType},
		Status:              conv.status,
		CustomAttributes:    cloneMap(conv.customAttrs),
		SnoozedUntil:        chatwoot.NewRailsTime(conv.snoozedUntil),
		UnreadCount:         conv.unreadCount(),
		WaitingSince:        chatwoot.Unix(conv.waitingSince),
		LastActivityAt:      conv.lastActivityAt.Unix(),
		Timestamp:           conv.lastActivityAt.Unix(),
		CreatedAt:           conv.createdAt.Unix(),
		UpdatedAt:           chatwoot.UnixFloat(conv.updatedAt),
		Account:             chatwoot.Account{ID: acc.id, Name: acc.name},
		FirstReplyCreatedAt: chatwoot.NewRailsTime(conv.firstReplyAt),
	}
	if m := conv.lastChat(); m != nil {
		out.Messages = []chatwoot.MessagePush{s.messagePushLocked(m)}
	}
	return out
}

// lastChat is the latest message that is neither an activity nor private.
func (c *conversation) lastChat() *message {
	for i := len(c.messages) - 1; i >= 0; i-- {
		if c.messages[i].chat() {
			return c.messages[i]
		}
	}
	return nil
}

// restConversationLocked is the conversations API's conversation partial.
func (s *Server) restConversationLocked(conv *conversation) chatwoot.RESTConversation {
	in := s.inboxes[conv.seed.InboxID]
	out := chatwoot.RESTConversation{
		Meta:                 chatwoot.RESTConversationMeta{Sender: s.restContactLocked(s.contacts[conv.seed.ContactID], false), Channel: in.ChannelType},
		ID:                   conv.seed.DisplayID,
		Messages:             []chatwoot.MessagePush{},
		AccountID:            conv.seed.AccountID,
		UUID:                 conv.uuid,
		AdditionalAttributes: cloneMap(conv.seed.AdditionalAttributes),
		CanReply:             true,
		CustomAttributes:     cloneMap(conv.customAttrs),
		InboxID:              in.ID,
		Labels:               append([]string{}, conv.seed.Labels...),
		SnoozedUntil:         chatwoot.NewRailsTime(conv.snoozedUntil),
		Status:               conv.status,
		CreatedAt:            conv.createdAt.Unix(),
		UpdatedAt:            chatwoot.UnixFloat(conv.updatedAt),
		Timestamp:            conv.lastActivityAt.Unix(),
		FirstReplyCreatedAt:  chatwoot.Unix(conv.firstReplyAt),
		UnreadCount:          conv.unreadCount(),
		LastActivityAt:       conv.lastActivityAt.Unix(),
		WaitingSince:         chatwoot.Unix(conv.waitingSince),
	}
	if conv.assignee != nil {
		out.Meta.Assignee, out.Meta.AssigneeType = userPush(conv.assignee), "User"
	}
	if n := len(conv.messages); n > 0 {
		// The latest message of any kind, activity and private included, not normalised.
		last := s.messagePushLocked(conv.messages[n-1])
		last.Content, last.ProcessedMessageContent = conv.messages[n-1].content, conv.messages[n-1].content
		out.Messages = []chatwoot.MessagePush{last}
	}
	if m := conv.lastChat(); m != nil {
		last := s.messagePushLocked(m)
		out.LastNonActivityMessage = &last
	}
	return out
}
