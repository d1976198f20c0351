package chatwoot

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// The expected value was computed outside Go, with upstream's formula:
//
//	printf '%s' '1700000000.{"event":"message_created","id":1}' | openssl dgst -sha256 -hmac 'whsec-test' -hex
func TestSignKnownVector(t *testing.T) {
	got := Sign("whsec-test", 1700000000, []byte(`{"event":"message_created","id":1}`))
	const want = "sha256=08dc62860c05ce4269cf92bae5fbe871110eb1f0f8655288c16c6b9647ea9574"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event":"message_created"}`)
	now := time.Unix(1700000000, 0)
	signed := func(secret string, at time.Time) http.Header {
		h := http.Header{}
		SignatureHeaders(h, secret, at, body)
		return h
	}
	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		wantErr error
	}{
		{"valid", signed("s3cret", now), body, nil},
		{"wrong secret", signed("other", now), body, ErrSignatureMismatch},
		{"body changed", signed("s3cret", now), []byte(`{"event":"message_created" }`), ErrSignatureMismatch},
		{"missing", http.Header{}, body, ErrSignatureMissing},
		{"too old", signed("s3cret", now.Add(-10*time.Minute)), body, ErrTimestampSkew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify("s3cret", tt.header, tt.body, 5*time.Minute, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
