// Package bench is `make bench`: it measures the delivery daemon, the real
// binary in a subprocess, against receivers and a Chatwoot mock in the test
// process, all on this machine's cores, and prints one table:
//
//   - the raw signed-POST ceiling of this machine: a Go client posting the
//     same signed 576-byte body to a Go server that verifies it, over
//     loopback with keep-alive, measured in the same run;
//   - River alone on the store: the same delivery rows inserted, then
//     fetched and completed by a no-op worker (what the store allows);
//   - durable deliveries/s through the daemon to 1 endpoint and to 100
//     endpoints (one account with 100 webhooks: each event fans out to all),
//     from the first ingest POST to the last verified delivery, and their
//     ratio to the ceiling;
//   - ingest→first-attempt latency p50/p99 at a fixed rate of events;
//   - the daemon's peak RSS (VmHWM) in each scenario;
//   - the daemon's RSS while it works a backlog of 1M deliveries to a dead
//     endpoint (connection refused), after the backlog was written straight
//     into the store (the time that took is reported too).
//
// Run it with `make bench` (or BENCH=1 go test -run TestBench -v
// ./internal/bench/). Settings, all optional:
//
//	BENCH_STORE           store for the daemon: sqlite (default, a fresh file per scenario) or a
//	                      postgres://... DSN (its deliveries are deleted before each scenario)
//	BENCH_SYNCHRONOUS     --sqlite-synchronous (default full, the daemon's default)
//	BENCH_EVENTS          events of the 1-endpoint run (default 30000)
//	BENCH_FANOUT_EVENTS   events of the 100-endpoint run (default 300, i.e. 30000 deliveries)
//	BENCH_CLIENTS         concurrent posters (default 64)
//	BENCH_RATE            events/s of the latency run (default 500), BENCH_RATE_SECONDS (default 20)
//	BENCH_BACKLOG         deliveries of the backlog run (default 1000000; 0 skips it),
//	                      BENCH_BACKLOG_SECONDS how long the daemon works it (default 60)
//	BENCH_DAEMON_FLAGS    extra daemon flags, space-separated (tuning experiments)
//	BENCH_DAEMON_ENV      extra environment of the daemon, space-separated (e.g. GOGC=200)
//	BENCH_ONLY            comma-separated scenarios: ceiling,river,one,fanout,latency,backlog
//
// Speed targets are never asserted: the test fails only when deliveries go
// missing or fail verification.
//
// # Figures (SQLite, synchronous=full, two runs of `make bench`)
//
// On the 2-core machine of the project, shared with other work (load
// average 1–2 during the runs; its signed-POST ceiling measured 18,600 and
// 20,100 req/s, against 36,000 when the reference was taken):
//
//	raw signed-POST ceiling             18,590 | 20,100 req/s
//	River alone, no-op worker            4,282 | 4,390 jobs/s (inserts 9,671 | 10,832/s)
//	deliveries/s, 1 endpoint             1,395 | 1,683 /s   (7.5 | 8.4% of the ceiling)
//	deliveries/s, 100 endpoints          1,965 | 2,123 /s   (fan-out 100 per event)
//	daemon CPU per delivery              884 | 732 µs (1 endpoint), 629 | 588 µs (100)
//	ingest→first attempt at 500/s        p50 15 | 16 ms, p99 50 | 52 ms
//	peak RSS                             46–47 MiB (1 endpoint), 103–117 MiB (100 endpoints)
//	1M backlog written                   97 | 95 s (10,300–10,500/s)
//	RSS, 1M backlog to a dead endpoint   78 | 70 MiB after 60 s of work, peak 80 | 91 MiB
//
// The bar of 3,000 deliveries/s on SQLite is not reached: River's own
// SQLite statements take ~380µs of the one connection per delivery (see
// internal/daemon's documentation for the profile), and the two HTTP legs,
// River's executor and the benchmark's own clients and receivers share the
// same two cores. p99 ≤100 ms at 500 events/s and RSS ≤150 MB with 1M
// deliveries backlogged are met.
package bench
