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
// Between scenarios on PostgreSQL river_job is truncated, as each SQLite
// scenario gets a fresh file. Deleting the rows was not enough: after the
// 1M backlog, the scenarios ran through a million dead rows (1 replica:
// 1,703/s and p99 935 ms at 500/s, against 2,359/s and 45 ms), and with a
// VACUUM after the delete, a drain after the other scenarios still ran at
// 4,670/s, against 9,634/s alone.
//
// # Figures (one run of `make bench` with batches, --batch-size 50)
//
// On the 2-core machine of the project, shared with other work: figures
// move a lot between runs (ranges: every run of the day). Before: the
// last run with a queue job per delivery (internal/daemon's documentation
// has what changed and the profiles).
//
//	                                    SQLite (synchronous=full)           PostgreSQL 15, 1 replica
//	raw signed-POST ceiling             21,276 req/s                        17,453 req/s
//	River alone, no-op worker           4,075 jobs/s (10,658 inserts/s)     7,811 jobs/s (18,525 inserts/s)
//	  inserting while working           3,463 jobs/s (2,892–3,463)          6,391 jobs/s (6,036–9,607)
//	deliveries/s, 1 endpoint            3,726/s (17.5%; 3,254–4,766;        3,312/s (19.0%; 3,291–4,835;
//	                                      before 1,700)                       before 2,398)
//	deliveries/s, 100 endpoints         4,792/s (4,458–4,834; before 2,548) 5,431/s (5,406–6,262; before 3,164)
//	draining a stored backlog           4,549/s                             5,216/s (4,670–9,634)
//	daemon CPU per delivery             306 µs (1), 279 µs (100)            248 µs (1), 178 µs (100)
//	  (before: 725 µs, 497 µs | 342 µs, 287 µs)
//	benchmark process per delivery      160 µs (1), 90 µs (100)             176 µs (1), 83 µs (100)
//	ingest→first attempt at 500/s       p50 14 ms, p99 41 ms (41–59)        p50 4.7 ms, p99 21 ms (17–150)
//	peak RSS                            48 MiB (1), 75 MiB (100)            39 MiB (1), 65 MiB (100)
//	1M backlog written                  87 s (11,436/s)                     53 s (18,704/s)
//	RSS, 1M backlog to a dead endpoint  79 MiB after 60 s, peak 87 MiB      60 MiB after 60 s, peak 106 MiB
//
//	PostgreSQL replicas (TestBenchReplicas)   1 replica            2 replicas
//	deliveries/s, 1 endpoint                  3,194/s              2,384/s
//	ingest→first attempt at 500/s             p50 4.9, p99 17 ms   p50 8.4, p99 25 ms
//
// (The SQLite and PostgreSQL columns are two runs of `make bench` an hour
// apart; the raw ceiling shows how much the shared machine moved.)
//
// Met: 3,000 deliveries/s to one endpoint on SQLite — River alone, a job
// per delivery, inserting while working, does ~3,000 jobs/s here, so only
// batches get past it — p99 ≤100 ms at 500 events/s, RSS ≤150 MB with 1M
// deliveries backlogged. Not met: 10,000 deliveries/s with one PostgreSQL
// replica. With batches River's share is small; what remains is HTTP on
// the same 2 cores — per delivery to one endpoint an ingest request and a
// delivery request, the daemon's ~150–200µs and the benchmark's
// ~140µs of CPU — so 3,300–6,300/s end to end is what these 2 cores give.
// Delivery alone (BenchmarkDrain in internal/daemon, in-process, fresh
// table) reached 9,445–10,840/s; in this harness 4,670–9,634/s. Two
// replicas on the same 2 cores are slower than one: they add a second
// daemon's fixed costs to CPUs that are already full.
package bench
