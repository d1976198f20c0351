package chatwoot

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
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

// TestSignerSignsAsSign: a Signer's signatures are Sign's, for keys
// shorter and longer than SHA-256's block, bodies of any length, one after
// the other on the same Signer (its states reset) and at once from many
// goroutines (run with -race).
func TestSignerSignsAsSign(t *testing.T) {
	bodies := [][]byte{nil, []byte(`{"event":"message_created","id":1}`), []byte(strings.Repeat("é", 5000))}
	for _, secret := range []string{"whsec-test", "", strings.Repeat("k", 100)} {
		s := NewSigner(secret)
		for i, body := range bodies {
			ts := int64(1700000000 + i)
			if got, want := string(s.AppendSign([]byte("x"), ts, body)), "x"+Sign(secret, ts, body); got != want {
				t.Fatalf("secret of %d bytes, body %d: AppendSign = %s, want %s", len(secret), i, got, want)
			}
		}
	}
	s := NewSigner("whsec-test")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				body := fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i)
				if got, want := string(s.AppendSign(nil, int64(i), body)), Sign("whsec-test", int64(i), body); got != want {
					errs <- fmt.Errorf("goroutine %d, signature %d: %s, want %s", g, i, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func BenchmarkSign(b *testing.B) {
	body := []byte(strings.Repeat("x", 576)) // the bench's payload size
	b.Run("Sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Sign("whsec-test", 1700000000, body)
		}
	})
	b.Run("Signer", func(b *testing.B) {
		b.ReportAllocs()
		s := NewSigner("whsec-test")
		var dst []byte
		for b.Loop() {
			dst = s.AppendSign(dst[:0], 1700000000, body)
		}
	})
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
