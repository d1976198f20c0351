package mockapi

import (
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// webhookKeys are the params upstream's controller permits.
var webhookKeys = []string{"url", "subscriptions", "name", "inbox_id"}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, administrators)
	if !ok {
		return
	}
	s.mu.Lock()
	var list []*webhook
	for _, wh := range s.webhooks {
		if wh.accountID == c.account.id {
			list = append(list, wh)
		}
	}
	slices.SortFunc(list, func(a, b *webhook) int { return cmp.Compare(a.id, b.id) })
	var resp chatwoot.WebhookListResponse
	resp.Payload.Webhooks = make([]chatwoot.Webhook, 0, len(list))
	for _, wh := range list {
		resp.Payload.Webhooks = append(resp.Payload.Webhooks, s.renderWebhook(wh))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, administrators)
	if !ok {
		return
	}
	in, ok := webhookParams(c.params, c.jsonBody)
	if !ok {
		if !c.jsonBody {
			hint(w, formNotWrapped)
		}
		writeError(w, http.StatusUnprocessableEntity, chatwoot.MsgParamMissing)
		return
	}
	wh := &webhook{accountID: c.account.id}
	applyWebhookParams(wh, in)
	if wh.subscriptions == nil {
		// The column's default, used when the body has no (or a null) list.
		for _, ev := range chatwoot.DefaultSubscriptions {
			wh.subscriptions = append(wh.subscriptions, ev)
		}
	}
	s.mu.Lock()
	if invalid := s.validateWebhookLocked(wh); invalid != nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusUnprocessableEntity, invalid)
		return
	}
	wh.id = s.nextWebhookID
	s.nextWebhookID++
	wh.secret = randomToken(24)
	s.webhooks[wh.id] = wh
	var resp chatwoot.WebhookResponse
	resp.Payload.Webhook = s.renderWebhook(wh)
	s.mu.Unlock()
	s.log.Info("webhook created", "account_id", wh.accountID, "webhook_id", wh.id)
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, administrators)
	if !ok {
		return
	}
	status, body := s.updateWebhook(c, r.PathValue("id"))
	writeJSON(w, status, body)
}

// updateWebhook runs upstream's update in its order: find (404), params
// (422), validations (422).
func (s *Server) updateWebhook(c *call, rawID string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.findWebhookLocked(c.account.id, rawID)
	if cur == nil {
		return http.StatusNotFound, chatwoot.ErrorBody{Error: chatwoot.MsgNotFound}
	}
	in, ok := webhookParams(c.params, c.jsonBody)
	if !ok {
		return http.StatusUnprocessableEntity, chatwoot.ErrorBody{Error: chatwoot.MsgParamMissing}
	}
	next := *cur
	applyWebhookParams(&next, in)
	if invalid := s.validateWebhookLocked(&next); invalid != nil {
		return http.StatusUnprocessableEntity, invalid
	}
	*cur = next // the secret is never changed by an update
	var resp chatwoot.WebhookResponse
	resp.Payload.Webhook = s.renderWebhook(cur)
	s.log.Info("webhook updated", "account_id", cur.accountID, "webhook_id", cur.id)
	return http.StatusOK, resp
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	c, ok := s.accountCall(w, r, administrators)
	if !ok {
		return
	}
	s.mu.Lock()
	cur := s.findWebhookLocked(c.account.id, r.PathValue("id"))
	if cur != nil {
		delete(s.webhooks, cur.id)
	}
	s.mu.Unlock()
	if cur == nil {
		writeError(w, http.StatusNotFound, chatwoot.MsgNotFound)
		return
	}
	s.log.Info("webhook deleted", "account_id", cur.accountID, "webhook_id", cur.id)
	// head :ok — 200 with an empty body.
	w.WriteHeader(http.StatusOK)
}

// Webhooks returns the webhooks of an account as the list route renders
// them, for tests that inspect the mock's state directly.
func (s *Server) Webhooks(accountID int64) []chatwoot.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []chatwoot.Webhook{}
	for _, wh := range s.webhooks {
		if wh.accountID == accountID {
			out = append(out, s.renderWebhook(wh))
		}
	}
	slices.SortFunc(out, func(a, b chatwoot.Webhook) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (s *Server) findWebhookLocked(accountID int64, rawID string) *webhook {
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil {
		return nil
	}
	wh := s.webhooks[id]
	if wh == nil || wh.accountID != accountID {
		return nil // another account's webhook is not found, as upstream scopes the find
	}
	return wh
}

const formNotWrapped = "Rails wraps only JSON bodies under webhook; a form or multipart body needs webhook[url]=..., webhook[subscriptions][]=..."

// webhookAttributes are the Webhook model's columns: Rails'
// wrap_parameters moves these top-level keys of a JSON body (only JSON:
// its format is [:json]) under "webhook", unless the body has that key.
var webhookAttributes = []string{"id", "account_id", "inbox_id", "url", "created_at", "updated_at", "webhook_type", "subscriptions", "name", "secret"}

// webhookParams is params.require(:webhook).permit(...): the wrapped (or
// given) "webhook" object must be present and non-empty, else false for
// the param-missing 422; then only the permitted keys are kept, so
// {"webhook":{"foo":1}} passes require and permits nothing (create: "Url is
// invalid"; update: 200, unchanged).
func webhookParams(params map[string]any, wrap bool) (map[string]any, bool) {
	src, present := params["webhook"]
	if !present && wrap {
		wrapped := map[string]any{}
		for _, k := range webhookAttributes {
			if v, ok := params[k]; ok {
				wrapped[k] = v
			}
		}
		src = wrapped
	}
	obj, isObj := src.(map[string]any)
	if !isObj || len(obj) == 0 {
		return nil, false
	}
	in := map[string]any{}
	for _, k := range webhookKeys {
		if v, ok := obj[k]; ok {
			in[k] = v
		}
	}
	return in, true
}

// applyWebhookParams assigns the permitted values the way strong parameters
// filter them: scalars for url/name/inbox_id, an array of scalars for
// subscriptions; values of other shapes are dropped, as Rails drops them.
func applyWebhookParams(wh *webhook, in map[string]any) {
	for key, v := range in {
		switch key {
		case "url":
			if s, ok := scalarString(v); ok {
				wh.url = s
			}
		case "name":
			if s, ok := scalarString(v); ok {
				wh.name = s
			}
		case "inbox_id":
			if isScalar(v) {
				wh.inboxID = castInteger(v)
			}
		case "subscriptions":
			if arr, ok := v.([]any); ok && !slices.ContainsFunc(arr, func(e any) bool { return !isScalar(e) }) {
				wh.subscriptions = append([]any{}, arr...)
			}
		}
	}
}

// validateWebhookLocked runs upstream's Webhook validations in their order
// and returns the 422 body, or nil when valid.
func (s *Server) validateWebhookLocked(wh *webhook) *chatwoot.ErrorBody {
	var body chatwoot.ErrorBody
	var msgs []string
	if wh.url != nil {
		for _, other := range s.webhooks {
			if other.id != wh.id && other.accountID == wh.accountID && other.url != nil && *other.url == *wh.url {
				msgs = append(msgs, chatwoot.MsgURLTaken)
				break
			}
		}
	}
	if wh.url == nil || !chatwoot.UpstreamURLFormat(*wh.url) {
		msgs = append(msgs, chatwoot.MsgURLInvalid)
	}
	if len(msgs) > 0 {
		body.Attributes = append(body.Attributes, "url")
	}
	if !validSubscriptions(wh.subscriptions) {
		msgs = append(msgs, chatwoot.MsgSubscriptionsBad)
		body.Attributes = append(body.Attributes, "subscriptions")
	}
	if len(msgs) == 0 {
		return nil
	}
	body.Message = strings.Join(msgs, ", ")
	return &body
}

func validSubscriptions(subs []any) bool {
	if len(subs) == 0 {
		return false
	}
	for _, e := range subs {
		ev, ok := e.(string)
		if !ok || !chatwoot.IsAllowedEvent(ev) {
			return false
		}
	}
	return true
}

// renderWebhook is upstream's webhook partial. s.mu must be held.
func (s *Server) renderWebhook(wh *webhook) chatwoot.Webhook {
	out := chatwoot.Webhook{ID: wh.id, AccountID: wh.accountID, Secret: wh.secret, Subscriptions: []string{}}
	if wh.url != nil {
		out.URL = *wh.url
	}
	if wh.name != nil {
		out.Name, out.NameSet = *wh.name, true
	}
	for _, e := range wh.subscriptions {
		out.Subscriptions = append(out.Subscriptions, e.(string)) // validated
	}
	// belongs_to :inbox is looked up by id alone, like upstream: an unknown
	// id renders no inbox.
	if wh.inboxID != nil {
		if in := s.inboxes[*wh.inboxID]; in != nil {
			out.Inbox = &chatwoot.Inbox{ID: in.ID, Name: in.Name}
		}
	}
	return out
}

// --- strong-parameter style casts ---

func isScalar(v any) bool {
	switch v.(type) {
	case nil, string, json.Number, bool:
		return true
	}
	return false
}

// scalarString casts a permitted scalar to a string column value; nil is
// SQL NULL. ok is false for arrays and objects, which strong parameters drop.
func scalarString(v any) (*string, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return &x, true
	case json.Number:
		s := x.String()
		return &s, true
	case bool:
		s := strconv.FormatBool(x)
		return &s, true
	}
	return nil, false
}

// castInteger casts like ActiveModel's integer type: numbers and numeric
// strings become integers (truncated), anything else NULL.
func castInteger(v any) *int64 {
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = strings.TrimSpace(x)
	default:
		return nil
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return &n
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) < 1<<62 {
		n := int64(f)
		return &n
	}
	return nil
}
