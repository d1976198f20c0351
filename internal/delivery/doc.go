// Package delivery delivers one event to one endpoint, durably: the River
// job args and worker, the signed HTTP sender (byte-compatible with
// Chatwoot's own deliveries), the retry schedule, the SSRF guard applied at
// dial time and the per-endpoint concurrency limiter that keeps a slow or
// dead endpoint from delaying the others.
//
// One delivery is one River job. Its X-Chatwoot-Delivery id is chosen at
// ingest and stays the same on every attempt; the url and secret are looked
// up in the endpoint registry at each attempt and the signature is computed
// fresh each time.
package delivery
