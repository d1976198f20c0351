package emit

import (
	"fmt"
	"strings"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Payload builds a sample of any of upstream's 12 events, in its v4.15.1
// shape: message events from Event(o), the others around the same sample
// account, contact and conversation.
func Payload(event string, o Options) (any, error) {
	if !chatwoot.IsAllowedEvent(event) {
		return nil, fmt.Errorf("event %q is not one of Chatwoot's: %s", event, strings.Join(chatwoot.AllowedEvents, ", "))
	}
	switch event {
	case chatwoot.EventMessageCreated, chatwoot.EventMessageUpdated:
		ev, err := Event(o)
		ev.Event = event
		return ev, err
	}
	if o.AccountID <= 0 {
		return nil, fmt.Errorf("account id is %d; pass --account with the account's id (1 in the mock)", o.AccountID)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ConversationID == 0 {
		o.ConversationID = 1
	}
	if o.AccountName == "" {
		o.AccountName = "Acme Inc"
	}
	now := o.Now.UTC().Truncate(time.Millisecond)
	account := chatwoot.Account{ID: o.AccountID, Name: o.AccountName}
	conv := sampleConversation(account, o.ConversationID, now)
	before := chatwoot.NewRailsTime(now.Add(-time.Minute))
	switch event {
	case chatwoot.EventConversationCreated:
		return chatwoot.ConversationEvent{Conversation: conv, Event: event}, nil
	case chatwoot.EventConversationStatusChanged:
		conv.Status = "resolved"
		return chatwoot.ConversationEvent{Conversation: conv, Event: event, ChangedAttributes: chatwoot.NullChanges()}, nil
	case chatwoot.EventConversationUpdated:
		conv.Status = "resolved"
		return chatwoot.ConversationEvent{Conversation: conv, Event: event, ChangedAttributes: chatwoot.Changes(
			chatwoot.AttributeChange{Name: "status", Previous: "open", Current: "resolved"},
			chatwoot.AttributeChange{Name: "updated_at", Previous: before, Current: chatwoot.NewRailsTime(now)},
		)}, nil
	case chatwoot.EventContactCreated:
		return chatwoot.ContactEvent{Contact: *sampleContact(account), Event: event}, nil
	case chatwoot.EventContactUpdated:
		return chatwoot.ContactEvent{Contact: *sampleContact(account), Event: event, ChangedAttributes: chatwoot.Changes(
			chatwoot.AttributeChange{Name: "updated_at", Previous: before, Current: chatwoot.NewRailsTime(now)},
			chatwoot.AttributeChange{Name: "last_activity_at", Previous: nil, Current: chatwoot.NewRailsTime(now)},
		)}, nil
	case chatwoot.EventConversationTypingOn, chatwoot.EventConversationTypingOff:
		return chatwoot.TypingEvent{Event: event, User: chatwoot.Sender{User: sampleAgent()}, Conversation: conv, IsPrivate: o.Private}, nil
	case chatwoot.EventWebwidgetTriggered:
		return chatwoot.WebwidgetEvent{
			ID: conv.ContactInbox.ID, Contact: sampleContact(account), Inbox: chatwoot.Inbox{ID: 1, Name: "Website"},
			Account: account, CurrentConversation: &conv, SourceID: conv.ContactInbox.SourceID, Event: event,
			EventInfo: chatwoot.EventInfo{
				InitiatedAt: map[string]any{"timestamp": now.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)")},
				Referer:     str("https://shop.example/checkout"), BrowserLanguage: str("en"),
				Browser: chatwoot.Browser{BrowserName: "Chrome", BrowserVersion: "126.0.0.0", DeviceName: "Unknown", PlatformName: "macOS", PlatformVersion: "10.15.7"},
			},
		}, nil
	}
	return sampleInboxEvent(account, event, now, before), nil
}

// sampleInboxEvent is inbox_created/updated of an API inbox, channel row
// (secrets included, as upstream sends them) and the 7 default working hours.
func sampleInboxEvent(account chatwoot.Account, event string, now time.Time, before *chatwoot.RailsTime) chatwoot.InboxEvent {
	at := chatwoot.RailsTime{Time: now.Add(-time.Hour)}
	ev := chatwoot.InboxEvent{
		AllowMessagesAfterResolved: true, AutoAssignmentConfig: map[string]any{}, EnableAutoAssignment: true,
		EnableEmailCollect: true, SenderNameType: "friendly", Timezone: "UTC",
		CreatedAt: at, UpdatedAt: at,
		Channel: []byte(`{"id":2,"account_id":` + fmt.Sprint(account.ID) + `,"webhook_url":null,"created_at":"` + at.Format(chatwoot.RailsTimeFormat) +
			`","updated_at":"` + at.Format(chatwoot.RailsTimeFormat) + `","identifier":"kT3mQ9xR2vL8nB5cW7yZ1aD4","hmac_token":"pW4sD7fG1hJ6kL0zX2cV5bN8","hmac_mandatory":false,"additional_attributes":{},"secret":"Zx8Cv6Bn4Mq2Wr0Te7Yu3Io1"}`),
		Account: account, Event: event,
	}
	for day := range 7 {
		wh := chatwoot.WorkingHours{ID: int64(day + 1), InboxID: 2, AccountID: account.ID, DayOfWeek: day, CreatedAt: at, UpdatedAt: at}
		if day == 0 || day == 6 {
			wh.ClosedAllDay = true
		} else {
			nine, zero, five := 9, 0, 17
			wh.OpenHour, wh.OpenMinutes, wh.CloseHour, wh.CloseMinutes = &nine, &zero, &five, &zero
		}
		ev.WorkingHours = append(ev.WorkingHours, wh)
	}
	if event == chatwoot.EventInboxUpdated {
		ev.UpdatedAt = chatwoot.RailsTime{Time: now}
		ev.ChangedAttributes = chatwoot.Changes(
			chatwoot.AttributeChange{Name: "name", Previous: "API", Current: "Support API"},
			chatwoot.AttributeChange{Name: "updated_at", Previous: before, Current: chatwoot.NewRailsTime(now)},
		)
	}
	return ev
}
