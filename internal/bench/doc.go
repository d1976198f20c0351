// Package bench is `make bench`: it measures the delivery daemon, the real
// binary in a subprocess, against receivers and a Chatwoot mock in the test
// process, all on this machine's cores, and prints one table:
//
//   - the raw signed-POST ceiling of this machine: a Go client posting the
//     same signed 576-byte body to a Go server that verifies it, over
//     loopback with keep-alive, measured in the same run;
//   - River alone on the store: the same delivery rows inserted, then
//     fetched and completed by a no-op worker, and inserted while being
//     worked as the daemon's ingest does (what the store allows);
//   - durable deliveries/s through the daemon to 1 endpoint and to 100
//     endpoints (one account with 100 webhooks: each event fans out to all),
//     from the first ingest POST to the last verified delivery, and their
//     ratio to the ceiling;
//   - deliveries/s draining a stored backlog to 1 endpoint: deliveries
//     stored before the daemon starts (coalesced as ingest stores them
//     under load), delivered with no ingest requests on the cores;
//   - ingest→first-attempt latency p50/p99 at a fixed rate of events;
//   - through the relay: events/s posted to the relay route as Chatwoot
//     (and the mock) delivers them — signed with the webhook's secret, an
//     X-Chatwoot-Delivery each — and delivered; and the relay's answer
//     latency (POST→200) p50/p99 at a fixed rate;
//   - the daemon's peak RSS (VmHWM) in each scenario;
//   - a healthy endpoint's POST→delivered latency at 200 events/s while
//     another endpoint's 100k-delivery backlog fails (connection refused)
//     and retries;
//   - the store's size per backlogged delivery;
//   - the daemon's RSS while it works a backlog of 1M deliveries to a dead
//     endpoint (connection refused), after the backlog was written straight
//     into the store (the time that took is reported too).
//
// Run it with `make bench` (or BENCH=1 go test -run TestBench -v
// ./internal/bench/). Without BENCH=1, as in `go test ./...`, it is a smoke
// run with tiny sizes that only checks the harness still works (and the
// settings below are ignored). Settings, all optional:
//
//	BENCH_STORE           store for the daemon: sqlite (default, a fresh file per scenario) or a
//	                      postgres://... DSN of a database of its own (river_job is truncated
//	                      before each scenario)
//	BENCH_SYNCHRONOUS     --sqlite-synchronous (default full, the daemon's default)
//	BENCH_EVENTS          events of the 1-endpoint run (default 30000)
//	BENCH_FANOUT_EVENTS   events of the 100-endpoint run (default 300, i.e. 30000 deliveries)
//	BENCH_DRAIN           deliveries of the drain run (default 50000)
//	BENCH_CLIENTS         concurrent posters (default 64)
//	BENCH_RATE            events/s of the latency run (default 500), BENCH_RATE_SECONDS (default 20)
//	BENCH_BACKLOG         deliveries of the backlog run (default 1000000; 0 skips it),
//	                      BENCH_BACKLOG_SECONDS how long the daemon works it (default 60)
//	BENCH_DAEMON_FLAGS    extra daemon flags, space-separated (tuning experiments)
//	BENCH_DAEMON_ENV      extra environment of the daemon, space-separated (e.g. GOGC=200)
//	BENCH_DEAD_BACKLOG    deliveries to the dead endpoint of the dead-endpoint run (default 100000),
//	BENCH_DEAD_RATE       its healthy endpoint's events/s (default 200; it runs BENCH_RATE_SECONDS),
//	BENCH_DEBUG           set: the dead-endpoint run also logs its latencies second by second
//	BENCH_ONLY            comma-separated scenarios: ceiling,river,one,fanout,drain,latency,relay,dead,backlog
//
// Speed targets are never asserted: the test fails only when deliveries go
// missing or fail verification.
//
// Between scenarios on PostgreSQL the store's tables (River's and ours)
// are truncated, as each SQLite scenario gets a fresh file: deleted rows,
// even vacuumed, slowed every later scenario.
//
// The figures of each run, and what changed between them, are in
// docs/guides/delivery-daemon-measurements.md.
package bench
