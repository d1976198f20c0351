package mockapi

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// contactColumns are the contacts columns the API changes, in the table's
// order, which changed_attributes follows.
var contactColumns = []string{
	"name", "email", "phone_number", "updated_at", "additional_attributes", "identifier",
	"custom_attributes", "last_activity_at", "contact_type", "location", "country_code", "blocked",
}

var (
	emailFormat = regexp.MustCompile(`\A[^@\s]+@[^@\s]+\z`) // Devise.email_regexp
	e164Format  = regexp.MustCompile(`\+[1-9]\d{1,14}\z`)   // unanchored at the start, as upstream's
)

// columns are the contact's values of contactColumns.
func (c *contact) columns() map[string]any {
	return map[string]any{
		"name":                  c.Name,
		"email":                 optional(c.Email),
		"phone_number":          optional(c.PhoneNumber),
		"updated_at":            chatwoot.NewRailsTime(c.updatedAt),
		"additional_attributes": cloneMap(c.AdditionalAttributes),
		"identifier":            optional(c.Identifier),
		"custom_attributes":     cloneMap(c.CustomAttributes),
		"last_activity_at":      chatwoot.NewRailsTime(c.lastActivityAt),
		"contact_type":          c.contactType,
		"location":              c.location,
		"country_code":          c.countryCode,
		"blocked":               c.Blocked,
	}
}

// prepare is Contact's before_save: location and country_code copied from
// additional_attributes, and a visitor becomes a lead once it has an email
// or a phone number.
func (c *contact) prepare() {
	c.location, _ = c.AdditionalAttributes["city"].(string)
	c.countryCode, _ = c.AdditionalAttributes["country"].(string)
	if c.contactType == "" {
		c.contactType = "visitor"
	}
	if c.contactType == "visitor" && (c.Email != "" || c.PhoneNumber != "") {
		c.contactType = "lead"
	}
}

// saveContact is one save of ct; it returns the changed columns, nil when
// nothing changed (upstream then skips contact_updated).
func saveContact(ct *contact, at time.Time, mutate func()) []chatwoot.AttributeChange {
	return saveRow(contactColumns, ct.columns, &ct.updatedAt, at, func() { mutate(); ct.prepare() })
}

func (s *Server) fireContactLocked(ct *contact, event string, changes chatwoot.ChangedAttributes) *EventRecord {
	return s.fireLocked(ct.AccountID, 0, event, chatwoot.ContactEvent{Contact: *s.contactWebhook(ct), Event: event, ChangedAttributes: changes})
}

// handleCreateContact is ContactsController#create: every field optional,
// inbox_id (with an optional source_id) also makes a contact_inbox.
func (s *Server) handleCreateContact(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, members)
	if !ok {
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	s.mu.Lock()
	ct := &contact{SeedContact: SeedContact{AccountID: c.account.id}, createdAt: now, updatedAt: now}
	var in *inbox
	if raw, present := c.params["inbox_id"]; present && raw != nil {
		id, _ := intParam(raw)
		if in = s.inboxes[id]; in == nil || in.AccountID != c.account.id {
			s.mu.Unlock()
			writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
			return
		}
	}
	applyContactParams(ct, c.params)
	ct.prepare()
	if msg, attrs := s.validateContactLocked(ct); msg != "" {
		s.mu.Unlock()
		writeJSON(w, http.StatusUnprocessableEntity, chatwoot.ErrorBody{Message: msg, Attributes: attrs})
		return
	}
	s.ids.contact++
	ct.ID = s.ids.contact
	s.contacts[ct.ID] = ct
	answer := struct {
		Payload struct {
			Contact      chatwoot.RESTContact `json:"contact"`
			ContactInbox struct {
				Inbox    map[string]any `json:"inbox"`
				SourceID *string        `json:"source_id"`
			} `json:"contact_inbox"`
		} `json:"payload"`
	}{}
	if in != nil {
		source, _ := scalarString(c.params["source_id"])
		ci := s.contactInboxLocked(ct.ID, in.ID, deref(source), now)
		answer.Payload.ContactInbox.Inbox, answer.Payload.ContactInbox.SourceID = s.inboxRowLocked(in), &ci.sourceID
	}
	answer.Payload.Contact = s.restContactLocked(ct, true)
	evs := []*EventRecord{s.fireContactLocked(ct, chatwoot.EventContactCreated, chatwoot.ChangedAttributes{})}
	s.mu.Unlock()

	s.log.Info("contact created", "account_id", c.account.id, "contact_id", ct.ID)
	writeJSON(w, http.StatusOK, answer)
	s.deliverFired(evs)
}

// handleUpdateContact is ContactsController#update: the given fields are
// set, additional_attributes and custom_attributes merged into the stored
// hashes; contact_updated fires only when something changed.
func (s *Server) handleUpdateContact(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, members)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	now := time.Now().UTC().Truncate(time.Microsecond)
	s.mu.Lock()
	ct := s.contacts[id]
	if err != nil || ct == nil || ct.AccountID != c.account.id {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return
	}
	draft := *ct
	draft.AdditionalAttributes, draft.CustomAttributes = cloneMap(ct.AdditionalAttributes), cloneMap(ct.CustomAttributes)
	applyContactParams(&draft, c.params)
	draft.prepare()
	if msg, attrs := s.validateContactLocked(&draft); msg != "" {
		s.mu.Unlock()
		writeJSON(w, http.StatusUnprocessableEntity, chatwoot.ErrorBody{Message: msg, Attributes: attrs})
		return
	}
	changes := saveContact(ct, now, func() { *ct = draft })
	var evs []*EventRecord
	if changes != nil {
		evs = append(evs, s.fireContactLocked(ct, chatwoot.EventContactUpdated, chatwoot.Changes(changes...)))
	}
	answer := map[string]any{"payload": s.restContactLocked(ct, r.URL.Query().Get("include_contact_inboxes") != "false")}
	s.mu.Unlock()

	s.log.Info("contact updated", "account_id", c.account.id, "contact_id", ct.ID, "changed", len(changes))
	writeJSON(w, http.StatusOK, answer)
	s.deliverFired(evs)
}

// applyContactParams sets the permitted params: scalars replace, the two
// hashes merge.
func applyContactParams(ct *contact, p map[string]any) {
	str := func(key string, into *string) {
		if raw, present := p[key]; present {
			if v, ok := scalarString(raw); ok {
				*into = strings.TrimSpace(deref(v))
			}
		}
	}
	str("name", &ct.Name)
	str("email", &ct.Email)
	ct.Email = strings.ToLower(ct.Email)
	str("phone_number", &ct.PhoneNumber)
	str("identifier", &ct.Identifier)
	if raw, present := p["blocked"]; present {
		ct.Blocked = castBool(raw)
	}
	for key, into := range map[string]*map[string]any{"additional_attributes": &ct.AdditionalAttributes, "custom_attributes": &ct.CustomAttributes} {
		if m, ok := p[key].(map[string]any); ok {
			merged := cloneMap(*into)
			for k, v := range m {
				merged[k] = v
			}
			*into = merged
		}
	}
}

// validateContactLocked applies Contact's validations in the model's order;
// msg is the 422 message, attrs the attributes it names.
func (s *Server) validateContactLocked(ct *contact) (msg string, attrs []string) {
	var msgs []string
	add := func(attr, text string) {
		msgs = append(msgs, text)
		for _, a := range attrs {
			if a == attr {
				return
			}
		}
		attrs = append(attrs, attr)
	}
	taken := func(same func(*contact) bool) bool {
		for _, other := range s.contacts {
			if other.ID != ct.ID && other.AccountID == ct.AccountID && same(other) {
				return true
			}
		}
		return false
	}
	if ct.Email != "" {
		if taken(func(o *contact) bool { return strings.EqualFold(o.Email, ct.Email) }) {
			add("email", "Email has already been taken")
		}
		if !emailFormat.MatchString(ct.Email) {
			add("email", "Email Invalid email")
		}
	}
	if ct.Identifier != "" && taken(func(o *contact) bool { return o.Identifier == ct.Identifier }) {
		add("identifier", "Identifier has already been taken")
	}
	if ct.PhoneNumber != "" {
		if taken(func(o *contact) bool { return o.PhoneNumber == ct.PhoneNumber }) {
			add("phone_number", "Phone number has already been taken")
		}
		if !e164Format.MatchString(ct.PhoneNumber) {
			add("phone_number", "Phone number should be in e164 format")
		}
	}
	if n := utf8.RuneCountInString(ct.Name); n > 255 {
		add("name", fmt.Sprintf("Name is too long (maximum is %d characters)", 255))
	}
	return strings.Join(msgs, ", "), attrs
}

// restContactLocked is the contacts API's contact partial.
func (s *Server) restContactLocked(ct *contact, withInboxes bool) chatwoot.RESTContact {
	out := chatwoot.RESTContact{
		AdditionalAttributes: cloneMap(ct.AdditionalAttributes),
		AvailabilityStatus:   "offline",
		Email:                optional(ct.Email),
		ID:                   ct.ID,
		Name:                 ct.Name,
		PhoneNumber:          optional(ct.PhoneNumber),
		Blocked:              ct.Blocked,
		Identifier:           optional(ct.Identifier),
		CustomAttributes:     cloneMap(ct.CustomAttributes),
		CreatedAt:            ct.createdAt.Unix(),
	}
	if !ct.lastActivityAt.IsZero() {
		out.LastActivityAt = ptr(ct.lastActivityAt.Unix())
	}
	if withInboxes {
		out.ContactInboxes = []chatwoot.RESTContactInbox{}
		for _, ci := range s.contactInbox {
			if ci.contactID == ct.ID {
				in := s.inboxes[ci.inboxID]
				out.ContactInboxes = append(out.ContactInboxes, chatwoot.RESTContactInbox{
					SourceID: ci.sourceID,
					Inbox:    chatwoot.RESTInbox{ID: in.ID, ChannelID: in.channelID, Name: in.Name, ChannelType: in.ChannelType},
				})
			}
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
