package mockapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// inbox is an inbox with its channel row and the settings the inboxes API
// changes.
type inbox struct {
	SeedInbox
	members              map[int64]bool // nil: every agent of the account
	channelID            int64
	createdAt, updatedAt time.Time
	settings             inboxSettings
	channel              channelRow
	workingHours         []chatwoot.WorkingHours
}

// inboxSettings are the inbox columns the API sets, with JSON names of the
// params and of changed_attributes.
type inboxSettings struct {
	EnableAutoAssignment       bool    `json:"enable_auto_assignment"`
	GreetingEnabled            bool    `json:"greeting_enabled"`
	GreetingMessage            *string `json:"greeting_message"`
	WorkingHoursEnabled        bool    `json:"working_hours_enabled"`
	OutOfOfficeMessage         *string `json:"out_of_office_message"`
	Timezone                   string  `json:"timezone"`
	EnableEmailCollect         bool    `json:"enable_email_collect"`
	CSATSurveyEnabled          bool    `json:"csat_survey_enabled"`
	AllowMessagesAfterResolved bool    `json:"allow_messages_after_resolved"`
	LockToSingleConversation   bool    `json:"lock_to_single_conversation"`
	SenderNameType             string  `json:"sender_name_type"`
	BusinessName               *string `json:"business_name"`
}

// channelRow is the channel of an API or web widget inbox.
type channelRow struct {
	webhookURL, websiteURL        *string
	identifier, hmacToken, secret string // API
	websiteToken, widgetColor     string // web widget
	welcomeTitle, welcomeTagline  *string
	createdAt, updatedAt          time.Time
}

// inboxColumns are the inbox columns the API changes, in the table's order.
var inboxColumns = []string{
	"name", "updated_at", "enable_auto_assignment", "greeting_enabled", "greeting_message",
	"working_hours_enabled", "out_of_office_message", "timezone", "enable_email_collect",
	"csat_survey_enabled", "allow_messages_after_resolved", "lock_to_single_conversation",
	"sender_name_type", "business_name",
}

func defaultInboxSettings() inboxSettings {
	return inboxSettings{
		EnableAutoAssignment: true, EnableEmailCollect: true, AllowMessagesAfterResolved: true,
		Timezone: "UTC", SenderNameType: "friendly",
	}
}

// newInbox makes an inbox with upstream's defaults: a channel row with
// fresh tokens and the seven default working_hours rows.
func newInbox(seed SeedInbox, now time.Time) *inbox {
	in := &inbox{SeedInbox: seed, channelID: seed.ID, createdAt: now, updatedAt: now, settings: defaultInboxSettings()}
	if seed.Members != nil {
		in.members = map[int64]bool{}
		for _, id := range seed.Members {
			in.members[id] = true
		}
	}
	in.channel = channelRow{
		identifier: randomToken(24), hmacToken: randomToken(24), secret: randomToken(24),
		websiteToken: randomToken(24), widgetColor: "#1f93ff", createdAt: now, updatedAt: now,
	}
	if seed.WebhookURL != "" {
		in.channel.webhookURL = ptr(seed.WebhookURL)
	}
	for day := range 7 {
		wh := chatwoot.WorkingHours{
			ID: seed.ID*7 + int64(day) - 6, InboxID: seed.ID, AccountID: seed.AccountID, DayOfWeek: day,
			CreatedAt: chatwoot.RailsTime{Time: now}, UpdatedAt: chatwoot.RailsTime{Time: now},
		}
		if day == 0 || day == 6 {
			wh.ClosedAllDay = true
		} else {
			wh.OpenHour, wh.OpenMinutes, wh.CloseHour, wh.CloseMinutes = ptr(9), ptr(0), ptr(17), ptr(0)
		}
		in.workingHours = append(in.workingHours, wh)
	}
	return in
}

func (in *inbox) columns() map[string]any {
	out := map[string]any{"name": in.Name, "updated_at": chatwoot.NewRailsTime(in.updatedAt)}
	b, _ := json.Marshal(in.settings)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// channelTypes maps the channel.type param to upstream's class; the mock
// makes API and web widget inboxes.
var channelTypes = map[string]string{"api": channelAPI, "web_widget": channelWebWidget}

// handleCreateInbox is InboxesController#create (administrators): name and
// channel {type: api|web_widget, ...} plus settings; inbox_created fires
// when the server runs with InboxEvents (upstream's ENABLE_INBOX_EVENTS).
func (s *Server) handleCreateInbox(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, administrators)
	if !ok {
		return
	}
	ch, _ := c.params["channel"].(map[string]any)
	kind, _ := ch["type"].(string)
	class, known := channelTypes[kind]
	if !known {
		hint(w, fmt.Sprintf("channel.type %q: the mock makes \"api\" and \"web_widget\" inboxes", kind))
		writeError(w, http.StatusUnprocessableEntity, "Invalid channel type")
		return
	}
	name, _ := scalarString(c.params["name"])
	if name == nil || *name == "" {
		writeJSON(w, http.StatusUnprocessableEntity, chatwoot.ErrorBody{Message: "Name can't be blank", Attributes: []string{"name"}})
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	s.mu.Lock()
	s.ids.inbox++
	in := newInbox(SeedInbox{ID: s.ids.inbox, AccountID: c.account.id, Name: *name, ChannelType: class}, now)
	s.ids.channel++
	in.channelID = s.ids.channel
	applyChannelParams(&in.channel, ch)
	applyInboxParams(in, c.params)
	s.inboxes[in.ID] = in
	var evs []*EventRecord
	if s.opts.InboxEvents {
		evs = append(evs, s.fireInboxLocked(in, chatwoot.EventInboxCreated, chatwoot.ChangedAttributes{}))
	}
	answer := s.restInboxLocked(in)
	s.mu.Unlock()

	s.log.Info("inbox created", "account_id", c.account.id, "inbox_id", in.ID, "channel_type", class)
	writeJSON(w, http.StatusOK, answer)
	s.deliverFired(evs)
}

// handleUpdateInbox is InboxesController#update (administrators):
// inbox_updated fires, with InboxEvents, when an inbox column changed;
// channel fields alone change another table and fire nothing.
func (s *Server) handleUpdateInbox(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, administrators)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	now := time.Now().UTC().Truncate(time.Microsecond)
	s.mu.Lock()
	in := s.inboxes[id]
	if err != nil || in == nil || in.AccountID != c.account.id {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return
	}
	if ch, ok := c.params["channel"].(map[string]any); ok {
		applyChannelParams(&in.channel, ch)
	}
	changes := saveRow(inboxColumns, in.columns, &in.updatedAt, now, func() { applyInboxParams(in, c.params) })
	var evs []*EventRecord
	if changes != nil && s.opts.InboxEvents {
		evs = append(evs, s.fireInboxLocked(in, chatwoot.EventInboxUpdated, chatwoot.Changes(changes...)))
	}
	answer := s.restInboxLocked(in)
	s.mu.Unlock()

	s.log.Info("inbox updated", "account_id", c.account.id, "inbox_id", in.ID)
	writeJSON(w, http.StatusOK, answer)
	s.deliverFired(evs)
}

func applyInboxParams(in *inbox, p map[string]any) {
	if name, ok := scalarString(p["name"]); ok && name != nil && *name != "" {
		in.Name = *name
	}
	// Permitted settings decode onto the current ones; a wrong type is skipped.
	for _, col := range inboxColumns[2:] {
		raw, present := p[col]
		if !present {
			continue
		}
		b, _ := json.Marshal(map[string]any{col: raw})
		next := in.settings
		if json.Unmarshal(b, &next) == nil {
			in.settings = next
		}
	}
}

func applyChannelParams(ch *channelRow, p map[string]any) {
	for key, into := range map[string]**string{"webhook_url": &ch.webhookURL, "website_url": &ch.websiteURL, "welcome_title": &ch.welcomeTitle, "welcome_tagline": &ch.welcomeTagline} {
		if raw, present := p[key]; present {
			if v, ok := scalarString(raw); ok {
				*into = v
			}
		}
	}
	if v, ok := scalarString(p["widget_color"]); ok && v != nil {
		ch.widgetColor = *v
	}
}

func (s *Server) fireInboxLocked(in *inbox, event string, changes chatwoot.ChangedAttributes) *EventRecord {
	acc := s.accounts[in.AccountID]
	st := in.settings
	return s.fireLocked(in.AccountID, 0, event, chatwoot.InboxEvent{
		AllowMessagesAfterResolved: st.AllowMessagesAfterResolved, LockToSingleConversation: st.LockToSingleConversation,
		AutoAssignmentConfig: map[string]any{}, EnableAutoAssignment: st.EnableAutoAssignment,
		EnableEmailCollect: st.EnableEmailCollect, GreetingEnabled: st.GreetingEnabled, GreetingMessage: st.GreetingMessage,
		CSATSurveyEnabled: st.CSATSurveyEnabled, BusinessName: st.BusinessName, SenderNameType: st.SenderNameType,
		Timezone: st.Timezone, OutOfOfficeMessage: st.OutOfOfficeMessage, WorkingHoursEnabled: st.WorkingHoursEnabled,
		WorkingHours: append([]chatwoot.WorkingHours{}, in.workingHours...),
		CreatedAt:    chatwoot.RailsTime{Time: in.createdAt}, UpdatedAt: chatwoot.RailsTime{Time: in.updatedAt},
		Channel: s.channelJSON(in), Account: chatwoot.Account{ID: acc.id, Name: acc.name},
		Event: event, ChangedAttributes: changes,
	})
}

// channelJSON is the whole channel row, secrets included, as inbox events
// carry it.
func (s *Server) channelJSON(in *inbox) json.RawMessage {
	ch := in.channel
	var v any
	switch in.ChannelType {
	case channelAPI:
		v = chatwoot.APIChannel{
			ID: in.channelID, AccountID: in.AccountID, WebhookURL: ch.webhookURL,
			CreatedAt: chatwoot.RailsTime{Time: ch.createdAt}, UpdatedAt: chatwoot.RailsTime{Time: ch.updatedAt},
			Identifier: ch.identifier, HMACToken: ch.hmacToken, AdditionalAttributes: map[string]any{}, Secret: ch.secret,
		}
	case channelWebWidget:
		v = chatwoot.WebWidgetChannel{
			ID: in.channelID, WebsiteURL: ch.websiteURL, AccountID: in.AccountID,
			CreatedAt: chatwoot.RailsTime{Time: ch.createdAt}, UpdatedAt: chatwoot.RailsTime{Time: ch.updatedAt},
			WebsiteToken: ch.websiteToken, WidgetColor: ch.widgetColor, WelcomeTitle: ch.welcomeTitle, WelcomeTagline: ch.welcomeTagline,
			FeatureFlags: 7, HMACToken: ch.hmacToken, PreChatFormOptions: map[string]any{},
		}
	default:
		v = map[string]any{"id": in.channelID, "account_id": in.AccountID,
			"created_at": chatwoot.RailsTime{Time: ch.createdAt}, "updated_at": chatwoot.RailsTime{Time: ch.updatedAt}}
	}
	b, _ := json.Marshal(v)
	return b
}

// inboxRowLocked is a whole inboxes row, as the contacts API's
// contact_inbox carries it.
func (s *Server) inboxRowLocked(in *inbox) map[string]any {
	out := in.columns()
	out["id"], out["channel_id"], out["account_id"], out["channel_type"] = in.ID, in.channelID, in.AccountID, in.ChannelType
	out["created_at"] = chatwoot.RailsTime{Time: in.createdAt}
	out["auto_assignment_config"] = map[string]any{}
	return out
}

// restInboxLocked is the inboxes API's inbox partial.
func (s *Server) restInboxLocked(in *inbox) map[string]any {
	out := in.columns()
	delete(out, "updated_at")
	out["id"], out["avatar_url"], out["channel_id"], out["channel_type"] = in.ID, "", in.channelID, in.ChannelType
	out["working_hours"] = in.workingHours
	out["auto_assignment_config"] = map[string]any{}
	switch in.ChannelType {
	case channelAPI:
		out["webhook_url"], out["inbox_identifier"], out["hmac_token"], out["secret"] = in.channel.webhookURL, in.channel.identifier, in.channel.hmacToken, in.channel.secret
	case channelWebWidget:
		out["website_url"], out["website_token"], out["widget_color"] = in.channel.websiteURL, in.channel.websiteToken, in.channel.widgetColor
		out["welcome_title"], out["welcome_tagline"], out["hmac_token"] = in.channel.welcomeTitle, in.channel.welcomeTagline, in.channel.hmacToken
	}
	return out
}
