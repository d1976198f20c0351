package chatwoot

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Message types that fire webhooks (activity messages do not).
const (
	MessageTypeIncoming = "incoming"
	MessageTypeOutgoing = "outgoing"
	MessageTypeTemplate = "template"
)

// Content types upstream's Message model allows.
const (
	ContentTypeText          = "text"
	ContentTypeInputText     = "input_text"
	ContentTypeInputTextarea = "input_textarea"
	ContentTypeInputEmail    = "input_email"
	ContentTypeInputSelect   = "input_select"
	ContentTypeCards         = "cards"
	ContentTypeForm          = "form"
	ContentTypeArticle       = "article"
	ContentTypeIncomingEmail = "incoming_email"
	ContentTypeInputCSAT     = "input_csat"
	ContentTypeIntegrations  = "integrations"
	ContentTypeSticker       = "sticker"
	ContentTypeVoiceCall     = "voice_call"
)

// ContentTypes lists every content_type upstream accepts.
var ContentTypes = []string{
	ContentTypeText, ContentTypeInputText, ContentTypeInputTextarea, ContentTypeInputEmail,
	ContentTypeInputSelect, ContentTypeCards, ContentTypeForm, ContentTypeArticle,
	ContentTypeIncomingEmail, ContentTypeInputCSAT, ContentTypeIntegrations, ContentTypeSticker,
	ContentTypeVoiceCall,
}

// ContentAttributes holds the items of a rich message and the values a
// contact submitted. Which fields of ContentItem apply depends on the
// content_type: input_select uses Title/Value; form uses Type, Placeholder,
// Name, Label (and the others of FormField); cards uses MediaURL, Title,
// Description, Actions; article uses Title, Description, Link.
type ContentAttributes struct {
	Items           []ContentItem    `json:"items,omitempty"`
	SubmittedValues []SubmittedValue `json:"submitted_values,omitempty"`
	InReplyTo       *int64           `json:"in_reply_to,omitempty"`
}

// ContentItem is one option, form field, card or article.
type ContentItem struct {
	Title       string        `json:"title,omitempty"`
	Value       string        `json:"value,omitempty"`
	Type        string        `json:"type,omitempty"`
	Placeholder string        `json:"placeholder,omitempty"`
	Name        string        `json:"name,omitempty"`
	Label       string        `json:"label,omitempty"`
	Required    *bool         `json:"required,omitempty"`
	Default     string        `json:"default,omitempty"`
	Pattern     string        `json:"pattern,omitempty"`
	Options     []ContentItem `json:"options,omitempty"`
	MediaURL    string        `json:"media_url,omitempty"`
	Description string        `json:"description,omitempty"`
	Actions     []CardAction  `json:"actions,omitempty"`
	Link        string        `json:"link,omitempty"`
}

// CardAction is a button on a card: a link (URI) or a postback (Payload).
type CardAction struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	URI     string `json:"uri,omitempty"`
	Payload string `json:"payload,omitempty"`
}

// SubmittedValue is a contact's answer: Title/Value for input_select,
// Name/Value for form.
type SubmittedValue struct {
	Title string `json:"title,omitempty"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
}

// Item keys upstream's ContentAttributeValidator allows per content_type.
var allowedItemKeys = map[string][]string{
	ContentTypeInputSelect: {"title", "value"},
	ContentTypeCards:       {"title", "description", "media_url", "actions"},
	ContentTypeForm:        {"type", "placeholder", "label", "name", "options", "default", "required", "pattern", "title", "pattern_error"},
	ContentTypeArticle:     {"title", "description", "link"},
}

var allowedActionKeys = []string{"text", "type", "payload", "uri"}

// ValidateContent checks content_type and content_attributes (raw JSON, may
// be empty) the way upstream's Message model does, and returns its messages.
func ValidateContent(contentType string, rawAttrs json.RawMessage) []string {
	if contentType == "" {
		contentType = ContentTypeText
	}
	if !slices.Contains(ContentTypes, contentType) {
		return []string{fmt.Sprintf("'%s' is not a valid content_type", contentType)}
	}
	keys, rich := allowedItemKeys[contentType]
	if !rich {
		return nil
	}
	var attrs struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	if len(rawAttrs) > 0 && json.Unmarshal(rawAttrs, &attrs) != nil {
		return []string{"Content attributes Items should be a hash."}
	}
	if len(attrs.Items) == 0 {
		return []string{"Content attributes At least one item is required."}
	}
	var errs []string
	if bad := unknownKeys(attrs.Items, keys); len(bad) > 0 {
		errs = append(errs, fmt.Sprintf("Content attributes contains invalid keys for items : %s", rubyList(bad)))
	}
	if contentType == ContentTypeCards {
		var actions []map[string]json.RawMessage
		for _, item := range attrs.Items {
			var a []map[string]json.RawMessage
			if json.Unmarshal(item["actions"], &a) != nil || len(a) == 0 {
				return append(errs, "Content attributes contains items missing actions")
			}
			actions = append(actions, a...)
		}
		if bad := unknownKeys(actions, allowedActionKeys); len(bad) > 0 {
			errs = append(errs, fmt.Sprintf("Content attributes contains invalid keys for actions:  %s", rubyList(bad)))
		}
	}
	return errs
}

func unknownKeys(items []map[string]json.RawMessage, allowed []string) []string {
	var bad []string
	for _, item := range items {
		for k := range item {
			if !slices.Contains(allowed, k) && !slices.Contains(bad, k) {
				bad = append(bad, k)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// rubyList formats symbols the way Ruby prints an array of them: [:a, :b].
func rubyList(keys []string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = ":" + k
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
