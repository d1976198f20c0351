package ingest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"
)

// FuzzIngest posts arbitrary bodies and Idempotency-Keys to account 1 and
// checks the handler against an independent statement of the rules: 202
// exactly for a UTF-8 JSON object with one non-empty string "event", with the
// accepted bytes stored unchanged (through River's JSON encoding of the
// args); anything else is a 400 and stores nothing.
//
//	go test -fuzz FuzzIngest -fuzztime 1m ./internal/ingest/
func FuzzIngest(f *testing.F) {
	for _, seed := range []string{
		`{"event":"message_created","id":1}`,
		`{"event":"message_created","content":"<b>&amp;</b> \u2028 \ud83d\ude00 \"q\""}`,
		` {"event" : "message_created" , "event":"conversation_created"} `,
		`{"event":"message_created"}{}`,
		`{"Event":"message_created"}`,
		`{"event":["message_created"]}`,
		`[]`, `null`, ``, "{\"event\":\"x\xff\"}",
		`{"event":"message_created","content_attributes":{"items":[{"title":"A","value":"a"}]}}`,
	} {
		f.Add([]byte(seed), "")
		f.Add([]byte(seed), "key-1")
	}
	reg := testRegistry()
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		ins := &fakeInserter{}
		h := New(Options{Registry: reg, Queue: ins, MaxAttempts: 3})
		defer h.Close()
		req := httptest.NewRequest(http.MethodPost, "/v1/accounts/1/events", bytes.NewReader(body))
		req.Header.Set("Idempotency-Key", key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)

		wantStatus := oracle(body)
		if checkKey(key) != "" {
			wantStatus = http.StatusBadRequest
		}
		if w.Code != wantStatus {
			t.Fatalf("status %d (%s), oracle says %d for %q", w.Code, w.Body, wantStatus, body)
		}
		if w.Code != http.StatusAccepted {
			if ins.count() != 0 {
				t.Fatalf("%d jobs stored on a %d", ins.count(), w.Code)
			}
			return
		}
		var out Accepted
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Deliveries != ins.count() {
			t.Fatalf("answer %s for %d stored jobs", w.Body, ins.count())
		}
		for _, ev := range ins.events {
			if string(ev.Payload) != string(body) {
				t.Fatalf("payload changed on its way to the store: %q -> %q", body, ev.Payload)
			}
		}
	})
}

// TestParseEventMatchesOracle checks the top-level walk of parseEvent on
// the shapes it must tell apart.
func TestParseEventMatchesOracle(t *testing.T) {
	for _, tt := range []struct{ body, event string }{
		{`{"event":"message_created"}`, "message_created"},
		{` { "id" : 1 , "event" : "a" } `, "a"},
		{`{"\u0065vent":"escaped key"}`, "escaped key"},
		{`{"event":"\u0041\"b"}`, `A"b`},
		{`{"event":"a","event":"b"}`, ""}, // which one routes is ambiguous: refused
		{`{"event":"a","\u0065vent":"b"}`, ""},
		{`{"event":"a","event":1}`, ""},
		{`{"event":""}`, ""},
		{`{"a":{"event":"nested"}}`, ""},
		{`{"a":[1,{"b":"}]"},"{"],"event":"after"}`, "after"},
		{`{"n":-1.5e3,"t":true,"f":false,"z":null,"event":"e"}`, "e"},
		{`{"event":"e","n":12}`, "e"},
		{`{"Event":"case"}`, ""},
		{`{}`, ""},
		{`[{"event":"x"}]`, ""},
	} {
		event, msg := parseEvent([]byte(tt.body))
		want := oracle([]byte(tt.body)) == http.StatusAccepted
		if event != tt.event || (msg == "") != want || (msg == "") != (tt.event != "") {
			t.Errorf("parseEvent(%s) = %q, %q; want %q (oracle accepts: %v)", tt.body, event, msg, tt.event, want)
		}
	}
}

// oracle states the acceptance rule without the handler's code.
func oracle(body []byte) int {
	if len(body) > MaxBodyBytes || !utf8.Valid(body) || !json.Valid(body) {
		if len(body) > MaxBodyBytes {
			return http.StatusRequestEntityTooLarge
		}
		return http.StatusBadRequest
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return http.StatusBadRequest
	}
	event, found, events := "", false, 0
	for dec.More() {
		k, _ := dec.Token()
		var v any
		_ = dec.Decode(&v)
		if k == "event" {
			events++
			s, ok := v.(string)
			event, found = s, ok
			if !ok {
				found = false
				event = ""
			}
		}
	}
	if !found || event == "" || events > 1 {
		return http.StatusBadRequest
	}
	return http.StatusAccepted
}
