package daemon

// The operator tools end to end, every part the real binary: the mock API,
// the daemon, `emit` posting a message_created and `receive` verifying what
// the daemon delivers (its secret fetched through the mock's API).

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

// run runs the binary to completion and returns its combined output.
func run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestE2EEmitDaemonReceive(t *testing.T) {
	s := startStack(t)
	rcvAddr := testproc.FreeAddr(t)
	hook, err := s.client.CreateWebhook(context.Background(), 1, chatwoot.WebhookInput{URL: s.relayURL(1, "http://"+rcvAddr+"/hook"), Subscriptions: []string{chatwoot.EventMessageCreated}})
	if err != nil {
		t.Fatal(err)
	}
	rcv := startProc(t, "receive", "receive", "--listen", rcvAddr,
		"--chatwoot-url", s.mockURL, "--api-access-token", mockapi.AdminToken, "--account", "1", "--webhook-id", fmt.Sprint(hook.ID))
	testproc.WaitFor(t, 20*time.Second, "receive listening", func() bool { return strings.Contains(rcv.Output(), "receiving Chatwoot webhooks") })
	s.startDaemon()

	out := run(t, "emit", "--daemon", s.daemonURL, "--account", "1", "--content", "Hi from emit")
	if !strings.Contains(out, "1 deliveries queued") {
		t.Fatalf("emit printed %q; want the fan-out (1 delivery)", out)
	}
	testproc.WaitFor(t, 15*time.Second, "receive printing the verified delivery", func() bool {
		return strings.Contains(rcv.Output(), `content="Hi from emit"`)
	})
	line := lineWith(rcv.Output(), `content="Hi from emit"`)
	if !strings.HasPrefix(line, "OK ") || !strings.Contains(line, "message_created") || !strings.Contains(line, "signature verified") || !strings.Contains(line, "account=1") {
		t.Fatalf("receive printed %q", line)
	}

	out = run(t, "emit", "--daemon", s.daemonURL, "--account", "1", "--content", "Pick one", "--message-type", "outgoing",
		"--content-type", "input_select", "--content-attributes", `{"items":[{"title":"Yes","value":"yes"},{"title":"No","value":"no"}]}`)
	if !strings.Contains(out, "outgoing input_select") || !strings.Contains(out, "1 deliveries queued") {
		t.Fatalf("emit input_select printed %q", out)
	}
	testproc.WaitFor(t, 15*time.Second, "the input_select delivery", func() bool { return strings.Contains(rcv.Output(), `content="Pick one"`) })
	if line := lineWith(rcv.Output(), `content="Pick one"`); !strings.Contains(line, "signature verified") || !strings.Contains(line, "content_type=input_select") || !strings.Contains(line, "items=2") {
		t.Fatalf("receive printed %q", line)
	}
}

// TestE2EReceiveRejectsForgedSignature: a delivery signed with another
// secret is answered 401 and printed as REJECTED.
func TestE2EReceiveRejectsForgedSignature(t *testing.T) {
	addr := testproc.FreeAddr(t)
	rcv := startProc(t, "receive", "receive", "--listen", addr, "--secret", "the-real-secret")
	testproc.WaitFor(t, 20*time.Second, "receive listening", func() bool { return strings.Contains(rcv.Output(), "receiving Chatwoot webhooks") })

	body := []byte(`{"event":"message_created","id":1,"content":"forged"}`)
	for _, tc := range []struct {
		name string
		sign func(h http.Header)
	}{
		{"wrong secret", func(h http.Header) { chatwoot.SignatureHeaders(h, "not-the-secret", time.Now(), body) }},
		{"no signature", func(http.Header) {}},
		{"stale timestamp", func(h http.Header) { chatwoot.SignatureHeaders(h, "the-real-secret", time.Now().Add(-time.Hour), body) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := strings.Count(rcv.Output(), "REJECTED")
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(chatwoot.HeaderDelivery, "6f1c2d3e-0000-4000-8000-"+fmt.Sprintf("%012d", before))
			tc.sign(req.Header)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("receive answered %d to a forged delivery, want 401", resp.StatusCode)
			}
			testproc.WaitFor(t, 5*time.Second, "REJECTED printed", func() bool { return strings.Count(rcv.Output(), "REJECTED") > before })
		})
	}
	if strings.Contains(rcv.Output(), "signature verified") {
		t.Fatalf("receive verified a forged delivery:\n%s", rcv.Output())
	}
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
