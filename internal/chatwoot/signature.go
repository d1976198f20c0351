package chatwoot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Delivery headers, as upstream's Webhooks::Trigger sends them.
const (
	HeaderDelivery  = "X-Chatwoot-Delivery"
	HeaderTimestamp = "X-Chatwoot-Timestamp"
	HeaderSignature = "X-Chatwoot-Signature"
)

// NewDeliveryID returns a fresh X-Chatwoot-Delivery value for a delivery
// the daemon makes itself. Upstream sends a random UUID (SecureRandom.uuid,
// v4); this is a UUIDv7 (RFC 9562), as unique and as opaque to receivers,
// but ordered by time, so a store's unique index on delivery ids grows at
// its end instead of taking a random page per delivery. uuid.NewV7 fails
// only when the system's random source does, where uuid.NewString panics.
func NewDeliveryID() string { return uuid.Must(uuid.NewV7()).String() }

// Sign returns the X-Chatwoot-Signature value for body sent at timestamp:
// "sha256=" + hex(HMAC-SHA256(secret, "<timestamp>.<body>")).
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	writeSigned(mac, nil, timestamp, body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// writeSigned writes what a signature signs, "<timestamp>.<body>", to mac,
// the timestamp through buf.
func writeSigned(mac hash.Hash, buf []byte, timestamp int64, body []byte) {
	mac.Write(append(strconv.AppendInt(buf[:0], timestamp, 10), '.'))
	mac.Write(body)
}

// Signer makes Sign's signatures for one secret, reusing HMAC states keyed
// with it and their buffers, where Sign keys a new one (two blocks hashed,
// a dozen allocations) for each signature: a delivery attempt's largest
// cost after its system calls. It is safe for concurrent use.
type Signer struct{ macs sync.Pool }

type signerState struct {
	mac hash.Hash
	buf [64]byte
}

// NewSigner returns the Signer of secret.
func NewSigner(secret string) *Signer {
	key := []byte(secret)
	s := &Signer{}
	s.macs.New = func() any { return &signerState{mac: hmac.New(sha256.New, key)} }
	return s
}

// SignatureLen is the length of an X-Chatwoot-Signature value.
const SignatureLen = len("sha256=") + 2*sha256.Size

// AppendSign appends Sign(secret, timestamp, body) to dst.
func (s *Signer) AppendSign(dst []byte, timestamp int64, body []byte) []byte {
	st := s.macs.Get().(*signerState)
	writeSigned(st.mac, st.buf[:0], timestamp, body)
	sum := st.mac.Sum(st.buf[:0])
	st.mac.Reset()
	dst = hex.AppendEncode(append(dst, "sha256="...), sum)
	s.macs.Put(st)
	return dst
}

// HeaderSetter is a request's headers, such as an http.Header.
type HeaderSetter interface{ Set(key, value string) }

// SignatureHeaders sets X-Chatwoot-Timestamp and X-Chatwoot-Signature on h.
func SignatureHeaders(h HeaderSetter, secret string, now time.Time, body []byte) {
	ts := now.Unix()
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(secret, ts, body))
}

// Reasons Verify rejects a delivery.
var (
	ErrSignatureMissing  = errors.New("X-Chatwoot-Signature or X-Chatwoot-Timestamp header missing")
	ErrSignatureMismatch = errors.New("signature does not match the body and the webhook secret")
	ErrTimestampSkew     = errors.New("timestamp outside the allowed tolerance (replayed or clock skew)")
)

// Verify checks the signature headers of a delivery against the exact body
// bytes received. A tolerance of 0 skips the timestamp check.
func Verify(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	tsText, sig := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if tsText == "" || sig == "" {
		return ErrSignatureMissing
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("X-Chatwoot-Timestamp %q is not unix seconds: %w", tsText, err)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("%w: expected the form sha256=<hex>", ErrSignatureMismatch)
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return ErrSignatureMismatch
	}
	if tolerance > 0 {
		if skew := now.Sub(time.Unix(ts, 0)); skew > tolerance || skew < -tolerance {
			return fmt.Errorf("%w: %s", ErrTimestampSkew, skew.Round(time.Second))
		}
	}
	return nil
}
