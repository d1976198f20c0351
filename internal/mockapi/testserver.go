package mockapi

import (
	"net/http/httptest"
	"testing"
)

// NewTestServer starts the mock on a local httptest server for a test. Both
// are closed at t.Cleanup; the server's URL is the provider's base_url.
func NewTestServer(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		_ = s.Close()
	})
	return s, ts
}
