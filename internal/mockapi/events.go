package mockapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/netguard"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/version"
)

// EventRecord is one fired event.
type EventRecord struct {
	ID        int64           `json:"id"` // order of firing, from 1
	Event     string          `json:"event"`
	AccountID int64           `json:"account_id"`
	MessageID int64           `json:"message_id,omitempty"` // message events only
	FiredAt   time.Time       `json:"fired_at"`
	Payload   json.RawMessage `json:"payload"` // the exact bytes delivered
	// Webhooks is how many webhooks the event was delivered to, an API
	// inbox's channel webhook_url included.
	Webhooks int `json:"webhooks"`
}

// States of a DeliveryRecord.
const (
	DeliveryPending   = "pending"   // queued or in flight
	DeliveryDelivered = "delivered" // the webhook answered 2xx
	DeliveryFailed    = "failed"    // another status, a transport error or a refused address
)

// DeliveryRecord is one POST the mock made to a webhook, as upstream's
// WebhookJob makes it: once, never retried.
type DeliveryRecord struct {
	WebhookID  int64     `json:"webhook_id"`         // 0 for an API inbox's channel webhook_url
	InboxID    int64     `json:"inbox_id,omitempty"` // the API inbox, for its channel webhook_url
	AccountID  int64     `json:"account_id"`
	URL        string    `json:"url"`
	Event      string    `json:"event"`
	EventID    int64     `json:"event_id"` // EventRecord.ID
	DeliveryID string    `json:"delivery_id"`
	State      string    `json:"state"`
	Status     int       `json:"status,omitempty"` // the webhook's answer
	Error      string    `json:"error,omitempty"`  // why no answer came
	DurationMS float64   `json:"duration_ms"`
	QueuedAt   time.Time `json:"queued_at"`
}

// fireLocked records one event of an account and queues one delivery per
// webhook of the account subscribed to it, as upstream's WebhookListener
// does, and, when the event is about a conversation of an API inbox with a
// channel webhook_url, one more there, unfiltered and signed with the
// channel's secret. inboxID is 0 for contact and inbox events, which go to
// account webhooks only. The caller kicks the deliverer once it has
// unlocked s.mu.
func (s *Server) fireLocked(accountID, inboxID int64, event string, payload any) *EventRecord {
	body, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("mockapi: encoding %s: %v", event, err)) // our own types only
	}
	ev := &EventRecord{
		ID:        int64(len(s.events)) + 1,
		Event:     event,
		AccountID: accountID,
		FiredAt:   time.Now().UTC(),
		Payload:   body,
	}
	s.events = append(s.events, ev)
	for _, w := range s.webhooksOfLocked(accountID) {
		if w.url == nil || !slices.Contains(w.subscriptions, any(event)) {
			continue
		}
		ev.Webhooks++
		s.deliveries = append(s.deliveries, &DeliveryRecord{
			WebhookID: w.id, AccountID: w.accountID, URL: *w.url, Event: event, EventID: ev.ID,
			DeliveryID: uuid.NewString(), State: DeliveryPending, QueuedAt: ev.FiredAt,
		})
		s.pending = append(s.pending, outgoing{rec: s.deliveries[len(s.deliveries)-1], secret: w.secret, body: body})
	}
	if in := s.inboxes[inboxID]; in != nil && in.ChannelType == channelAPI && deref(in.channel.webhookURL) != "" {
		ev.Webhooks++
		s.deliveries = append(s.deliveries, &DeliveryRecord{
			InboxID: in.ID, AccountID: accountID, URL: *in.channel.webhookURL, Event: event, EventID: ev.ID,
			DeliveryID: uuid.NewString(), State: DeliveryPending, QueuedAt: ev.FiredAt,
		})
		s.pending = append(s.pending, outgoing{rec: s.deliveries[len(s.deliveries)-1], secret: in.channel.secret, body: body})
	}
	s.notifyEventsLocked()
	return ev
}

// deliverFired wakes the deliverers when any of evs has a delivery queued;
// like upstream's after-commit jobs, events leave after the answer.
func (s *Server) deliverFired(evs []*EventRecord) {
	for _, ev := range evs {
		if ev.Webhooks > 0 {
			s.dlv.kick()
			return
		}
	}
}

// webhooksOfLocked returns an account's webhooks by id.
func (s *Server) webhooksOfLocked(accountID int64) []*webhook {
	var out []*webhook
	for _, w := range s.webhooks {
		if w.accountID == accountID {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b *webhook) int { return int(a.id - b.id) })
	return out
}

// Events returns the events fired since start or the last ResetEvents.
func (s *Server) Events() []EventRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]EventRecord, len(s.events))
	for i, ev := range s.events {
		out[i] = *ev
	}
	return out
}

// ResetEvents forgets the recorded events. Deliveries in flight still finish.
func (s *Server) ResetEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = nil
	s.notifyEventsLocked()
}

// Deliveries returns the deliveries made since start or the last
// ResetDeliveries, in the order they were queued.
func (s *Server) Deliveries() []DeliveryRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveriesLocked()
}

func (s *Server) deliveriesLocked() []DeliveryRecord {
	out := make([]DeliveryRecord, len(s.deliveries))
	for i, d := range s.deliveries {
		out[i] = *d
	}
	return out
}

// ResetDeliveries forgets the recorded deliveries. Those in flight still finish.
func (s *Server) ResetDeliveries() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries = nil
	s.notifyEventsLocked()
}

// WaitForEvents waits until at least n events were fired and every
// delivery of them has settled, and returns the events.
func (s *Server) WaitForEvents(ctx context.Context, n int) ([]EventRecord, error) {
	if err := s.wait(ctx, func() bool { return len(s.events) >= n && s.settledLocked() }); err != nil {
		return nil, fmt.Errorf("mockapi: waited for %d events, %d fired: %w", n, len(s.Events()), err)
	}
	return s.Events(), nil
}

// WaitForDeliveries waits until at least n deliveries were queued and all
// have settled (delivered or failed), and returns them.
func (s *Server) WaitForDeliveries(ctx context.Context, n int) ([]DeliveryRecord, error) {
	if err := s.wait(ctx, func() bool { return len(s.deliveries) >= n && s.settledLocked() }); err != nil {
		return nil, fmt.Errorf("mockapi: waited for %d settled deliveries, have %d: %w", n, len(s.Deliveries()), err)
	}
	return s.Deliveries(), nil
}

func (s *Server) settledLocked() bool {
	for _, d := range s.deliveries {
		if d.State == DeliveryPending {
			return false
		}
	}
	return true
}

func (s *Server) wait(ctx context.Context, done func() bool) error {
	for {
		s.mu.Lock()
		if done() {
			s.mu.Unlock()
			return nil
		}
		changed := s.eventsChanged
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// outgoing is a delivery waiting for a deliverer.
type outgoing struct {
	rec    *DeliveryRecord
	secret string
	body   []byte
}

// deliverer POSTs webhook deliveries like upstream's WebhookJob through
// SafeFetch: signed, once, --webhook-timeout for open and read, redirects
// followed (up to 10, re-sending the POST), private and loopback addresses
// refused unless AllowPrivateNetwork.
type deliverer struct {
	s       *Server
	client  *http.Client
	workers int

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	cond    *sync.Cond
	started bool
	closed  bool
	wg      sync.WaitGroup
}

// maxRedirects is SafeFetch's limit.
const maxRedirects = 10

func newDeliverer(s *Server, opts Options) *deliverer {
	timeout := opts.WebhookTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	dialer := &net.Dialer{Timeout: timeout}
	if !opts.AllowPrivateNetwork {
		dialer.Control = netguard.NewGuard(nil).Control
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &deliverer{
		s:       s,
		workers: max(opts.DeliveryWorkers, 1),
		ctx:     ctx,
		cancel:  cancel,
		client: &http.Client{
			Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext, ResponseHeaderTimeout: timeout, MaxIdleConnsPerHost: 16},
			Timeout:   timeout,
			// Redirects are followed by hand, re-sending the POST as SafeFetch does.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// kick wakes the workers for deliveries the server queued.
func (d *deliverer) kick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if !d.started {
		d.started = true
		for range d.workers {
			d.wg.Add(1)
			go d.run()
		}
	}
	d.cond.Broadcast()
}

func (d *deliverer) next() (outgoing, bool) {
	s := d.s
	for {
		s.mu.Lock()
		if len(s.pending) > 0 {
			o := s.pending[0]
			s.pending = s.pending[1:]
			s.mu.Unlock()
			return o, true
		}
		s.mu.Unlock()
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return outgoing{}, false
		}
		s.mu.Lock()
		empty := len(s.pending) == 0
		s.mu.Unlock()
		if empty {
			d.cond.Wait()
		}
		d.mu.Unlock()
	}
}

func (d *deliverer) run() {
	defer d.wg.Done()
	for {
		o, ok := d.next()
		if !ok {
			return
		}
		d.deliver(o)
	}
}

func (d *deliverer) deliver(o outgoing) {
	start := time.Now()
	status, errText := d.post(o)
	s := d.s
	s.mu.Lock()
	o.rec.Status, o.rec.Error, o.rec.DurationMS = status, errText, float64(time.Since(start).Microseconds())/1000
	o.rec.State = DeliveryFailed
	if errText == "" && status >= 200 && status <= 299 {
		o.rec.State = DeliveryDelivered
	}
	rec := *o.rec
	s.notifyEventsLocked()
	s.mu.Unlock()

	log := s.log.With("webhook_id", rec.WebhookID, "account_id", rec.AccountID, "event", rec.Event, "delivery_id", rec.DeliveryID, "url", chatwoot.RedactURL(rec.URL))
	switch rec.State {
	case DeliveryDelivered:
		log.Info("webhook delivered", "status", status)
	default:
		// Upstream's whole failure handling for account webhooks: one line.
		log.Warn("webhook delivery failed; not retried (as upstream)", "status", status, "error", errText)
	}
}

func (d *deliverer) post(o outgoing) (int, string) {
	target := o.rec.URL
	for range maxRedirects + 1 {
		req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, target, bytes.NewReader(o.body))
		if err != nil {
			return 0, err.Error()
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", version.UserAgent()+" (mock-api)")
		req.Header.Set(chatwoot.HeaderDelivery, o.rec.DeliveryID)
		if o.secret != "" {
			chatwoot.SignatureHeaders(req.Header, o.secret, time.Now(), o.body)
		}
		resp, err := d.client.Do(req)
		if err != nil {
			return 0, describeDialError(err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return resp.StatusCode, ""
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			return resp.StatusCode, "redirect to an invalid Location: " + err.Error()
		}
		target = next.String()
	}
	return 0, fmt.Sprintf("more than %d redirects", maxRedirects)
}

// describeDialError names the flag that allows a refused private address.
func describeDialError(err error) string {
	var blocked *netguard.ErrBlockedAddress
	if errors.As(err, &blocked) {
		return fmt.Sprintf("refused: %s is a private or loopback address, which upstream's SafeFetch refuses unless SAFE_FETCH_ALLOW_PRIVATE_NETWORK=true; start the mock with --allow-private-network", blocked.Addr)
	}
	return err.Error()
}

// close cancels deliveries in flight, fails the queued ones and waits for
// the workers.
func (d *deliverer) close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.cancel()
	d.cond.Broadcast()
	d.mu.Unlock()
	d.wg.Wait()
	s := d.s
	s.mu.Lock()
	for _, o := range s.pending {
		o.rec.State, o.rec.Error = DeliveryFailed, "mock API closed before delivering"
	}
	s.pending = nil
	s.notifyEventsLocked()
	s.mu.Unlock()
}
