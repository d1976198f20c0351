package mockapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Tokens of the default seed.
const (
	AdminToken = "mock-admin-token" // administrator of accounts 1 and 2
	AgentToken = "mock-agent-token" // agent of account 1 only
	BotToken   = "mock-bot-token"   // agent bot 1 of account 1
)

// Seed is the mock's starting data: accounts, users with their tokens and
// roles, inboxes, contacts, conversations and optionally webhooks. The JSON
// form is what --seed reads; doc.go documents it.
type Seed struct {
	Accounts      []SeedAccount      `json:"accounts"`
	Users         []SeedUser         `json:"users"`
	Inboxes       []SeedInbox        `json:"inboxes,omitempty"`
	Contacts      []SeedContact      `json:"contacts,omitempty"`
	Conversations []SeedConversation `json:"conversations,omitempty"`
	Webhooks      []SeedWebhook      `json:"webhooks,omitempty"`
	AgentBots     []SeedAgentBot     `json:"agent_bots,omitempty"`
}

// SeedAccount is one Chatwoot account.
type SeedAccount struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// OnboardingStep is what the profile shows for the account
	// (accounts[].onboarding_step); omitted, it is null.
	OnboardingStep *string `json:"onboarding_step,omitempty"`
	// Suspended accounts answer 401 "Account is suspended" to every token,
	// before membership is checked, as upstream's.
	Suspended bool `json:"suspended,omitempty"`
}

// SeedAgentBot is an account's agent bot and its access token. Upstream lets
// bot tokens reach only the conversation, message and typing routes; the
// others answer 401 "Access to this endpoint is not authorized for bots".
type SeedAgentBot struct {
	ID          int64  `json:"id"`
	AccountID   int64  `json:"account_id"`
	Name        string `json:"name"`
	AccessToken string `json:"access_token"`
}

// SeedUser is a user and its api_access_token.
type SeedUser struct {
	ID          int64            `json:"id"`
	Name        string           `json:"name"`
	Email       string           `json:"email"`
	AccessToken string           `json:"access_token"`
	Accounts    []SeedMembership `json:"accounts"`
}

// SeedMembership makes a user a member of an account with a role:
// "administrator" or "agent".
type SeedMembership struct {
	AccountID int64  `json:"account_id"`
	Role      string `json:"role"`
}

// SeedInbox is an inbox. ChannelType is upstream's class name, e.g.
// "Channel::WebWidget" or "Channel::Api" (upstream accepts incoming messages
// through the API only in Channel::Api inboxes). Members lists the user ids of
// the agents assigned to it; when omitted every agent of the account is a
// member. Administrators need no membership.
type SeedInbox struct {
	ID          int64   `json:"id"`
	AccountID   int64   `json:"account_id"`
	Name        string  `json:"name"`
	ChannelType string  `json:"channel_type"`
	Members     []int64 `json:"members,omitempty"`
	// WebhookURL is a Channel::Api inbox's channel webhook_url: its
	// conversations' conversation, message and typing events are delivered
	// there too, unfiltered, signed with the channel's secret.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// SeedContact is a contact (the customer side of conversations).
type SeedContact struct {
	ID                   int64          `json:"id"`
	AccountID            int64          `json:"account_id"`
	Name                 string         `json:"name"`
	Email                string         `json:"email,omitempty"`
	PhoneNumber          string         `json:"phone_number,omitempty"`
	Identifier           string         `json:"identifier,omitempty"`
	AdditionalAttributes map[string]any `json:"additional_attributes,omitempty"`
	CustomAttributes     map[string]any `json:"custom_attributes,omitempty"`
	Blocked              bool           `json:"blocked,omitempty"`
}

// SeedConversation is a conversation, addressed in the API by its
// per-account DisplayID. Status defaults to "open"; CreatedAt (unix seconds)
// defaults to the server's start.
type SeedConversation struct {
	AccountID            int64          `json:"account_id"`
	DisplayID            int64          `json:"display_id"`
	InboxID              int64          `json:"inbox_id"`
	ContactID            int64          `json:"contact_id"`
	Status               string         `json:"status,omitempty"`
	AdditionalAttributes map[string]any `json:"additional_attributes,omitempty"`
	CustomAttributes     map[string]any `json:"custom_attributes,omitempty"`
	Labels               []string       `json:"labels,omitempty"`
	CreatedAt            int64          `json:"created_at,omitempty"`
	// Replied starts the conversation answered: first_reply_created_at set,
	// waiting_since null, so an agent's reply changes neither and fires no
	// conversation_updated.
	Replied bool `json:"replied,omitempty"`
}

// SeedWebhook is a webhook that exists from the start. Subscriptions
// default to chatwoot.DefaultSubscriptions and Secret to a generated one.
type SeedWebhook struct {
	ID            int64    `json:"id"`
	AccountID     int64    `json:"account_id"`
	URL           string   `json:"url"`
	Name          string   `json:"name,omitempty"`
	Subscriptions []string `json:"subscriptions,omitempty"`
	InboxID       *int64   `json:"inbox_id,omitempty"`
	Secret        string   `json:"secret,omitempty"`
}

// ChannelTypes are the inbox channel classes upstream has.
var ChannelTypes = []string{
	"Channel::WebWidget", "Channel::Api", "Channel::Email", "Channel::FacebookPage",
	"Channel::Instagram", "Channel::TwitterProfile", "Channel::TwilioSms", "Channel::Sms",
	"Channel::Whatsapp", "Channel::Telegram", "Channel::Line", "Channel::Voice",
}

// ConversationStatuses are the statuses upstream's Conversation allows.
var ConversationStatuses = []string{"open", "resolved", "pending", "snoozed"}

const (
	channelWebWidget = "Channel::WebWidget"
	channelAPI       = "Channel::Api"
)

// DefaultSeed returns a fresh copy of the default data: account 1 "Acme Inc"
// with a web widget inbox (1 "Website", conversation 1) and an API inbox
// (2 "API", conversation 2, where incoming messages are allowed), account 2
// "Globex" with an API inbox (3, conversation 1); AdminToken administers both
// accounts and AgentToken is an agent of account 1.
func DefaultSeed() *Seed {
	browser := func() map[string]any {
		return map[string]any{
			"browser": map[string]any{
				"device_name":      "Macbook",
				"browser_name":     "Chrome",
				"platform_name":    "Macintosh",
				"browser_version":  "80.0.3987.122",
				"platform_version": "10.15.2",
			},
			"referer":      "http://www.chatwoot.com",
			"initiated_at": map[string]any{"timestamp": "Tue Mar 03 2020 18:37:38 GMT-0700 (Mountain Standard Time)"},
		}
	}
	return &Seed{
		Accounts: []SeedAccount{{ID: 1, Name: "Acme Inc"}, {ID: 2, Name: "Globex"}},
		Users: []SeedUser{
			{ID: 1, Name: "Ada Admin", Email: "admin@acme.example", AccessToken: AdminToken, Accounts: []SeedMembership{
				{AccountID: 1, Role: chatwoot.RoleAdministrator}, {AccountID: 2, Role: chatwoot.RoleAdministrator},
			}},
			{ID: 2, Name: "Alan Agent", Email: "agent@acme.example", AccessToken: AgentToken, Accounts: []SeedMembership{
				{AccountID: 1, Role: chatwoot.RoleAgent},
			}},
		},
		Inboxes: []SeedInbox{
			{ID: 1, AccountID: 1, Name: "Website", ChannelType: channelWebWidget},
			{ID: 2, AccountID: 1, Name: "API", ChannelType: channelAPI},
			{ID: 3, AccountID: 2, Name: "Globex API", ChannelType: channelAPI},
		},
		Contacts: []SeedContact{
			{
				ID: 1, AccountID: 1, Name: "Jane Doe", Email: "jane@example.com", PhoneNumber: "+15555550100",
				Identifier:           "jane-doe",
				AdditionalAttributes: map[string]any{"city": "Denver", "country": "United States", "company_name": "Example Corp"},
				CustomAttributes:     map[string]any{"plan": "pro"},
			},
			{ID: 2, AccountID: 2, Name: "John Roe", Email: "john@example.org", PhoneNumber: "+15555550101"},
		},
		Conversations: []SeedConversation{
			{AccountID: 1, DisplayID: 1, InboxID: 1, ContactID: 1, AdditionalAttributes: browser()},
			{AccountID: 1, DisplayID: 2, InboxID: 2, ContactID: 1},
			{AccountID: 2, DisplayID: 1, InboxID: 3, ContactID: 2},
		},
		AgentBots: []SeedAgentBot{{ID: 1, AccountID: 1, Name: "Triage Bot", AccessToken: BotToken}},
	}
}

// LoadSeed reads and validates a JSON seed file. Errors name the file, the
// field and the fix.
func LoadSeed(path string) (*Seed, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seed file %s: %w; pass an existing JSON file to --seed or omit it for the default seed", path, err)
	}
	seed, err := ParseSeed(raw)
	if err != nil {
		return nil, fmt.Errorf("seed file %s: %w", path, err)
	}
	return seed, nil
}

// ParseSeed decodes and validates a JSON seed. Unknown fields are errors, so
// a typo does not silently fall back to a default.
func ParseSeed(raw []byte) (*Seed, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var seed Seed
	if err := dec.Decode(&seed); err != nil {
		return nil, describeJSONError(raw, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("extra data after the JSON object; a seed file holds exactly one object")
	}
	if err := seed.Validate(); err != nil {
		return nil, err
	}
	return &seed, nil
}

// describeJSONError turns a decoding error into one naming the line and
// column, and the field for type mismatches.
func describeJSONError(raw []byte, err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		line, col := lineCol(raw, syntax.Offset)
		return fmt.Errorf("not valid JSON at line %d, column %d: %w; fix the syntax (a seed file is one JSON object, see the mockapi package docs)", line, col, syntax)
	case errors.As(err, &typeErr):
		line, col := lineCol(raw, typeErr.Offset)
		return fmt.Errorf("line %d, column %d: %s is a JSON %s but must be %s", line, col, orWhole(typeErr.Field), typeErr.Value, goTypeName(typeErr.Type.String()))
	case errors.Is(err, io.EOF):
		return errors.New("the file is empty; write a JSON object with accounts and users (see the mockapi package docs)")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the JSON ends early (unclosed object or array); fix the syntax")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return fmt.Errorf("unknown field %s; check its spelling against the seed format in the mockapi package docs", field)
	}
	return err
}

func orWhole(field string) string {
	if field == "" {
		return "the seed"
	}
	return field
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "*int"):
		return "an integer"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "map"), strings.HasPrefix(t, "mockapi."):
		return "an object"
	}
	return t
}

func lineCol(raw []byte, offset int64) (line, col int) {
	offset = min(offset, int64(len(raw)))
	before := raw[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// Validate checks the references and rules a seed must satisfy. The error
// names the first bad field and how to fix it.
func (s *Seed) Validate() error {
	if len(s.Accounts) == 0 {
		return errors.New("accounts is empty; add at least one account like {\"id\": 1, \"name\": \"Acme Inc\"}")
	}
	accounts := map[int64]int{}
	for i, a := range s.Accounts {
		at := fmt.Sprintf("accounts[%d]", i)
		if a.ID <= 0 {
			return fmt.Errorf("%s.id is %d; use a positive integer", at, a.ID)
		}
		if j, dup := accounts[a.ID]; dup {
			return fmt.Errorf("%s.id %d is already used by accounts[%d]; give each account its own id", at, a.ID, j)
		}
		if strings.TrimSpace(a.Name) == "" {
			return fmt.Errorf("%s.name is empty; name the account", at)
		}
		accounts[a.ID] = i
	}

	if len(s.Users) == 0 {
		return errors.New("users is empty; add at least one user with an access_token and accounts")
	}
	users := map[int64]int{}
	tokens := map[string]int{}
	roles := map[[2]int64]string{} // {user, account} → role
	for i, u := range s.Users {
		at := fmt.Sprintf("users[%d]", i)
		if u.ID <= 0 {
			return fmt.Errorf("%s.id is %d; use a positive integer", at, u.ID)
		}
		if j, dup := users[u.ID]; dup {
			return fmt.Errorf("%s.id %d is already used by users[%d]; give each user its own id", at, u.ID, j)
		}
		users[u.ID] = i
		if strings.TrimSpace(u.Name) == "" {
			return fmt.Errorf("%s.name is empty; name the user", at)
		}
		if strings.TrimSpace(u.AccessToken) == "" || strings.ContainsAny(u.AccessToken, " \t\r\n") {
			return fmt.Errorf("%s.access_token is empty or has spaces; set a token without whitespace, e.g. \"mock-admin-token\"", at)
		}
		if j, dup := tokens[u.AccessToken]; dup {
			return fmt.Errorf("%s.access_token is the same as users[%d]'s; tokens identify users, make each one unique", at, j)
		}
		tokens[u.AccessToken] = i
		if len(u.Accounts) == 0 {
			return fmt.Errorf("%s.accounts is empty; add a membership like {\"account_id\": 1, \"role\": \"administrator\"}", at)
		}
		for k, m := range u.Accounts {
			mat := fmt.Sprintf("%s.accounts[%d]", at, k)
			if _, ok := accounts[m.AccountID]; !ok {
				return fmt.Errorf("%s.account_id %d is not in accounts; add that account or use one of %s", mat, m.AccountID, idList(s.accountIDs()))
			}
			if m.Role != chatwoot.RoleAdministrator && m.Role != chatwoot.RoleAgent {
				return fmt.Errorf("%s.role is %q; use \"administrator\" or \"agent\"", mat, m.Role)
			}
			key := [2]int64{u.ID, m.AccountID}
			if _, dup := roles[key]; dup {
				return fmt.Errorf("%s lists account %d twice; keep one membership per account", mat, m.AccountID)
			}
			roles[key] = m.Role
		}
	}

	bots, botTokens := map[int64]int{}, map[string]int{}
	for i, b := range s.AgentBots {
		at := fmt.Sprintf("agent_bots[%d]", i)
		if b.ID <= 0 {
			return fmt.Errorf("%s.id is %d; use a positive integer", at, b.ID)
		}
		if j, dup := bots[b.ID]; dup {
			return fmt.Errorf("%s.id %d is already used by agent_bots[%d]; give each bot its own id", at, b.ID, j)
		}
		bots[b.ID] = i
		if _, ok := accounts[b.AccountID]; !ok {
			return fmt.Errorf("%s.account_id %d is not in accounts; use one of %s", at, b.AccountID, idList(s.accountIDs()))
		}
		if strings.TrimSpace(b.Name) == "" {
			return fmt.Errorf("%s.name is empty; name the bot", at)
		}
		if strings.TrimSpace(b.AccessToken) == "" || strings.ContainsAny(b.AccessToken, " \t\r\n") {
			return fmt.Errorf("%s.access_token is empty or has spaces; set a token without whitespace, e.g. \"mock-bot-token\"", at)
		}
		if j, dup := tokens[b.AccessToken]; dup {
			return fmt.Errorf("%s.access_token is the same as users[%d]'s; tokens identify their owner, make each one unique", at, j)
		}
		if j, dup := botTokens[b.AccessToken]; dup {
			return fmt.Errorf("%s.access_token is the same as agent_bots[%d]'s; tokens identify their owner, make each one unique", at, j)
		}
		botTokens[b.AccessToken] = i
	}

	inboxes := map[int64]int{}
	for i, in := range s.Inboxes {
		at := fmt.Sprintf("inboxes[%d]", i)
		if in.ID <= 0 {
			return fmt.Errorf("%s.id is %d; use a positive integer (inbox ids are global, as upstream's)", at, in.ID)
		}
		if j, dup := inboxes[in.ID]; dup {
			return fmt.Errorf("%s.id %d is already used by inboxes[%d]; inbox ids are global, give each inbox its own", at, in.ID, j)
		}
		inboxes[in.ID] = i
		if _, ok := accounts[in.AccountID]; !ok {
			return fmt.Errorf("%s.account_id %d is not in accounts; use one of %s", at, in.AccountID, idList(s.accountIDs()))
		}
		if strings.TrimSpace(in.Name) == "" {
			return fmt.Errorf("%s.name is empty; name the inbox", at)
		}
		if !slices.Contains(ChannelTypes, in.ChannelType) {
			return fmt.Errorf("%s.channel_type is %q; use one of %s (Channel::Api accepts incoming messages through the API)", at, in.ChannelType, strings.Join(ChannelTypes, ", "))
		}
		if in.WebhookURL != "" && (in.ChannelType != channelAPI || !chatwoot.ValidWebhookURL(in.WebhookURL)) {
			return fmt.Errorf("%s.webhook_url %q: only a Channel::Api inbox has one, and it must be an absolute http(s) URL", at, in.WebhookURL)
		}
		for k, uid := range in.Members {
			if roles[[2]int64{uid, in.AccountID}] == "" {
				return fmt.Errorf("%s.members[%d] is user %d, who is not a member of account %d; add the membership to that user or remove the id", at, k, uid, in.AccountID)
			}
		}
	}

	contacts := map[int64]int{}
	for i, c := range s.Contacts {
		at := fmt.Sprintf("contacts[%d]", i)
		if c.ID <= 0 {
			return fmt.Errorf("%s.id is %d; use a positive integer", at, c.ID)
		}
		if j, dup := contacts[c.ID]; dup {
			return fmt.Errorf("%s.id %d is already used by contacts[%d]; give each contact its own id", at, c.ID, j)
		}
		contacts[c.ID] = i
		if _, ok := accounts[c.AccountID]; !ok {
			return fmt.Errorf("%s.account_id %d is not in accounts; use one of %s", at, c.AccountID, idList(s.accountIDs()))
		}
	}

	convs := map[[2]int64]int{}
	for i, c := range s.Conversations {
		at := fmt.Sprintf("conversations[%d]", i)
		if _, ok := accounts[c.AccountID]; !ok {
			return fmt.Errorf("%s.account_id %d is not in accounts; use one of %s", at, c.AccountID, idList(s.accountIDs()))
		}
		if c.DisplayID <= 0 {
			return fmt.Errorf("%s.display_id is %d; use a positive integer (the number users see, unique within the account)", at, c.DisplayID)
		}
		key := [2]int64{c.AccountID, c.DisplayID}
		if j, dup := convs[key]; dup {
			return fmt.Errorf("%s.display_id %d is already used in account %d by conversations[%d]; display ids are unique per account", at, c.DisplayID, c.AccountID, j)
		}
		convs[key] = i
		j, ok := inboxes[c.InboxID]
		if !ok {
			return fmt.Errorf("%s.inbox_id %d is not in inboxes; add the inbox or use one of %s", at, c.InboxID, idList(s.inboxIDs(c.AccountID)))
		}
		if s.Inboxes[j].AccountID != c.AccountID {
			return fmt.Errorf("%s.inbox_id %d belongs to account %d, not %d; use an inbox of account %d: %s", at, c.InboxID, s.Inboxes[j].AccountID, c.AccountID, c.AccountID, idList(s.inboxIDs(c.AccountID)))
		}
		j, ok = contacts[c.ContactID]
		if !ok {
			return fmt.Errorf("%s.contact_id %d is not in contacts; add the contact or use one of %s", at, c.ContactID, idList(s.contactIDs(c.AccountID)))
		}
		if s.Contacts[j].AccountID != c.AccountID {
			return fmt.Errorf("%s.contact_id %d belongs to account %d, not %d", at, c.ContactID, s.Contacts[j].AccountID, c.AccountID)
		}
		if c.Status != "" && !slices.Contains(ConversationStatuses, c.Status) {
			return fmt.Errorf("%s.status is %q; use one of %s", at, c.Status, strings.Join(ConversationStatuses, ", "))
		}
	}

	webhooks := map[int64]int{}
	urls := map[string]int{}
	for i, w := range s.Webhooks {
		at := fmt.Sprintf("webhooks[%d]", i)
		if w.ID <= 0 {
			return fmt.Errorf("%s.id is %d; use a positive integer", at, w.ID)
		}
		if j, dup := webhooks[w.ID]; dup {
			return fmt.Errorf("%s.id %d is already used by webhooks[%d]; webhook ids are global, give each its own", at, w.ID, j)
		}
		webhooks[w.ID] = i
		if _, ok := accounts[w.AccountID]; !ok {
			return fmt.Errorf("%s.account_id %d is not in accounts; use one of %s", at, w.AccountID, idList(s.accountIDs()))
		}
		if !chatwoot.ValidWebhookURL(w.URL) {
			return fmt.Errorf("%s.url %q is not an absolute http(s) URL; use one like https://example.com/hook", at, w.URL)
		}
		key := fmt.Sprint(w.AccountID, " ", w.URL)
		if j, dup := urls[key]; dup {
			return fmt.Errorf("%s.url %q is already used in account %d by webhooks[%d]; urls are unique per account", at, w.URL, w.AccountID, j)
		}
		urls[key] = i
		if w.Subscriptions != nil {
			if len(w.Subscriptions) == 0 {
				return fmt.Errorf("%s.subscriptions is empty; omit it for the default 8 events or list some of %s", at, strings.Join(chatwoot.AllowedEvents, ", "))
			}
			for k, ev := range w.Subscriptions {
				if !chatwoot.IsAllowedEvent(ev) {
					return fmt.Errorf("%s.subscriptions[%d] is %q; use one of %s", at, k, ev, strings.Join(chatwoot.AllowedEvents, ", "))
				}
			}
		}
	}
	return nil
}

func (s *Seed) accountIDs() []int64 {
	ids := make([]int64, 0, len(s.Accounts))
	for _, a := range s.Accounts {
		ids = append(ids, a.ID)
	}
	return ids
}

func (s *Seed) inboxIDs(account int64) []int64 {
	var ids []int64
	for _, in := range s.Inboxes {
		if in.AccountID == account {
			ids = append(ids, in.ID)
		}
	}
	return ids
}

func (s *Seed) contactIDs(account int64) []int64 {
	var ids []int64
	for _, c := range s.Contacts {
		if c.AccountID == account {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func idList(ids []int64) string {
	if len(ids) == 0 {
		return "(none yet)"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ", ")
}
