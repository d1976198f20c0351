// Package mockapi is a Chatwoot-faithful mock of the account API: its one
// job is to answer the webhook, profile, conversation, message, contact and
// inbox routes exactly as upstream Chatwoot does (bodies, statuses, error
// texts) and to fire and deliver the 12 webhook events as upstream does, so
// the provider and the delivery daemon can be tested offline. The guide
// (docs/guides/mock-api.md) lists every route and what it fires. It is an http.Handler, run
// in-process under httptest (NewTestServer) or as the `mock-api` subcommand
// (Command).
//
// # Routes
//
// Authenticated with the header api_access_token (or Api-Access-Token, as
// Rack reads both), as upstream:
//
//	GET    /api/v1/profile
//	GET    /api/v1/accounts/{account_id}/webhooks            administrators only
//	POST   /api/v1/accounts/{account_id}/webhooks            administrators only
//	PATCH  /api/v1/accounts/{account_id}/webhooks/{id}       (PUT too) administrators only
//	DELETE /api/v1/accounts/{account_id}/webhooks/{id}       200 with an empty body
//	POST   /api/v1/accounts/{account_id}/conversations        conversation_created
//	POST   .../conversations/{display_id}/toggle_status       conversation_status_changed, _updated
//	POST   .../conversations/{display_id}/toggle_typing_status conversation_typing_on/off
//	POST   .../conversations/{display_id}/messages            message_created and side events
//	PATCH  .../conversations/{display_id}/messages/{id}       (PUT, DELETE too) message_updated
//	POST   /api/v1/accounts/{account_id}/contacts             contact_created
//	PATCH  /api/v1/accounts/{account_id}/contacts/{id}        (PUT too) contact_updated
//	POST   /api/v1/accounts/{account_id}/inboxes              inbox_created (Options.InboxEvents)
//	PATCH  /api/v1/accounts/{account_id}/inboxes/{id}         (PUT too) inbox_updated (Options.InboxEvents)
//	GET    conversations, conversations/{id}, conversations/{id}/messages,
//	       contacts, contacts/{id}, inboxes, inboxes/{id}  (under the account; fire nothing)
//
// Params are the query string merged with a JSON, form-urlencoded or
// multipart body, nested by Rack's bracket rules; wrap_parameters wraps
// only JSON bodies. Agent-bot tokens (Seed.AgentBots) pass only the
// conversation and message routes; a suspended account answers every
// token 401 "Account is suspended" before membership is checked.
//
// Events are built once per request after every save is applied, so each
// payload shows the final state (upstream's jobs run after the commit);
// changed_attributes lists the changed columns in table order, updated_at
// always among them.
//
// Checks run in upstream's order: malformed JSON body → 400
// {"status":400,"error":"Bad Request"} (params are parsed before the token
// is checked); no token → 401
// {"errors":["You need to sign in or sign up before continuing."]}; unknown
// token → 401 {"error":"Invalid Access Token"}; unknown account → 404
// {"error":"Resource could not be found"}; not a member → 401 {"error":"You
// are not authorized to access this account"}; an agent on webhook routes →
// 401 {"error":"You are not authorized to do this action"}; unknown webhook
// (or one of another account) → 404. Webhook bodies may be wrapped
// ({"webhook":{...}}) or top level, where Rails' wrap_parameters wraps the
// Webhook model's columns (id, secret, ... too); an absent or empty wrapper →
// 422 {"error":"param is missing or the value is empty: webhook"}. Only url,
// subscriptions, name and inbox_id are permitted: {"webhook":{"foo":1}} →
// create 422 "Url is invalid", update 200 with nothing changed.
// Validation failures → 422 {"message":"Url is invalid, Subscriptions Invalid
// events","attributes":["url","subscriptions"]}. A body of another media
// type is ignored, as Rails ignores it. Where the body must stay
// upstream's, an X-Mock-Hint response header explains the 4xx. Routes upstream
// does not have answer 404 {"status":404,"error":"Not Found"}.
//
// Faithful details worth knowing:
//   - url is checked as upstream checks it, URI::DEFAULT_PARSER.make_regexp
//     (%w[http https]) unanchored: anything holding "http:" or "https:"
//     passes ("http:foo", "see http://x"); "javascript:alert(1)" does not.
//     The provider is stricter at plan time. name "" is kept and rendered "".
//   - The secret is generated on create (24 base58 characters, like Rails'
//     has_secure_token) and never changed by an update.
//   - inbox_id is stored as sent. Like upstream (belongs_to :inbox,
//     optional: true, looked up by id alone) an unknown inbox_id is accepted
//     and the webhook then renders without "inbox"; another account's inbox
//     renders as that inbox.
//   - Values of the wrong shape are dropped as strong parameters drop them:
//     a subscriptions that is not an array (or null) leaves the default on
//     create and the current list on update.
//   - Messages: message_type defaults to "outgoing"; "incoming" is accepted
//     only in Channel::Api inboxes (422 {"error":"Incoming messages are only
//     allowed in Api inboxes"}), which is why the default seed has an API
//     inbox. An unknown message_type or content_type → 422 {"error":"'x' is
//     not a valid content_type"}; content_attributes failing upstream's
//     ContentAttributeValidator → 422 {"error":"Validation failed: Content
//     attributes At least one item is required."}. The answer is upstream's
//     message JSON (integer message_type, unix created_at, the sender's
//     push data). Agents may post in the inboxes they are members of.
//   - After answering, a message of type incoming, outgoing or template
//     (private notes included, with "private": true) fires message_created
//     in upstream's webhook_data shape (chatwoot.MessageEvent: the whole
//     v4.15.1 conversation, null fields as null, content normalised as
//     upstream's webhook presenter does), delivered
//     as upstream's Webhooks::Trigger delivers it: one POST per webhook of
//     the account subscribed to it, with Content-Type and Accept
//     application/json, X-Chatwoot-Delivery (a UUID per webhook and
//     event), X-Chatwoot-Timestamp and X-Chatwoot-Signature; once, never
//     retried; Options.WebhookTimeout (--webhook-timeout, 5s) for open and
//     read; redirects followed up to 10 re-sending the POST (SafeFetch);
//     private and loopback addresses refused unless
//     Options.AllowPrivateNetwork (--allow-private-network, upstream's
//     SAFE_FETCH_ALLOW_PRIVATE_NETWORK).
//
// An API inbox's channel webhook_url (SeedInbox.WebhookURL, or
// channel.webhook_url on create) also gets its conversations' events,
// unfiltered, signed with the channel's secret.
//
// Not simulated: upstream's rate limit (use a 429 fault), automatic
// template messages, auto-assignment, and other routes.
//
// # Seed format
//
// --seed FILE (or Options.Seed) replaces the default data with one JSON
// object. Unknown fields are errors, and so are duplicate ids, roles other
// than administrator/agent, and references to missing accounts, inboxes,
// contacts or users; each error names the field and the fix.
//
//	{
//	  "accounts": [{"id": 1, "name": "Acme Inc", "onboarding_step": "account_update"}],
//	  "users": [
//	    {"id": 1, "name": "Ada Admin", "email": "admin@acme.example",
//	     "access_token": "mock-admin-token",
//	     "accounts": [{"account_id": 1, "role": "administrator"}]},
//	    {"id": 2, "name": "Alan Agent", "email": "agent@acme.example",
//	     "access_token": "mock-agent-token",
//	     "accounts": [{"account_id": 1, "role": "agent"}]}
//	  ],
//	  "inboxes": [
//	    {"id": 1, "account_id": 1, "name": "Website", "channel_type": "Channel::WebWidget"},
//	    {"id": 2, "account_id": 1, "name": "API", "channel_type": "Channel::Api", "members": [2]}
//	  ],
//	  "contacts": [
//	    {"id": 1, "account_id": 1, "name": "Jane Doe", "email": "jane@example.com",
//	     "phone_number": "+15555550100", "identifier": "jane-doe",
//	     "additional_attributes": {"city": "Denver"}, "custom_attributes": {"plan": "pro"}}
//	  ],
//	  "conversations": [
//	    {"account_id": 1, "display_id": 1, "inbox_id": 1, "contact_id": 1, "status": "open",
//	     "labels": ["vip"], "created_at": 1700000000,
//	     "additional_attributes": {"browser": {"browser_name": "Chrome"}, "referer": "http://www.chatwoot.com"}}
//	  ],
//	  "webhooks": [
//	    {"id": 1, "account_id": 1, "url": "https://example.com/hook", "name": "existing",
//	     "subscriptions": ["message_created"], "inbox_id": 1, "secret": "optional-fixed-secret"}
//	  ],
//	  "agent_bots": [{"id": 1, "account_id": 1, "name": "Triage Bot", "access_token": "mock-bot-token"}]
//	}
//
// An account's onboarding_step is what the profile's accounts[] shows (null
// when omitted); "suspended": true suspends it. A conversation with
// "replied": true starts answered (first_reply_created_at set, waiting_since
// null). Ids of accounts, users, inboxes, contacts and webhooks are global; a
// conversation's display_id is unique within its account. channel_type is one
// of ChannelTypes. An inbox's members are the agents assigned to it (omit for
// every agent of the account). Conversation status is open (default),
// resolved, pending or snoozed. Seed webhooks take the default subscriptions
// and a generated secret when omitted; created webhooks are numbered after
// the highest seed id.
//
// The default seed (DefaultSeed): account 1 "Acme Inc" and account 2
// "Globex"; AdminToken ("mock-admin-token", user 1) administers both,
// AgentToken ("mock-agent-token", user 2) is an agent of account 1, BotToken
// ("mock-bot-token") is agent bot 1 "Triage Bot" of account 1. Account 1
// has inbox 1 "Website" (Channel::WebWidget) with conversation 1 of contact 1
// "Jane Doe" (additional_attributes with the widget's browser block), and
// inbox 2 "API" (Channel::Api) with conversation 2 of the same contact.
// Account 2 has inbox 3 "Globex API" (Channel::Api) with conversation 1 of
// contact 2 "John Roe".
//
// # Test support routes
//
// Under /_mock, with no token, never recorded and never faulted:
//
//	GET    /_mock/requests   JSON array of {"method","path","status"} for every
//	                         Chatwoot-path request since start or the last reset
//	                         (status 499 when the client went away during a delay)
//	DELETE /_mock/requests   reset (204)
//	POST   /_mock/faults     add a fault (201; 400 naming the bad field)
//	GET    /_mock/faults     pending faults with their remaining count
//	DELETE /_mock/faults     drop all faults (204)
//	GET    /_mock/events     events fired so far: {"id","event","account_id",
//	                         "message_id" (message events),"fired_at","payload",
//	                         "webhooks"} (how many webhooks it went to)
//	DELETE /_mock/events     reset (204)
//	GET    /_mock/deliveries every delivery to a webhook: {"webhook_id",
//	                         "account_id","url","event","event_id","delivery_id",
//	                         "state","status","error","duration_ms","queued_at"},
//	                         state being pending, delivered or failed
//	DELETE /_mock/deliveries reset (204)
//	POST   /_mock/webwidget_triggered {"inbox_id","contact_id","event_info","locale"}:
//	                         fire webwidget_triggered as the widget's events route (204)
//
// In Go the same is Server.Requests, ResetRequests, InjectFault, ClearFaults,
// Faults, Events, ResetEvents, WaitForEvents, Deliveries, ResetDeliveries
// and WaitForDeliveries.
//
// # Fault injection
//
// A fault makes the next count requests matching method ("" = any) and
// path_prefix misbehave, then it is spent. With status it answers that
// status instead of serving (429 with rack-attack's "Retry later" body,
// others with Rails' {"status":500,"error":"Internal Server Error"}), with
// retry_after it sets Retry-After (seconds); with delay ("5s") it first hangs
// that long, giving up if the client goes away, then answers status or, when
// status is 0, serves normally. Faults apply in the order added, one per
// request:
//
//	curl -X POST localhost:3000/_mock/faults -d '{"method":"GET","path_prefix":"/api/v1/accounts/1/webhooks","count":2,"status":429,"retry_after":1}'
//	curl -X POST localhost:3000/_mock/faults -d '{"path_prefix":"/api/v1/","count":1,"status":500}'
//	curl -X POST localhost:3000/_mock/faults -d '{"path_prefix":"/api/v1/profile","count":1,"delay":"3s"}'
package mockapi
