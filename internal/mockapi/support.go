package mockapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The /_mock test-support routes. They need no token and are not recorded.

func (s *Server) handleGetRequests(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Requests())
}

func (s *Server) handleResetRequests(w http.ResponseWriter, _ *http.Request) {
	s.ResetRequests()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) handleAddFault(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the fault: "+err.Error())
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var f Fault
	if err := dec.Decode(&f); err != nil {
		writeError(w, http.StatusBadRequest, faultDecodeError(err))
		return
	}
	if err := f.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "fault: "+err.Error())
		return
	}
	s.InjectFault(f)
	s.log.Info("fault added", "method", f.Method, "path_prefix", f.PathPrefix, "count", f.Count, "status", f.Status, "delay", f.Delay.String())
	writeJSON(w, http.StatusCreated, f)
}

const faultExample = `{"method":"GET","path_prefix":"/api/v1/accounts/1/webhooks","count":2,"status":429,"retry_after":1}`

func faultDecodeError(err error) string {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "fault: empty body; POST a JSON object like " + faultExample
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "fault: the JSON ends early; POST a complete JSON object like " + faultExample
	case errors.As(err, &syntax):
		return fmt.Sprintf("fault: not valid JSON (%v); POST a JSON object like %s", syntax, faultExample)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("fault: %s must be %s, not a JSON %s; e.g. %s", typeErr.Field, goTypeName(typeErr.Type.String()), typeErr.Value, faultExample)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return fmt.Sprintf("fault: %s; the fields are method, path_prefix, count, status, retry_after, delay", strings.TrimPrefix(err.Error(), "json: "))
	}
	return "fault: " + err.Error()
}

func (s *Server) handleClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleGetEvents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Events())
}

func (s *Server) handleResetEvents(w http.ResponseWriter, _ *http.Request) {
	s.ResetEvents()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleGetDeliveries(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Deliveries())
}

func (s *Server) handleResetDeliveries(w http.ResponseWriter, _ *http.Request) {
	s.ResetDeliveries()
	w.WriteHeader(http.StatusNoContent)
}
