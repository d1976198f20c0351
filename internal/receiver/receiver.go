// Package receiver is a webhook receiver that verifies Chatwoot signatures
// and prints each delivery: what a person writing a receiver runs to check
// theirs, and the far end of the demo and the end-to-end tests.
package receiver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Options configures a Handler.
type Options struct {
	Secret    string        // the webhook's secret; required
	Tolerance time.Duration // how old a timestamp may be; 0 = do not check
	FailFirst int           // answer 500 to the first FailFirst attempts of each delivery, to watch retries
	PrintBody bool          // print the payload bytes as received, not only a summary
	Out       io.Writer     // where lines go
	Now       func() time.Time
}

// Delivery is one request the handler accepted, for tests and summaries.
type Delivery struct {
	ID       string
	Event    string
	Verified bool
	Attempt  int
	Body     []byte
}

// Handler verifies and records deliveries. It answers 401 to a bad
// signature, 500 while FailFirst applies, and 200 otherwise.
type Handler struct {
	opts Options

	mu       sync.Mutex
	attempts map[string]int
	log      []Delivery
}

// New returns a Handler; it is safe for concurrent use.
func New(opts Options) *Handler {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{opts: opts, attempts: map[string]int{}}
}

// Deliveries returns what the handler has seen so far, in order.
func (h *Handler) Deliveries() []Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Delivery(nil), h.log...)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a Chatwoot webhook delivery here", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	id := r.Header.Get(chatwoot.HeaderDelivery)
	var event struct {
		Event string `json:"event"`
	}
	_ = json.Unmarshal(body, &event)

	verr := chatwoot.Verify(h.opts.Secret, r.Header, body, h.opts.Tolerance, h.opts.Now())

	h.mu.Lock()
	h.attempts[id]++
	attempt := h.attempts[id]
	h.log = append(h.log, Delivery{ID: id, Event: event.Event, Verified: verr == nil, Attempt: attempt, Body: body})
	h.mu.Unlock()

	switch {
	case verr != nil:
		h.printf("REJECTED %s delivery=%s: %v\n", orUnknown(event.Event), id, verr)
		http.Error(w, "signature rejected: "+verr.Error(), http.StatusUnauthorized)
	case attempt <= h.opts.FailFirst:
		h.printf("FAILING  %s delivery=%s attempt=%d (signature verified; --fail-first %d answers 500)\n", orUnknown(event.Event), id, attempt, h.opts.FailFirst)
		http.Error(w, "failing on purpose", http.StatusInternalServerError)
	default:
		h.printf("OK       %s delivery=%s attempt=%d signature verified%s\n", orUnknown(event.Event), id, attempt, summary(body))
		if h.opts.PrintBody {
			h.printBody(body)
		}
		w.WriteHeader(http.StatusOK)
	}
}

func (h *Handler) printf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.opts.Out, format, args...)
}

// printBody prints the exact bytes received (the ones the signature covers).
func (h *Handler) printBody(body []byte) {
	h.printf("         %s\n", body)
}

// summary picks the lines a person wants to see of a message event.
func summary(body []byte) string {
	var m chatwoot.MessageEvent
	if json.Unmarshal(body, &m) != nil || m.ID == 0 {
		return ""
	}
	s := fmt.Sprintf(" account=%d conversation=%d message=%d %s content_type=%s", m.Account.ID, m.Conversation.ID, m.ID, m.MessageType, m.ContentType)
	if m.Content != nil {
		s += fmt.Sprintf(" content=%q", *m.Content)
	}
	if items, _ := m.ContentAttributes["items"].([]any); len(items) > 0 {
		s += fmt.Sprintf(" items=%d", len(items))
	}
	if m.Private {
		s += " private"
	}
	return s
}

func orUnknown(event string) string {
	if event == "" {
		return "(no event)"
	}
	return event
}
