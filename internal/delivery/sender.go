package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

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

	// Now is the clock used for X-Chatwoot-Timestamp; default time.Now.
	Now func() time.Time
}

// Sender POSTs one signed delivery attempt over HTTP/1.1, as Chatwoot's own
// delivery does. It never follows redirects and never uses proxies from
// the environment (a proxy would dial the endpoint for us, around the
// guard).
//
// Its client is fasthttp's rather than net/http's: the attempt is most of
// what a delivery costs the daemon, and fasthttp's costs about half the
// CPU (pooled requests and buffers, no goroutines per connection; figures
// in the measurements guide). How many attempts run at once is bounded by
// the workers and the per-endpoint limiter, not by the client.
type Sender struct {
	client    *fasthttp.Client
	timeout   time.Duration
	userAgent string
	now       func() time.Time
	signers   sync.Map // webhook secret → *chatwoot.Signer
	nSigners  atomic.Int64
}

// maxSigners bounds the Signers a Sender keeps, one per secret it signed
// with: past it they are dropped, and made again as attempts need them.
const maxSigners = 10_000

// NewSender returns a Sender.
func NewSender(opts SenderOptions) *Sender {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dialer := net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	if opts.Guard != nil {
		dialer.Control = opts.Guard.Control
	}
	return &Sender{
		client: &fasthttp.Client{
			// Through net.Dialer, so the guard sees each resolved address.
			DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
				d := dialer
				d.Timeout = min(d.Timeout, timeout)
				c, err := d.Dial("tcp", addr)
				if err != nil {
					return nil, err
				}
				return newCheckedConn(c), nil
			},
			MaxConnsPerHost:          math.MaxInt32,
			MaxIdleConnDuration:      90 * time.Second,
			NoDefaultUserAgentHeader: true,
			// The status, Retry-After and the start of the body are all an
			// attempt keeps: the rest is read (up to drainLimit) or the
			// connection closed, never buffered whole.
			StreamResponseBody: true,
			ReadBufferSize:     32 << 10, // the longest response header accepted
			RetryIfErr:         retryStale,
			// Every pooled connection of an endpoint that restarted is
			// stale: each retry closes one, so the loop ends once the
			// pool is spent (or at the deadline), on a new connection.
			MaxIdemponentCallAttempts: math.MaxInt32,
		},
		timeout:   opts.Timeout,
		userAgent: opts.UserAgent,
		now:       opts.Now,
	}
}

// retryStale sends a request again, on another connection, when the one
// it was given had been closed by the endpoint while idle: nothing of it
// was written. Any other failure is the attempt's, retried on its
// schedule: an endpoint that read the request and closed without an
// answer may have acted on it.
func retryStale(_ *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	return false, errors.Is(err, errStaleConn)
}

const (
	snippetLimit = 256      // bytes of the answer's body kept for the attempt's record
	drainLimit   = 64 << 10 // bytes read past it so the connection can be reused
)

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

// headers sets the delivery headers exactly as upstream's
// Webhooks::Trigger does, plus a User-Agent, but the signature's (send
// sets those, only when the webhook has a secret, as upstream).
func (s *Sender) headers(h *fasthttp.RequestHeader, req Request) {
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	if s.userAgent != "" {
		h.Set("User-Agent", s.userAgent)
	}
	h.Set(chatwoot.HeaderDelivery, req.DeliveryID)
}

// sign appends the values of X-Chatwoot-Timestamp and X-Chatwoot-Signature
// for req, signed now, to ts and sig.
func (s *Sender) sign(req Request, ts, sig []byte) ([]byte, []byte) {
	now := s.now().Unix()
	return strconv.AppendInt(ts, now, 10), s.signer(req.Secret).AppendSign(sig, now, req.Body)
}

// signer is secret's Signer.
func (s *Sender) signer(secret string) *chatwoot.Signer {
	if v, ok := s.signers.Load(secret); ok {
		return v.(*chatwoot.Signer)
	}
	if s.nSigners.Add(1) > maxSigners {
		s.signers.Clear()
		s.nSigners.Store(1)
	}
	v, _ := s.signers.LoadOrStore(secret, chatwoot.NewSigner(secret))
	return v.(*chatwoot.Signer)
}

// Send makes one attempt. A non-nil error means no answer arrived
// (connection refused, timeout, blocked address...), or that ctx ended
// first: the attempt is then abandoned as it stands, as a cut connection
// would leave it (the endpoint may have it).
func (s *Sender) Send(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	deadline := start.Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// The client has no way to cut a request short: it runs on in a
	// goroutine of its own, bounded by the deadline, while ctx may end
	// the wait for it.
	done := make(chan sent, 1)
	go func() { done <- s.send(req, deadline) }()
	select {
	case r := <-done:
		r.resp.Elapsed = time.Since(start)
		return r.resp, r.err
	case <-ctx.Done():
		return Response{Elapsed: time.Since(start)}, ctx.Err()
	}
}

// errClosedUnanswered: the endpoint closed the connection without a byte
// of an answer.
var errClosedUnanswered = errors.New("the endpoint closed the connection without answering")

// noAnswer names what happened in the words of an attempt's record.
func (s *Sender) noAnswer(err error) error {
	switch {
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF):
		return errClosedUnanswered
	case errors.Is(err, fasthttp.ErrTimeout):
		return fmt.Errorf("no answer within the attempt's timeout (%s): %w", s.timeout, err)
	}
	return err
}

type sent struct {
	resp Response
	err  error
}

// send posts req before deadline; req.Body is sent as it is, not copied.
func (s *Sender) send(req Request, deadline time.Time) sent {
	hreq, hresp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(hreq)
	defer fasthttp.ReleaseResponse(hresp)
	hreq.SetRequestURI(req.URL)
	hreq.Header.SetMethod(fasthttp.MethodPost)
	s.headers(&hreq.Header, req)
	if req.Secret != "" {
		// As bytes, which the header copies: no strings made.
		var tsBuf [20]byte
		var sigBuf [chatwoot.SignatureLen]byte
		ts, sig := s.sign(req, tsBuf[:0], sigBuf[:0])
		hreq.Header.SetBytesV(chatwoot.HeaderTimestamp, ts)
		hreq.Header.SetBytesV(chatwoot.HeaderSignature, sig)
	}
	hreq.SetBodyRaw(req.Body)
	if err := s.client.DoDeadline(hreq, hresp, deadline); err != nil {
		return sent{err: s.noAnswer(err)}
	}
	var head []byte
	switch body := hresp.BodyStream(); {
	case body == nil:
		head = hresp.Body()
		head = head[:min(len(head), snippetLimit)]
	case hresp.Header.ContentLength() != 0: // an empty answer has nothing to read
		var buf [snippetLimit]byte
		n, err := io.ReadFull(body, buf[:])
		head = buf[:n]
		if err == nil { // the body goes on past the snippet
			_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
		}
	}
	out := Response{Status: hresp.StatusCode(), Snippet: snippet(head)}
	out.RetryAfter, out.HasRetry = chatwoot.ParseRetryAfter(string(hresp.Header.Peek("Retry-After")), s.now())
	return sent{resp: out}
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
