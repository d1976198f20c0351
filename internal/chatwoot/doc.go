// Package chatwoot is the one definition of Chatwoot's account API used by
// the provider, the mock API and the delivery daemon: the webhook and event
// types, the webhook signature, and a typed HTTP client that retries 429 and
// 5xx answers through go-retryablehttp.
package chatwoot
