// Package delivery delivers one event to one endpoint, durably: the River
// job args and worker, the signed HTTP sender (byte-compatible with
// Chatwoot's own deliveries), the retry schedule, the SSRF guard applied at
// dial time and the per-endpoint concurrency limiter that keeps a slow or
// dead endpoint from delaying the others.
//
// A delivery is a row of the store (store.Delivery); River's jobs carry
// its id alone (Args, Worker), or the ids of a batch (BatchArgs,
// BatchWorker): deliveries to one endpoint stored together are carried to
// their first attempt by one job, which pays River's per-job SQL once for
// all of them, and any delivery answered anything but 2xx there goes on in
// a job of its own. When the endpoint does not answer at all (connection
// refused, timeout), the batch stays one job: the failed delivery is
// retried first in it on its schedule (the probe) and the rest wait, not
// attempted, behind other endpoints' first attempts (BehindPriority); they
// flow once it is answered and are dead with it if it never is, so a dead
// endpoint's backlog costs one attempt per batch and retry; a job that
// waits as it is (its deliveries unchanged, behind already) is snoozed
// rather than followed by another. The jobs a batch leaves are inserted
// in the write that completes its job (store.Recorder.Finish): run again,
// a batch never forks its deliveries twice, and no follow-up job needs
// River's uniqueness. A worker reads the
// delivery and its payload from the store, and commits the outcome with
// its attempt (Records) before it returns.
// Its X-Chatwoot-Delivery id is chosen at ingest and stays the same on
// every attempt; the url and secret are looked up in the endpoint registry
// at each attempt and the signature is computed fresh each time.
package delivery
