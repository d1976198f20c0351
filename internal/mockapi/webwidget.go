package mockapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// WebwidgetTrigger is the body of POST /_mock/webwidget_triggered, which
// stands for the widget's POST /api/v1/widget/events (name
// "webwidget.triggered", sent when a visitor opens the chat bubble):
// the contact opening the widget of a web widget inbox and the event_info
// the widget sends. Locale is the widget's locale query param; the
// request's Accept-Language and User-Agent fill browser_language and
// browser, as upstream's server does.
type WebwidgetTrigger struct {
	InboxID   int64          `json:"inbox_id"`
	ContactID int64          `json:"contact_id"`
	Locale    *string        `json:"locale,omitempty"`
	EventInfo map[string]any `json:"event_info,omitempty"` // initiated_at, referer
}

// handleWebwidgetTriggered fires webwidget_triggered for the contact's
// contact_inbox (made when missing) and answers 204 like the widget route.
func (s *Server) handleWebwidgetTriggered(w http.ResponseWriter, r *http.Request) {
	var t WebwidgetTrigger
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		writeError(w, http.StatusBadRequest, "webwidget_triggered: "+err.Error()+`; POST {"inbox_id":1,"contact_id":1,"event_info":{"referer":"https://shop.example/"}}`)
		return
	}
	s.mu.Lock()
	in, ct := s.inboxes[t.InboxID], s.contacts[t.ContactID]
	switch {
	case in == nil || in.ChannelType != channelWebWidget:
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "webwidget_triggered: inbox_id must be a Channel::WebWidget inbox")
		return
	case ct == nil || ct.AccountID != in.AccountID:
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "webwidget_triggered: contact_id must be a contact of the inbox's account")
		return
	}
	ci := s.contactInboxLocked(ct.ID, in.ID, "", time.Now().UTC().Truncate(time.Millisecond))
	acc := s.accounts[in.AccountID]
	ev := chatwoot.WebwidgetEvent{
		ID: ci.id, Contact: s.contactWebhook(ct), Inbox: chatwoot.Inbox{ID: in.ID, Name: in.Name},
		Account: chatwoot.Account{ID: acc.id, Name: acc.name}, SourceID: ci.sourceID,
		Event: chatwoot.EventWebwidgetTriggered,
		EventInfo: chatwoot.EventInfo{
			WidgetLanguage: t.Locale, BrowserLanguage: browserLanguage(r.Header.Get("Accept-Language")),
			Browser: parseBrowser(r.UserAgent()),
		},
	}
	if v, ok := t.EventInfo["initiated_at"].(map[string]any); ok {
		ev.EventInfo.InitiatedAt = v
	}
	if v, ok := t.EventInfo["referer"].(string); ok {
		ev.EventInfo.Referer = &v
	}
	var latest *conversation
	for _, conv := range s.conversations {
		if conv.ci == ci && (latest == nil || conv.createdAt.After(latest.createdAt) ||
			conv.createdAt.Equal(latest.createdAt) && conv.seed.DisplayID > latest.seed.DisplayID) {
			latest = conv
		}
	}
	if latest != nil {
		cw := s.conversationLocked(latest)
		ev.CurrentConversation = &cw
	}
	fired := s.fireLocked(in.AccountID, in.ID, chatwoot.EventWebwidgetTriggered, ev)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	s.deliverFired([]*EventRecord{fired})
}

// browserLanguage is the primary tag of the first Accept-Language entry.
func browserLanguage(h string) *string {
	first, _, _ := strings.Cut(h, ",")
	first, _, _ = strings.Cut(strings.TrimSpace(first), ";")
	lang, _, _ := strings.Cut(first, "-")
	if lang == "" || lang == "*" {
		return nil
	}
	return &lang
}

var (
	uaBrowsers = []struct {
		name string
		re   *regexp.Regexp
	}{
		{"Microsoft Edge", regexp.MustCompile(`Edg/([\d.]+)`)},
		{"Firefox", regexp.MustCompile(`Firefox/([\d.]+)`)},
		{"Chrome", regexp.MustCompile(`Chrome/([\d.]+)`)},
		{"Safari", regexp.MustCompile(`Version/([\d.]+).*Safari/`)},
	}
	uaMac     = regexp.MustCompile(`Mac OS X ([\d_]+)`)
	uaWindows = regexp.MustCompile(`Windows NT ([\d.]+)`)
	uaIOS     = regexp.MustCompile(`(?:iPhone|CPU) OS ([\d_]+)`)
	uaAndroid = regexp.MustCompile(`Android ([\d.]+)`)
)

// parseBrowser reads a User-Agent roughly as upstream's browser gem does.
func parseBrowser(ua string) chatwoot.Browser {
	b := chatwoot.Browser{BrowserName: "Unknown Browser", BrowserVersion: "0", DeviceName: "Unknown", PlatformName: "Unknown", PlatformVersion: "0"}
	for _, br := range uaBrowsers {
		if m := br.re.FindStringSubmatch(ua); m != nil {
			b.BrowserName, b.BrowserVersion = br.name, m[1]
			break
		}
	}
	dots := func(v string) string { return strings.ReplaceAll(v, "_", ".") }
	switch {
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		b.PlatformName, b.DeviceName = "iOS", "iPhone"
		if strings.Contains(ua, "iPad") {
			b.DeviceName = "iPad"
		}
		if m := uaIOS.FindStringSubmatch(ua); m != nil {
			b.PlatformVersion = dots(m[1])
		}
	case uaMac.MatchString(ua):
		b.PlatformName, b.PlatformVersion = "macOS", dots(uaMac.FindStringSubmatch(ua)[1])
	case uaWindows.MatchString(ua):
		b.PlatformName, b.PlatformVersion = "Windows", uaWindows.FindStringSubmatch(ua)[1]
	case uaAndroid.MatchString(ua):
		b.PlatformName, b.PlatformVersion = "Android", uaAndroid.FindStringSubmatch(ua)[1]
	case strings.Contains(ua, "Linux"):
		b.PlatformName = "Linux"
	}
	return b
}
