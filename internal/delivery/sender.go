package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/netguard"
)

// SenderOptions configures a Sender.
type SenderOptions struct {
	// Timeout bounds one attempt: connect, TLS, request and answer. Default 10s.
	Timeout time.Duration

	// UserAgent names the project and version.
	UserAgent string

	// Guard refuses non-public addresses at dial time; nil allows all
	// (only for tests of the sender itself).
	Guard *netguard.Guard

	// MaxIdleConnsPerHost keeps this many connections warm per endpoint
	// host; default 32.
	MaxIdleConnsPerHost int

	// Now is the clock used for X-Chatwoot-Timestamp; default time.Now.
	Now func() time.Time
}

// Sender POSTs one signed delivery attempt. It never follows redirects and
// never uses proxies from the environment (a proxy would dial the endpoint
// for us, around the guard).
type Sender struct {
	client    *http.Client
	userAgent string
	now       func() time.Time
}

// NewSender returns a Sender.
func NewSender(opts SenderOptions) *Sender {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = 32
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	if opts.Guard != nil {
		dialer.Control = opts.Guard.Control
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &Sender{
		client: &http.Client{
			Transport:     transport,
			Timeout:       opts.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		userAgent: opts.UserAgent,
		now:       opts.Now,
	}
}

// Request is one attempt of a delivery.
type Request struct {
	URL        string
	Secret     string
	DeliveryID string
	Body       []byte
}

// Response is what the endpoint answered.
type Response struct {
	Status     int
	RetryAfter time.Duration // valid when HasRetryAfter
	HasRetry   bool
	Snippet    string // start of the body, for the attempt's error record
	Elapsed    time.Duration
}

// OK reports a 2xx answer: the only success.
func (r Response) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// Headers sets the delivery headers exactly as upstream's
// Webhooks::Trigger does, plus a User-Agent. The signature is only sent
// when the webhook has a secret, as upstream.
func (s *Sender) Headers(h http.Header, req Request) {
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	if s.userAgent != "" {
		h.Set("User-Agent", s.userAgent)
	}
	h.Set(chatwoot.HeaderDelivery, req.DeliveryID)
	if req.Secret != "" {
		chatwoot.SignatureHeaders(h, req.Secret, s.now(), req.Body)
	}
}

// Send makes one attempt. A non-nil error means no answer arrived
// (connection refused, timeout, blocked address...).
func (s *Sender) Send(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return Response{}, fmt.Errorf("building the request: %w", err)
	}
	s.Headers(hreq.Header, req)
	resp, err := s.client.Do(hreq)
	if err != nil {
		return Response{Elapsed: time.Since(start)}, err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	out := Response{Status: resp.StatusCode, Snippet: snippet(head), Elapsed: time.Since(start)}
	out.RetryAfter, out.HasRetry = chatwoot.ParseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	return out, nil
}

func snippet(b []byte) string {
	s := strings.ToValidUTF8(strings.TrimSpace(string(b)), "�")
	if len(s) > 200 {
		i := 200
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}
