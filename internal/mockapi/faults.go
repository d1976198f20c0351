package mockapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes the next Count requests whose method and path match answer
// Status (with Retry-After when set) and/or hang for Delay first. Faults are
// consumed in the order they were added; a request consumes at most one.
type Fault struct {
	Method     string   `json:"method,omitempty"`      // "" = any
	PathPrefix string   `json:"path_prefix"`           // matches r.URL.Path prefix
	Count      int      `json:"count"`                 // next Count matching requests; then the fault is spent
	Status     int      `json:"status,omitempty"`      // answer this status (e.g. 429, 500) instead of serving
	RetryAfter int      `json:"retry_after,omitempty"` // seconds, sets Retry-After
	Delay      Duration `json:"delay,omitempty"`       // hang this long first; with Status 0 then serve normally; give up early if the client goes away
}

// Validate reports what is wrong with a fault posted to /_mock/faults.
func (f Fault) Validate() error {
	switch {
	case !strings.HasPrefix(f.PathPrefix, "/"):
		return fmt.Errorf("path_prefix %q must start with \"/\", e.g. \"/api/v1/accounts/1/webhooks\" (\"/\" matches every Chatwoot path)", f.PathPrefix)
	case f.Count < 1:
		return fmt.Errorf("count is %d; set how many of the next matching requests the fault hits (1 or more)", f.Count)
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return fmt.Errorf("status %d is not an HTTP status; use e.g. 429 or 500, or 0 with a delay to only slow requests down", f.Status)
	case f.Status == 0 && f.Delay <= 0:
		return errors.New("the fault does nothing: set status (e.g. 429, 500) and/or delay (e.g. \"5s\")")
	case f.RetryAfter < 0:
		return fmt.Errorf("retry_after is %d; use seconds, 0 or more", f.RetryAfter)
	case f.Delay < 0:
		return fmt.Errorf("delay is %s; use a positive duration like \"5s\"", f.Delay)
	}
	return nil
}

func (f Fault) matches(r *http.Request) bool {
	return (f.Method == "" || strings.EqualFold(f.Method, r.Method)) && strings.HasPrefix(r.URL.Path, f.PathPrefix)
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("5s", "1m30s").
type Duration time.Duration

// MarshalJSON writes the duration as a string like "5s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string like "5s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("delay must be a duration string like \"5s\" or \"250ms\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("delay %q is not a duration; write it like \"5s\" or \"250ms\"", s)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) String() string { return time.Duration(d).String() }

// InjectFault adds a fault. A Count below 1 counts as 1.
func (s *Server) InjectFault(f Fault) {
	f.Count = max(f.Count, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the pending faults with their remaining counts.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault{}, s.faults...)
}

// takeFault consumes one count of the first fault matching r.
func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if !f.matches(r) {
			continue
		}
		taken := *f
		if f.Count--; f.Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return taken, true
	}
	return Fault{}, false
}

// applyFault hangs and/or answers for f. It reports whether the request was
// answered (or abandoned) so that normal serving must not follow.
func applyFault(ctx context.Context, w *recorder, f Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(time.Duration(f.Delay))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			w.abandoned = true
			return true
		}
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if f.Status == http.StatusTooManyRequests {
		// rack-attack's default throttled answer.
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte("Retry later\n"))
		return true
	}
	writeRailsStatus(w, f.Status)
	return true
}
