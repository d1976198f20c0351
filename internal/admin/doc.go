// Package admin is the daemon's operator API, served on the ingest
// listener: the endpoint registry with each endpoint's health, the delivery
// log with every attempt, replay of a delivery, re-enabling an endpoint
// disabled by 410 Gone; and the access rule (Gate) that protects it, the
// metrics and River's UI.
//
// # Routes
//
//	GET  /v1/endpoints                  the reconciled endpoints: url (without query), subscriptions,
//	                                    status (active|disabled), disabled_at/disabled_reason, and
//	                                    health: last_attempt_at, last_status, last_error,
//	                                    consecutive_failures, last_success_at
//	POST /v1/endpoints/{id}/enable      re-enable an endpoint disabled by 410 Gone (?account=N when
//	                                    two accounts have a webhook {id})
//	GET  /v1/deliveries                 the delivery log, newest first:
//	                                    ?state=pending|succeeded|failed|dead|cancelled (comma-separated)
//	                                    &endpoint=ID &limit=N (1-1000, default 50) &cursor=C (next_cursor
//	                                    of the previous page: the last delivery id of the page)
//	GET  /v1/deliveries/{id}            one delivery, with every attempt
//	POST /v1/deliveries/{id}/retry      replay a failed, dead or cancelled delivery now, under the same
//	                                    X-Chatwoot-Delivery id
//	POST /v1/endpoints/{id}/recover     ?since=RFC3339: replay every failed, dead or cancelled delivery
//	                                    of the endpoint created since then
//	POST /v1/endpoints/{id}/pause       hold its deliveries; /resume lets them flow, oldest first
//
// A delivery's {id} is its row in the store ("id" in the log) or its
// X-Chatwoot-Delivery UUID ("delivery_id", what a receiver logs); both are
// indexed. Unknown ids answer 404, bad parameters 400 naming the
// parameter; a retry of a delivery that cannot be replayed (waiting or in
// flight, already delivered, endpoint removed or disabled) answers 409
// saying why.
//
// # What it reads
//
// The store's records (store.Delivery, store.Attempt), never River's job
// internals: the log walks chatwoot_deliveries by id (the primary key, or
// the (account, webhook, id) index for one endpoint), a delivery's attempts
// come from chatwoot_attempts, 2xx included, each with its duration.
// River's jobs are only asked whether a delivery's own job is running
// (in_flight), and to run a failed delivery's waiting retry now (a replay
// of a dead or cancelled one inserts a new job with one attempt).
package admin
