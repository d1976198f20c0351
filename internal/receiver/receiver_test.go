package receiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

const event = `{"event":"message_created","id":5,"content":"Hi","content_type":"text","message_type":"incoming","private":false,"conversation":{"id":1,"inbox_id":1},"account":{"id":1,"name":"Acme Inc"},"inbox":{"id":1,"name":"Website"}}`

func post(t *testing.T, h http.Handler, secret, id string, at time.Time, body string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set(chatwoot.HeaderDelivery, id)
	if secret != "" {
		chatwoot.SignatureHeaders(req.Header, secret, at, []byte(body))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestHandler(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name      string
		secret    string
		at        time.Time
		failFirst int
		want      []int
		wantOut   string
	}{
		{"verified", "s3cret", now, 0, []int{200}, "OK       message_created delivery=d1 attempt=1 signature verified account=1 conversation=1 message=5 incoming content_type=text content=\"Hi\""},
		{"forged", "not-the-secret", now, 0, []int{401}, "REJECTED message_created delivery=d1: signature does not match"},
		{"unsigned", "", now, 0, []int{401}, "REJECTED message_created delivery=d1: X-Chatwoot-Signature or X-Chatwoot-Timestamp header missing"},
		{"stale", "s3cret", now.Add(-time.Hour), 0, []int{401}, "timestamp outside the allowed tolerance"},
		{"fail twice then accept", "s3cret", now, 2, []int{500, 500, 200}, "OK       message_created delivery=d1 attempt=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			h := New(Options{Secret: "s3cret", Tolerance: 5 * time.Minute, FailFirst: tt.failFirst, Out: &out, Now: func() time.Time { return now }})
			for i, want := range tt.want {
				if got := post(t, h, tt.secret, "d1", tt.at, event); got != want {
					t.Fatalf("attempt %d answered %d, want %d", i+1, got, want)
				}
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("output:\n%s\nwant it to contain %q", out.String(), tt.wantOut)
			}
			if d := h.Deliveries(); len(d) != len(tt.want) || d[len(d)-1].Event != "message_created" {
				t.Fatalf("deliveries = %+v", d)
			}
		})
	}
}

func TestPrintBody(t *testing.T) {
	var out bytes.Buffer
	h := New(Options{Secret: "s", PrintBody: true, Out: &out})
	if code := post(t, h, "s", "d", time.Now(), event); code != 200 {
		t.Fatal(code)
	}
	if !strings.Contains(out.String(), "         "+event+"\n") {
		t.Fatalf("body not printed:\n%s", out.String())
	}
}
