package mockapi

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// The read routes clients call around the ones that fire events: they
// answer upstream's index and show views and fire nothing.

// handleListInboxes is InboxesController#index: {"payload": [...]}; agents
// see the inboxes they are members of.
func (s *Server) handleListInboxes(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, members)
	if !ok {
		return
	}
	s.mu.Lock()
	out := []map[string]any{}
	for _, in := range s.sortedInboxesLocked(c.account.id) {
		if c.role == chatwoot.RoleAdministrator || in.members == nil || in.members[c.user.ID] {
			out = append(out, s.restInboxLocked(in))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"payload": out})
}

func (s *Server) handleShowInbox(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, members)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	in := s.inboxes[id]
	var answer map[string]any
	if err == nil && in != nil && in.AccountID == c.account.id {
		answer = s.restInboxLocked(in)
	}
	s.mu.Unlock()
	if answer == nil {
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) sortedInboxesLocked(accountID int64) []*inbox {
	var out []*inbox
	for _, in := range s.inboxes {
		if in.AccountID == accountID {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b *inbox) int { return int(a.ID - b.ID) })
	return out
}

// handleListContacts is ContactsController#index: {"meta": {"count",
// "current_page"}, "payload": [...]}, 15 a page as upstream's.
func (s *Server) handleListContacts(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, members)
	if !ok {
		return
	}
	page, _ := intParam(c.params["page"])
	page = max(page, 1)
	s.mu.Lock()
	var all []*contact
	for _, ct := range s.contacts {
		if ct.AccountID == c.account.id {
			all = append(all, ct)
		}
	}
	slices.SortFunc(all, func(a, b *contact) int { return int(a.ID - b.ID) })
	out := []chatwoot.RESTContact{}
	const perPage = 15
	for i := (page - 1) * perPage; i < min(int64(len(all)), page*perPage); i++ {
		out = append(out, s.restContactLocked(all[i], r.URL.Query().Get("include_contact_inboxes") != "false"))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"meta": map[string]any{"count": len(all), "current_page": page}, "payload": out})
}

func (s *Server) handleShowContact(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, members)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	ct := s.contacts[id]
	var answer *chatwoot.RESTContact
	if err == nil && ct != nil && ct.AccountID == c.account.id {
		rc := s.restContactLocked(ct, true)
		answer = &rc
	}
	s.mu.Unlock()
	if answer == nil {
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"payload": answer})
}

// handleListConversations is ConversationsController#index: status "open"
// by default ("all" for every one), counts in meta.
func (s *Server) handleListConversations(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, members)
	if !ok {
		return
	}
	status, _ := c.params["status"].(string)
	if status == "" {
		status = "open"
	}
	s.mu.Lock()
	var convs []*conversation
	mine, assigned, unassigned := 0, 0, 0
	for _, conv := range s.conversations {
		in := s.inboxes[conv.seed.InboxID]
		if conv.seed.AccountID != c.account.id || (c.user != nil && c.role != chatwoot.RoleAdministrator && in.members != nil && !in.members[c.user.ID]) {
			continue
		}
		if status != "all" && conv.status != status {
			continue
		}
		convs = append(convs, conv)
		switch {
		case conv.assignee == nil:
			unassigned++
		case c.user != nil && conv.assignee == c.user:
			mine++
			assigned++
		default:
			assigned++
		}
	}
	slices.SortFunc(convs, func(a, b *conversation) int {
		if d := b.lastActivityAt.Compare(a.lastActivityAt); d != 0 {
			return d
		}
		return int(b.seed.DisplayID - a.seed.DisplayID)
	})
	payload := []chatwoot.RESTConversation{}
	for _, conv := range convs {
		payload = append(payload, s.restConversationLocked(conv))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"meta":    map[string]any{"mine_count": mine, "assigned_count": assigned, "unassigned_count": unassigned, "all_count": len(convs)},
		"payload": payload,
	}})
}

func (s *Server) handleShowConversation(w http.ResponseWriter, r *http.Request) {
	_, conv, ok := s.conversationCall(w, r, membersOrBots)
	if !ok {
		return
	}
	s.mu.Lock()
	answer := s.restConversationLocked(conv)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
}

// handleListMessages is MessagesController#index: the conversation's
// messages, oldest first, with the contact and assignee in meta.
func (s *Server) handleListMessages(w http.ResponseWriter, r *http.Request) {
	_, conv, ok := s.conversationCall(w, r, members)
	if !ok {
		return
	}
	s.mu.Lock()
	payload := []chatwoot.Message{}
	for _, m := range conv.messages {
		payload = append(payload, s.renderMessageLocked(m))
	}
	var assignee *chatwoot.UserPush
	if conv.assignee != nil {
		assignee = userPush(conv.assignee)
	}
	meta := map[string]any{
		"labels": append([]string{}, conv.seed.Labels...), "additional_attributes": cloneMap(conv.seed.AdditionalAttributes),
		"contact": s.restContactLocked(s.contacts[conv.seed.ContactID], false), "assignee": assignee,
		"agent_last_seen_at": nil, "assignee_last_seen_at": nil,
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"meta": meta, "payload": payload})
}
