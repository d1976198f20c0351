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
//	                                    of the previous page); a page ends with a whole job, so the
//	                                    deliveries of a batch are never cut in two
//	GET  /v1/deliveries/{id}            one delivery
//	POST /v1/deliveries/{id}/retry      replay a failed, dead or cancelled delivery now, under the same
//	                                    X-Chatwoot-Delivery id
//
// A delivery's {id} is its River job id ("id" in the log, fast; not for a
// delivery in a batch, whose job holds several), or its X-Chatwoot-Delivery
// UUID ("delivery_id", what a receiver logs; found by scanning the log, so
// slower on a large one). Unknown ids answer 404, bad
// parameters 400 naming the parameter; a retry of a delivery that cannot be
// replayed (in flight, already delivered, endpoint removed or disabled)
// answers 409 saying why.
//
// # Delivery states
//
// A delivery's state is its River job's. That job is the delivery's own,
// or a batch (delivery.BatchKind: deliveries to one endpoint stored
// together, at their first attempt; "batch" in the log gives its size);
// a delivery not answered 2xx there goes on in a job of its own, and the
// log shows it there from then on, its first attempt included. Replaying a
// dead or cancelled delivery of a batch replays the batch's other
// deliveries with it, which share its state.
//
//	pending    available, scheduled (incl. snoozed), pending or running: waiting for or in an attempt
//	failed     retryable: the last attempt failed, the next is scheduled (next_attempt_at)
//	succeeded  completed: the endpoint answered 2xx
//	dead       discarded: the retry schedule is exhausted; kept for replay
//	cancelled  cancelled: the endpoint was removed upstream, disabled by 410, or unsubscribed
//
// # Attempts
//
// River keeps each failed attempt's error (job.Errors) but neither the
// status code nor the duration, and nothing of a successful attempt; the
// delivery worker adds a record per attempt (start time, status, duration)
// to the job's metadata under "attempts" (delivery.MetadataAttempts),
// merged by River in the same UPDATE that stores the outcome. The log
// joins both by attempt number. An attempt lost with its daemon (kill -9)
// has only River's rescue error. An attempt answered 200 gets no record
// (writing one cost ~15% of the daemon's throughput): the log shows it
// from the completed job, at River's attempted_at with status 200 and no
// duration_ms; other 2xx answers are recorded in full (for a delivery of a
// batch, in the batch job's metadata under "delivered").
package admin
