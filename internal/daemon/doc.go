// Package daemon is `terraform-provider-chatwoot daemon`: it parses the
// flags and wires the reconciler (internal/endpoints), the durable queue
// (internal/store), the workers (internal/delivery) and the ingest API
// (internal/ingest) together, and shuts them down in order on SIGTERM.
//
// Data flows one way: Chatwoot → relay route (or ingest) → store → worker →
// destination. The endpoints are the webhooks that go through the relay:
// their url in Chatwoot is <--public-url>/v1/accounts/<id>/relay?to=<D>.
// Chatwoot delivers each event to that address once; the relay route
// finds the webhook (listing its account at once on a miss, since
// Chatwoot never retries), verifies Chatwoot's signature with the
// webhook's secret, and commits one delivery to D under Chatwoot's own
// X-Chatwoot-Delivery before answering 200 (a repeated id adds nothing).
// An event POSTed to the ingest API becomes one delivery per subscribed
// relayed webhook, committed before the 202. Webhooks Chatwoot delivers
// to directly are never endpoints: the daemon never sends to them, so
// no receiver gets an event twice. A worker makes one attempt per job,
// looking the endpoint's destination and secret up in the registry at that
// moment (secrets are never written to the store), signing as Chatwoot
// signs.
//
// No webhook can make the daemon deliver to itself: a relayed webhook
// whose destination is its --public-url or its listener is listed as
// refused and never delivered to, and the sender refuses to dial the
// daemon's own listener whatever name led there (netguard).
//
// # River settings on SQLite, and why
//
// Measured on the 2-core machine this project runs on (see BenchmarkDeliveries
// and store.BenchmarkRiverNoopJobs):
//
//   - One connection (store), _txlock=immediate, busy_timeout, WAL: River
//     does many things at once and SQLite has one writer; more connections
//     only turn into SQLITE_BUSY.
//   - A prepared statement cache under database/sql (store): SQLite's parser
//     was most of the CPU; with it River works ~5,000 no-op jobs/s instead
//     of ~1,300.
//   - Ingest batches concurrent posts into one transaction, through River's
//     InsertManyFast (no RETURNING, no row decoding) unless the post carries
//     an Idempotency-Key (InsertMany tells the duplicates): inserts went
//     from ~3,900 to ~6,300/s with 576-byte payloads.
//   - Deliveries to one endpoint committed together travel to their first
//     attempt in one job (delivery.BatchKind, --batch-size 50): River's
//     per-job SQL, the limit below, is paid once per batch. A delivery not
//     answered 2xx there goes on as a job of its own. 1 endpoint: 1,700 →
//     3,254–4,766 deliveries/s (4 runs); p99 at 500 events/s unchanged
//     (batches only form under load).
//   - MaxWorkers 1000 (--workers): attempts are network-bound.
//   - FetchCooldown 5ms, FetchPollInterval 25ms: River's defaults (100ms,
//     1s) cap SQLite near 1,000 jobs/s with p99 in seconds, and SQLite has
//     no LISTEN, so the poll interval is the pickup latency.
//   - JobTimeout = the limiter's longest wait (10s) + --timeout + 5s (a
//     batch: + --timeout more, after which it splits off its rest);
//     RescueStuckJobsAfter = a batch's JobTimeout + 10s (45s): after kill
//     -9 the attempts that were in flight are retried within about a
//     minute, not River's default hour.
//   - Retention: delivered and cancelled deliveries --retention (72h, also
//     the Idempotency-Key window); dead ones kept forever by default
//     (--dead-retention) so they can be replayed (River's JobRetry).
//   - SoftStopTimeout = --timeout + 1s: on SIGTERM attempts in flight finish;
//     the rest go back to the store without counting as an attempt.
//   - synchronous=FULL by default: an event answered 202 survives power loss,
//     not just kill -9, and with batched commits (one fsync per batch) it
//     costs about 3% here (medians of 3 runs: ≈1,860 vs ≈1,920 deliveries/s
//     with NORMAL); --sqlite-synchronous normal is there for disks where
//     fsync is slow.
//
// Where the time went before batches (pprof of BenchmarkDeliveries,
// SQLite, one endpoint): River's SQLite statements hold the one connection for about
// 400µs of CPU per delivery — the completion UPDATE ~170µs (its RETURNING
// re-serializes the whole row, args included), the insert ~125µs, the fetch
// ~100µs — and that connection, busy ~75% of the wall time, is what caps
// the throughput: the process uses only ~1.6 of the 2 cores. The rest:
// net/http (ingest server, delivery client) ~20%, River's executor ~6%, GC
// ~6%. River alone, no-op worker, same rows: ~4,300 jobs/s here; inserted
// while being worked, as ingest does, 2,900–3,300/s (internal/bench): River's
// own ceiling on this store before any HTTP, whence batches (above): with
// them the daemon's CPU per delivery fell from ~725µs to ~240–350µs.
//
// Tried and not kept: mattn/go-sqlite3 (cgo) instead of modernc.org/sqlite
// made River alone 15–20% faster (5,388–6,108 vs 4,704–5,000 no-op jobs/s)
// but would end CGO_ENABLED=0 builds.
//
// Removed from the per-delivery cost (in-process A/B, medians of 3 runs
// each, ±10% noise: 1,636 → 2,031 deliveries/s, 921 → 776µs of CPU per
// delivery; PostgreSQL 2,482 → 2,780/s):
//
//   - The attempt record of a 200 answer (delivery.MetadataAttempts): any
//     metadata update makes River merge JSON in the completing UPDATE (a
//     recursive CTE with temporary b-trees on SQLite, GIN entries on
//     PostgreSQL); alone worth ~15% (1,599 → 1,841/s). The delivery log
//     implies that attempt from the completed job.
//   - Ingest parsing (ingest.parseEvent): the event was decoded into a map
//     of raw messages (~30µs); now validated once and its top level walked.
//
// A hand-written decoder of the job args (River decodes them at every
// attempt with encoding/json, ~30µs) saved ~5µs, under 1% of a delivery's
// CPU: not worth its code, so not kept.
// With batches that decode is a larger share: ~15% of the CPU in a
// PostgreSQL drain profile (BenchmarkDrain), half of it json.Unmarshal's
// validity scan, which runs before any custom decoder could; keeping the
// payloads out of the job args (a row per event) is the next step there.
//
// # A backlog to one endpoint
//
// River fetches as many jobs as it has free workers (--workers, 1000),
// oldest first: a backlog to one endpoint fills them all, while only
// --endpoint-concurrency of them can be attempting. The limiter first let
// wait only what it predicted would get a slot within 2s and snoozed the
// rest, which freed their workers for River to fetch more of the same
// backlog and snooze those too: draining 100,000 stored deliveries (2,000
// batch jobs) took 4,900–5,300 snoozes, each a fetch, a JSON decode of
// ~30 KB of args and an UPDATE rewriting the GIN entries of those args,
// and the endpoint's slots sat idle between them (PostgreSQL: 5,100–5,600
// deliveries/s in make bench; SQLite 4,500). Now a delivery waits in memory
// as long as the endpoint's attempts take at most 2s and keep ending (up to
// 10s), and snoozes only for a slow, stalled or paused endpoint. No
// snoozes then: PostgreSQL 11,147–12,925/s, SQLite 9,494–15,331/s (runs
// of make bench).
// Tried on the way and not kept: snoozing each delivery to its predicted
// place in the endpoint's line (one snooze each instead of 2.7, but the
// pace measured under that churn was too slow: 2,800–4,700/s).
//
// Waiting instead of snoozing gives up the only way a FIFO queue had to let
// other endpoints' deliveries past a backlog (River's open-source fetch has
// no per-key limit). Priorities take that role: ingest (and the relay)
// store a delivery at River priority 2 (delivery.NewDelivery.Behind) when
// its endpoint already has --endpoint-concurrency deliveries stored and
// not attempted yet (delivery.Backlog, a count of what was stored, never
// of timing), and River fetches priority 1 first whatever the age, so
// another endpoint's new delivery waits for at most that many of the
// backlog's (TestBusyEndpointDoesNotHoldUpOthers asserts the stored
// priorities). Deciding from the limiter's "every slot taken" at post time
// raced: it is false before the endpoint's first fetch and between
// attempts. The count is each process's own: a backlog left by an earlier
// run or stored by another replica is not counted.
//
// Tried and not kept, no gain beyond the noise of this shared machine:
// GOGC=400, GODEBUG=adaptivestackstart=1, SQLite temp_store=memory with a
// 64 MiB page cache, --fetch-cooldown 2ms/10ms/20ms (and 1/10/50ms on
// PostgreSQL), --workers 128 instead of 1000, 256 posting clients.
//
// # Replicas on PostgreSQL
//
// With --store postgres://... several daemons share one queue: any replica
// accepts events, and River hands each delivery to one replica at a time
// (rows are locked as they are fetched). Settings differ from SQLite's:
//
//   - FetchCooldown 1ms, FetchPollInterval 200ms: an insert by any replica
//     NOTIFYs the others (LISTEN over pgx), so new deliveries are picked up
//     at once; polling only finds retries and snoozes coming due.
//   - One pgx pool per replica, pool_max_conns in the DSN, default 10
//     (store.DefaultPoolMaxConns).
//   - Migrations on start under an advisory lock; `daemon migrate` alone.
//   - The per-endpoint limit (--endpoint-concurrency) and a 410's disable
//     mark are each replica's own: N replicas may hold N × the limit open
//     to one endpoint, and each replica disables an endpoint at its own
//     first 410.
//
// Where the time went with one replica and a job per delivery, on a
// loopback PostgreSQL 15 sharing the 2 cores (BenchmarkDrain: deliveries
// stored first, then delivered;
// pg_stat_statements, perf and pprof): the machine spends ~350–450µs of CPU
// per delivery, of which PostgreSQL ~150–170µs — River's completing UPDATE
// ~115µs per row and its fetch ~80µs per row of server time, both
// dominated by index maintenance: neither update can be HOT (state is
// indexed), so each rewrites the row's entries in every index of
// river_job, the GIN indexes on args and metadata most of all (gininsert
// alone ~28% of the server's CPU). The daemon process, with the verifying
// receiver, ~210–240µs: net/http client and server ~45%, River's executor
// (a goroutine, contexts and a JSON decode per job) ~30%, GC ~9%. River
// alone, no-op worker, same rows, no HTTP: 7,700–11,600 jobs/s here
// depending on the machine's other load. Batches took River's share and
// the GIN churn per delivery down by their size: 2,398 → 3,291–4,835
// deliveries/s to one endpoint, 342 → 165–232µs of daemon CPU per
// delivery. With the backlog waiting in memory (above), one replica
// delivers a stored backlog to one endpoint at 11,100–12,900/s in make
// bench (daemon CPU 83–102µs per delivery). End to end it does
// 3,200–4,200/s here: every delivery then also costs an ingest request and
// its commit, and the benchmark's posting clients and receivers, all on
// the same 2 cores.
//
// Every replica reconciles, not only River's elected leader: each needs the
// url and secret current at every attempt, and the subscriptions at every
// ingest, from its own registry; a leader-only reconcile would have to ship
// secrets through the database. The cost is one webhook listing per account
// per replica per --reconcile-interval. What must happen once — cancelling
// the pending deliveries of a removed (or 410) endpoint — is a River job
// (delivery.CancelArgs) inserted by whichever replicas notice, unique per
// endpoint and reason, so one replica does it, and it survives that
// replica's death. A delivery that escapes it is cancelled at its next
// attempt by the registry lookup.
//
// A replica killed mid-attempt leaves its deliveries "running"; River's
// rescuer, on the leader (re-elected within about 15s if the dead one led),
// makes them retryable RescueStuckJobsAfter after they started, checking
// every 30s. Those attempts may be repeated: receivers dedupe on
// X-Chatwoot-Delivery.
//
// Deliveries only start once the first reconcile completed: before that a
// delivery could not tell a removed webhook from one not listed yet. Until
// then ingest answers 503 and /readyz 503.
//
// # Operating it
//
// One listener (--listen) serves the relay route, ingest, /healthz and
// /readyz, the admin API (internal/admin: the endpoints with their health,
// the delivery log with every attempt, replay, re-enabling), GET /metrics
// (internal/metrics) and River's own web UI at /riverui/ (--river-ui). The
// access rule is admin.Gate: the relay route is open to every client and
// authenticated by Chatwoot's signature; health is open; everything else
// refuses a Host that is not one of the daemon's names (DNS rebinding), a
// cross-origin browser request and a POST that is not application/json,
// and then answers loopback clients only without --admin-token; with it,
// ingest needs the token from other hosts and the rest from everyone.
//
// Each attempt's status code and duration go into the job's metadata (River
// keeps only failed attempts' errors), merged by River in the UPDATE that
// records the outcome — except an attempt answered 200, which the
// completed job implies (see above); every attempt also feeds the
// endpoint's health in the registry and the metrics, the attempt latency
// histogram included (delivery.WorkerOptions.OnResult).
package daemon
