package mockapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/version"
)

// Forward states of an EventRecord.
const (
	ForwardDisabled  = "disabled"  // no DaemonURL: the event is only recorded
	ForwardPending   = "pending"   // queued or in flight
	ForwardDelivered = "delivered" // the daemon answered 2xx
	ForwardFailed    = "failed"    // another status, or a transport error
)

// EventRecord is one fired event and what became of forwarding it.
type EventRecord struct {
	ID        int64           `json:"id"` // order of firing, from 1
	Event     string          `json:"event"`
	AccountID int64           `json:"account_id"`
	MessageID int64           `json:"message_id"`
	FiredAt   time.Time       `json:"fired_at"`
	Payload   json.RawMessage `json:"payload"` // the exact bytes forwarded
	Forward   ForwardResult   `json:"forward"`
}

// ForwardResult says whether and how forwarding to the daemon went.
type ForwardResult struct {
	State  string `json:"state"` // ForwardDisabled, ForwardPending, ForwardDelivered or ForwardFailed
	URL    string `json:"url,omitempty"`
	Status int    `json:"status,omitempty"` // the daemon's answer
	Error  string `json:"error,omitempty"`  // transport error, when no answer came
}

// recordEventLocked builds the message_created payload and records it.
func (s *Server) recordEventLocked(m *message) *EventRecord {
	_, payload := s.messageEventLocked(m)
	ev := &EventRecord{
		ID:        int64(len(s.events)) + 1,
		Event:     "message_created",
		AccountID: m.accountID,
		MessageID: m.id,
		FiredAt:   time.Now().UTC(),
		Payload:   payload,
		Forward:   ForwardResult{State: ForwardDisabled},
	}
	if s.opts.DaemonURL != "" {
		ev.Forward = ForwardResult{State: ForwardPending, URL: fmt.Sprintf("%s/v1/accounts/%d/events", s.opts.DaemonURL, m.accountID)}
	}
	s.events = append(s.events, ev)
	s.notifyEventsLocked()
	return ev
}

// Events returns the events fired since start or the last ResetEvents.
func (s *Server) Events() []EventRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eventsLocked()
}

func (s *Server) eventsLocked() []EventRecord {
	out := make([]EventRecord, len(s.events))
	for i, ev := range s.events {
		out[i] = *ev
	}
	return out
}

// ResetEvents forgets the recorded events. Forwards in flight still finish.
func (s *Server) ResetEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = nil
	s.notifyEventsLocked()
}

// WaitForEvents waits until at least n events were fired and forwarding of
// each has settled (delivered, failed or disabled), and returns them all.
func (s *Server) WaitForEvents(ctx context.Context, n int) ([]EventRecord, error) {
	for {
		s.mu.Lock()
		settled := 0
		for _, ev := range s.events {
			if ev.Forward.State != ForwardPending {
				settled++
			}
		}
		if len(s.events) >= n && settled == len(s.events) {
			out := s.eventsLocked()
			s.mu.Unlock()
			return out, nil
		}
		changed, have := s.eventsChanged, len(s.events)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("mockapi: waited for %d message_created events, %d fired (%d settled): %w", n, have, settled, ctx.Err())
		}
	}
}

// forwarder POSTs events to the daemon from a queue, by default one at a
// time so the daemon sees them in creation order. Like upstream's webhook
// job it does not retry.
type forwarder struct {
	s       *Server
	client  *http.Client
	workers int

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*EventRecord
	started bool
	closed  bool
	wg      sync.WaitGroup
}

func newForwarder(s *Server, opts Options) *forwarder {
	timeout := opts.ForwardTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &forwarder{
		s:       s,
		workers: max(opts.ForwardWorkers, 1),
		ctx:     ctx,
		cancel:  cancel,
		client: &http.Client{
			Timeout: timeout,
			// A redirect is an answer, not a place to go.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	f.cond = sync.NewCond(&f.mu)
	return f
}

// enqueue queues an event recorded with ForwardPending.
func (f *forwarder) enqueue(ev *EventRecord) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		f.settle(ev, 0, "mock API closed before forwarding")
		return
	}
	defer f.mu.Unlock()
	if !f.started {
		f.started = true
		for range f.workers {
			f.wg.Add(1)
			go f.run()
		}
	}
	f.queue = append(f.queue, ev)
	f.cond.Signal()
}

func (f *forwarder) run() {
	defer f.wg.Done()
	for {
		f.mu.Lock()
		for len(f.queue) == 0 && !f.closed {
			f.cond.Wait()
		}
		if f.closed {
			f.mu.Unlock()
			return
		}
		ev := f.queue[0]
		f.queue = f.queue[1:]
		f.mu.Unlock()
		f.forward(ev)
	}
}

func (f *forwarder) forward(ev *EventRecord) {
	status, errText := f.post(ev)
	f.settle(ev, status, errText)
	log := f.s.log.With("account_id", ev.AccountID, "message_id", ev.MessageID, "url", ev.Forward.URL)
	switch {
	case errText != "":
		log.Warn("message_created not forwarded", "error", errText)
	case status < 200 || status > 299:
		log.Warn("message_created refused by the daemon", "status", status)
	default:
		log.Info("message_created forwarded", "status", status)
	}
}

func (f *forwarder) post(ev *EventRecord) (int, string) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodPost, ev.Forward.URL, bytes.NewReader(ev.Payload))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", version.UserAgent()+" (mock-api)")
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, ""
}

func (f *forwarder) settle(ev *EventRecord, status int, errText string) {
	s := f.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ev.Forward.Status, ev.Forward.Error = status, errText
	if errText == "" && status >= 200 && status <= 299 {
		ev.Forward.State = ForwardDelivered
	} else {
		ev.Forward.State = ForwardFailed
	}
	s.notifyEventsLocked()
}

// close cancels forwards in flight, fails the queued ones and waits for the
// workers.
func (f *forwarder) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	queued := f.queue
	f.queue = nil
	f.cancel()
	f.cond.Broadcast()
	f.mu.Unlock()
	for _, ev := range queued {
		f.settle(ev, 0, "mock API closed before forwarding")
	}
	f.wg.Wait()
}
