// Package delivery delivers one event to one endpoint, durably: the River
// job args and worker, the signed HTTP sender (byte-compatible with
// Chatwoot's own deliveries), the retry schedule, the SSRF guard applied at
// dial time and the per-endpoint concurrency limiter that keeps a slow or
// dead endpoint from delaying the others.
//
// A delivery is a River job of its own (Args, Worker), or one of a batch
// (BatchArgs, BatchWorker): deliveries to one endpoint stored together are
// carried to their first attempt by one job, which pays River's per-job
// SQL once for all of them, and any delivery not answered 2xx there goes on
// as a job of its own. Its X-Chatwoot-Delivery id is chosen at ingest and
// stays the same on every attempt; the url and secret are looked up in the
// endpoint registry at each attempt and the signature is computed fresh
// each time.
package delivery
