// Package daemon is `terraform-provider-chatwoot daemon`: it parses the
// flags and wires the reconciler (internal/endpoints), the durable queue
// (internal/store), the workers (internal/delivery) and the ingest API
// (internal/ingest) together, and shuts them down in order on SIGTERM.
//
// Data flows one way: an event POSTed to the ingest API becomes one River
// job per subscribed endpoint, committed before the 202; a worker makes one
// attempt per job, looking the endpoint's url and secret up in the registry
// at that moment (secrets are never written to the store).
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
//   - Ingest batches concurrent posts into one InsertMany transaction.
//   - MaxWorkers 1000 (--workers): attempts are network-bound.
//   - FetchCooldown 5ms, FetchPollInterval 25ms: River's defaults (100ms,
//     1s) cap SQLite near 1,000 jobs/s with p99 in seconds, and SQLite has
//     no LISTEN, so the poll interval is the pickup latency.
//   - JobTimeout = limiter wait + --timeout + 5s; RescueStuckJobsAfter =
//     JobTimeout + 10s: after kill -9 the attempts that were in flight are
//     retried within about a minute, not River's default hour.
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
// Deliveries only start once the first reconcile completed: before that a
// delivery could not tell a removed webhook from one not listed yet. Until
// then ingest answers 503 and /readyz 503.
package daemon
