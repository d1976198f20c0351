// Package daemon is `terraform-provider-chatwoot daemon`: it parses the
// flags and wires the reconciler (internal/endpoints), the durable queue
// (internal/store), the workers (internal/delivery) and the ingest API
// (internal/ingest) together, and shuts them down in order on SIGTERM.
//
// # Data flow
//
// One way: Chatwoot → relay route (or ingest) → store → worker →
// destination. The endpoints are the webhooks that go through the relay:
// their url in Chatwoot is <--public-url>/v1/accounts/<id>/relay?to=<D>.
// Chatwoot delivers each event to that address once; the relay route
// finds the webhook (listing its account at once on a miss, since
// Chatwoot never retries), verifies Chatwoot's signature with the
// webhook's secret, and commits one delivery to D under Chatwoot's own
// X-Chatwoot-Delivery before answering 200 (a repeated id adds nothing).
// An event POSTed to the ingest API becomes one delivery per subscribed
// relayed webhook, committed before the 202. Webhooks Chatwoot delivers
// to directly are never endpoints: the daemon never sends to them, so no
// receiver gets an event twice. A worker makes one attempt per job,
// looking the endpoint's destination and secret up in the registry at that
// moment (never in the job), signing as Chatwoot signs. The store keeps
// each account's last good list of webhooks, secrets included, so a
// daemon restarted while Chatwoot is down fills its registry from it and
// turns ready.
//
// No webhook can make the daemon deliver to itself: a relayed webhook
// whose destination is its --public-url or its listener is listed as
// refused and never delivered to, and the sender refuses to dial the
// daemon's own listener whatever name led there (netguard).
//
// # States
//
// The delivery, not the River job, is the unit of record (internal/store):
// one chatwoot_events row per accepted event (its payload once),
// one chatwoot_deliveries row per event and endpoint, one chatwoot_attempts
// row per attempt. A delivery is pending → succeeded (2xx), failed (its
// retry at next_attempt_at) → dead when the schedule is spent (kept for
// replay), or cancelled (its webhook removed, its endpoint answered 410 or
// was disabled at its turn). River's jobs carry delivery ids only: an
// event, its deliveries and their jobs commit in one transaction;
// deliveries to one endpoint committed together travel to their first
// attempt as one batch job, and one answered anything but 2xx there goes
// on in a job of its own, which River retries (--retry-schedule); when the
// endpoint does not answer at all, the batch waits as one job for that
// delivery's retries (delivery's doc says how). Each outcome, with
// its attempt, is committed (store.Recorder, group commit) before its job
// completes: a delivery recorded succeeded is never sent again, and after
// a kill -9 only attempts in flight or answered within the last write's
// window are repeated. A delivery waits in memory for a slot of its
// endpoint (--endpoint-concurrency) while the endpoint keeps answering, and
// snoozes only for a slow, stalled or paused endpoint. A delivery stored
// while its endpoint's newest --endpoint-concurrency stored deliveries all
// wait for their first attempt (read in the store, so every replica and a
// restart agree) gets River priority 2, so other endpoints' deliveries
// pass the backlog. No index holds a column an outcome writes, so on
// PostgreSQL recording an outcome updates its row in place (HOT).
//
// # Replicas
//
// With --store postgres://... several daemons share one queue: any replica
// accepts events, and River hands each delivery to one replica at a time.
// Every replica reconciles on its own (each needs the url and secret
// current at every attempt; a leader-only reconcile would ship secrets
// through the database). What must happen once — cancelling the pending
// deliveries of a removed or 410 endpoint — is a River job
// (delivery.CancelArgs), unique per endpoint and reason, inserted by
// whichever replicas notice. A 410's disable mark and an admin pause are
// in the store (chatwoot_endpoint_state, chatwoot_endpoint_pause): saved by
// the replica that met the 410 or took the pause, applied by every replica
// at its reconcile passes, and cleared by an enable or resume before it
// takes effect. A paused endpoint's deliveries snooze; resume re-queues
// them. The per-endpoint limit and the backlog count are each
// replica's own. A replica killed
// mid-attempt leaves its deliveries running; River's rescuer on the leader
// retries them RescueStuckJobsAfter after they started, so those attempts
// may be repeated: receivers dedupe on X-Chatwoot-Delivery.
//
// # Readiness
//
// Deliveries start only once the first reconcile completed and the stored
// disabled marks were applied: before that a delivery could not tell a
// removed or disabled webhook from one not listed yet. Until
// then ingest and /readyz answer 503. On SIGTERM, attempts in flight get
// --timeout + 1s; the rest go back to the store uncounted.
//
// # Access
//
// One listener (--listen) serves the relay route, ingest, /healthz and
// /readyz, the admin API (internal/admin), GET /metrics (internal/metrics)
// and River's UI at /riverui/ (--river-ui). The rule is admin.Gate: the
// relay route is open to every client and authenticated by Chatwoot's
// signature; health is open; everything else refuses a Host that is not
// one of the daemon's names, a cross-origin browser request and a POST
// that is not application/json, and then answers loopback clients only
// without --admin-token; with it, ingest needs the token from other hosts
// and the rest from everyone.
//
// Every attempt feeds the endpoint's health in the registry and the
// metrics (delivery.WorkerOptions.OnResult). Retention deletes finished
// deliveries (listed as they finish in chatwoot_finished_log), their
// attempts and the events they leave without one, in batches
// (store.RetentionBatch), every minute on every replica.
//
// Why each River setting (connections, fetch intervals, timeouts,
// batches, retention, synchronous) is what it is, with the figures, is in
// docs/guides/delivery-daemon-measurements.md.
package daemon
