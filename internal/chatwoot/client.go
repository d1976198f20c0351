package chatwoot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// DefaultBaseURL is Chatwoot's hosted installation.
const DefaultBaseURL = "https://app.chatwoot.com"

// Options configures a Client. Zero values pick the documented defaults.
type Options struct {
	BaseURL string // default DefaultBaseURL
	Token   string // api_access_token; required

	Timeout    time.Duration // per attempt; default 30s
	MaxRetries int           // retries after the first attempt for 429, 5xx and connection errors

	RetryWaitMin time.Duration // first backoff; default 1s
	RetryWaitMax time.Duration // backoff ceiling, also caps Retry-After; default 30s

	UserAgent string            // default "terraform-provider-chatwoot"
	Transport http.RoundTripper // default a clean pooled transport
	Logger    Logger            // default no logging
}

// Logger receives one line per HTTP attempt and answer. The token is never
// among the fields. A Logger that is also a Warner is told of a
// Retry-After longer than the client waits.
type Logger interface {
	Debug(ctx context.Context, msg string, keysAndValues ...any)
}

// Warner is an optional part of a Logger.
type Warner interface {
	Warn(ctx context.Context, msg string, keysAndValues ...any)
}

// Client is a typed client of Chatwoot's account API.
type Client struct {
	base      *url.URL
	token     string
	userAgent string
	http      *retryablehttp.Client
	logger    Logger
}

// NewClient validates opts and returns a Client. Errors name the bad option
// and how to fix it.
func NewClient(opts Options) (*Client, error) {
	if strings.TrimSpace(opts.Token) == "" {
		return nil, errors.New("chatwoot: no API access token: set api_access_token or CHATWOOT_API_ACCESS_TOKEN to an administrator's token (Profile settings → Access Token)")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	base, err := ParseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxRetries < 0 {
		return nil, fmt.Errorf("chatwoot: max_retries is %d; use 0 or more", opts.MaxRetries)
	}
	if opts.RetryWaitMin <= 0 {
		opts.RetryWaitMin = time.Second
	}
	if opts.RetryWaitMax <= 0 {
		opts.RetryWaitMax = 30 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "terraform-provider-chatwoot"
	}
	c := &Client{base: base, token: opts.Token, userAgent: opts.UserAgent, logger: opts.Logger}

	rc := retryablehttp.NewClient()
	rc.Logger = nil // attempts are logged through our hooks, never with headers
	rc.RetryMax = opts.MaxRetries
	rc.RetryWaitMin, rc.RetryWaitMax = opts.RetryWaitMin, opts.RetryWaitMax
	rc.Backoff = func(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
		d := jitterBackoff(minWait, maxWait, attempt, resp)
		if resp != nil {
			if ra, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && ra > maxWait {
				if w, ok := c.logger.(Warner); ok {
					w.Warn(resp.Request.Context(), "Chatwoot asked to wait longer than the client waits between attempts; retrying sooner",
						"retry_after", ra.String(), "waiting", d.String(), "status", resp.StatusCode, "path", resp.Request.URL.Path)
				}
			}
		}
		return d
	}
	rc.CheckRetry = retryablehttp.ErrorPropagatedRetryPolicy
	rc.ErrorHandler = func(resp *http.Response, err error, tries int) (*http.Response, error) {
		return resp, &retriesSpent{attempts: tries, err: err}
	}
	rc.HTTPClient.Timeout = opts.Timeout
	if opts.Transport != nil {
		rc.HTTPClient.Transport = opts.Transport
	}
	rc.HTTPClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	rc.RequestLogHook = func(_ retryablehttp.Logger, r *http.Request, attempt int) {
		if n, ok := r.Context().Value(attemptsKey{}).(*int); ok {
			*n = attempt + 1
		}
		c.debug(r.Context(), "chatwoot request", "method", r.Method, "path", r.URL.Path, "attempt", attempt+1)
	}
	rc.ResponseLogHook = func(_ retryablehttp.Logger, r *http.Response) {
		c.debug(r.Request.Context(), "chatwoot response", "method", r.Request.Method, "path", r.Request.URL.Path, "status", r.StatusCode)
	}
	c.http = rc
	return c, nil
}

// ParseBaseURL checks that raw is an absolute http(s) URL without query or
// fragment, as base_url must be, and drops the path of Chatwoot's own
// routes from it (see NormalizeBaseURL).
func ParseBaseURL(raw string) (*url.URL, error) {
	u, _, err := NormalizeBaseURL(raw)
	return u, err
}

// routePrefixes are paths of Chatwoot's own routes that a base_url copied
// from the browser (/app/accounts/1/...) or from the API docs (/api/v1)
// carries; requests are made below the installation's root, so they are
// dropped. A path before them (an installation under a sub-path) stays.
var routePrefixes = []string{"/api/v1", "/api", "/app"}

// NormalizeBaseURL is ParseBaseURL, also returning the path it dropped
// ("" when none), for callers that tell the user.
func NormalizeBaseURL(raw string) (u *url.URL, dropped string, err error) {
	u, err = url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, "", fmt.Errorf("chatwoot: base_url %q is not an absolute http(s) URL like https://app.chatwoot.com (set base_url or CHATWOOT_BASE_URL to your installation's address)", raw)
	}
	for _, p := range routePrefixes {
		if i := strings.Index(u.Path+"/", p+"/"); i >= 0 {
			dropped, u.Path, u.RawPath = u.Path[i:], u.Path[:i], ""
			break
		}
	}
	return u, dropped, nil
}

// BaseURL returns the installation address the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

func (c *Client) debug(ctx context.Context, msg string, kv ...any) {
	if c.logger != nil {
		c.logger.Debug(ctx, msg, kv...)
	}
}

// jitterBackoff is exponential backoff with full jitter that honours
// Retry-After on 429 and 5xx answers, capped at max.
func jitterBackoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, maxWait)
		}
	}
	ceiling := minWait << min(attempt, 30)
	if ceiling <= 0 || ceiling > maxWait {
		ceiling = maxWait
	}
	return minWait/2 + rand.N(ceiling-minWait/2+1)
}

// ParseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// ListWebhooks returns every webhook of an account.
func (c *Client) ListWebhooks(ctx context.Context, accountID int64) ([]Webhook, error) {
	var out WebhookListResponse
	if err := c.do(ctx, http.MethodGet, accountID, webhooksPath(accountID), nil, &out); err != nil {
		return nil, err
	}
	return out.Payload.Webhooks, nil
}

// CreateWebhook creates a webhook and returns it with its generated secret.
func (c *Client) CreateWebhook(ctx context.Context, accountID int64, in WebhookInput) (Webhook, error) {
	var out WebhookResponse
	err := c.do(ctx, http.MethodPost, accountID, webhooksPath(accountID), wrap(in), &out)
	return out.Payload.Webhook, err
}

// UpdateWebhook replaces a webhook's url, name, subscriptions and inbox.
func (c *Client) UpdateWebhook(ctx context.Context, accountID, webhookID int64, in WebhookInput) (Webhook, error) {
	var out WebhookResponse
	err := c.do(ctx, http.MethodPatch, accountID, webhookPath(accountID, webhookID), wrap(in), &out)
	return out.Payload.Webhook, err
}

// DeleteWebhook deletes a webhook. Upstream answers 200 with an empty body.
func (c *Client) DeleteWebhook(ctx context.Context, accountID, webhookID int64) error {
	return c.do(ctx, http.MethodDelete, accountID, webhookPath(accountID, webhookID), nil, nil)
}

// Profile returns the token's user and its account memberships.
func (c *Client) Profile(ctx context.Context) (Profile, error) {
	var out Profile
	err := c.do(ctx, http.MethodGet, 0, "/api/v1/profile", nil, &out)
	return out, err
}

func webhooksPath(accountID int64) string {
	return "/api/v1/accounts/" + strconv.FormatInt(accountID, 10) + "/webhooks"
}

func webhookPath(accountID, webhookID int64) string {
	return webhooksPath(accountID) + "/" + strconv.FormatInt(webhookID, 10)
}

// wrap sends the body in the {"webhook": {...}} form Chatwoot's own UI uses.
func wrap(in WebhookInput) any { return map[string]WebhookInput{"webhook": in} }

func (c *Client) do(ctx context.Context, method string, accountID int64, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("chatwoot: encoding %s %s: %w", method, path, err)
		}
	}
	attempts := new(int) // counted by RequestLogHook: an answer not retried carries no count of its own
	ctx = context.WithValue(ctx, attemptsKey{}, attempts)
	req, err := retryablehttp.NewRequestWithContext(ctx, method, c.base.String()+path, payload)
	if err != nil {
		return fmt.Errorf("chatwoot: building %s %s: %w", method, path, err)
	}
	req.Header.Set("api_access_token", c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if resp == nil {
		c.debug(ctx, "chatwoot request failed", "method", method, "path", path, "error", err)
		return c.transportError(ctx, method, path, err)
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if readErr != nil {
		return fmt.Errorf("chatwoot: reading the answer to %s %s: %w", method, path, readErr)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := &APIError{StatusCode: resp.StatusCode, Method: method, Path: path, AccountID: accountID, Attempts: *attempts}
		var spent *retriesSpent
		if errors.As(err, &spent) {
			apiErr.Attempts = spent.attempts
		}
		if json.Unmarshal(raw, &apiErr.Body) != nil || apiErr.Body.Text() == "" {
			apiErr.Body.Error = snippet(raw)
		}
		return apiErr
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 && method == http.MethodDelete {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &DecodeError{Method: method, Path: path, StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Err: err}
	}
	return nil
}

// attemptsKey is the request context key of the attempt counter.
type attemptsKey struct{}

// retriesSpent carries how many attempts the retry loop made before giving up.
type retriesSpent struct {
	attempts int
	err      error
}

func (e *retriesSpent) Error() string { return e.err.Error() }
func (e *retriesSpent) Unwrap() error { return e.err }

func (c *Client) transportError(ctx context.Context, method, path string, err error) error {
	attempts := 1
	var spent *retriesSpent
	if errors.As(err, &spent) {
		attempts, err = spent.attempts, spent.err
	}
	var urlErr *url.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("chatwoot: %s %s: %w", method, path, ctx.Err())
	case errors.As(err, &urlErr) && urlErr.Timeout():
		return fmt.Errorf("chatwoot: %s %s timed out after %s per attempt (%d attempts); raise request_timeout or check that %s is reachable: %w",
			method, path, c.http.HTTPClient.Timeout, attempts, c.base.Host, ErrTimeout)
	default:
		return fmt.Errorf("chatwoot: %s %s failed after %d attempts: %w; check base_url (%s) and the network",
			method, path, attempts, err, c.base)
	}
}

// ErrTimeout is wrapped by errors from requests whose every attempt timed out.
var ErrTimeout = errors.New("request timed out")

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
