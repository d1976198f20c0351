package mockapi

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// startCommand runs the subcommand and returns its base URL and a stop
// function that cancels it and returns its error.
func startCommand(t *testing.T, args ...string) (base string, stdout, stderr *testproc.Buffer, stop func() error) {
	t.Helper()
	stdout, stderr = &testproc.Buffer{}, &testproc.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, stdout, stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("command exited before listening: %v\n%s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no listening line after 10s; stdout %q", stdout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(15 * time.Second):
				stopErr = errors.New("command did not stop within 15s of cancel")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return base, stdout, stderr, stop
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("api_access_token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestCommandServesAndStops(t *testing.T) {
	base, stdout, stderr, stop := startCommand(t, "--listen", "127.0.0.1:0", "--log-format", "json")
	if strings.HasSuffix(base, ":0") {
		t.Fatalf("printed the requested port, not the real one: %s", base)
	}
	banner := stdout.String()
	for _, want := range []string{AdminToken, AgentToken, "administrator of account 1 \"Acme Inc\", 2 \"Globex\"", "agent of account 1", "/_mock/requests", "/_mock/deliveries", "delivered to the account's subscribed webhooks", "export CHATWOOT_BASE_URL=" + base} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if status, body := get(t, base+"/api/v1/profile", AdminToken); status != 200 || !strings.Contains(string(body), `"Acme Inc"`) {
		t.Fatalf("profile %d %s", status, body)
	}
	if status, _ := get(t, base+"/api/v1/accounts/1/webhooks?api_access_token="+AgentToken, AgentToken); status != 401 {
		t.Fatalf("agent list %d", status)
	}
	if status, body := get(t, base+"/_mock/requests", ""); status != 200 || !strings.Contains(string(body), `"status":401`) {
		t.Fatalf("/_mock/requests %d %s", status, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := http.Get(base + "/api/v1/profile"); err == nil {
		t.Fatal("still serving after ctx was cancelled")
	}
	// JSON logs, one per request, and never a token.
	logs := stderr.String()
	if strings.Contains(logs, "mock-admin-token") || strings.Contains(logs, "mock-agent-token") {
		t.Fatalf("a token reached the log:\n%s", logs)
	}
	requests := 0
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if entry["@message"] == "request" {
			requests++
		}
	}
	if requests != 2 || !strings.Contains(logs, `"stopped"`) {
		t.Fatalf("%d request lines (want 2, /_mock at debug only):\n%s", requests, logs)
	}
}

// TestCommandDeliversToWebhooks: the command delivers like Chatwoot, to a
// loopback webhook only with --allow-private-network.
func TestCommandDeliversToWebhooks(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow-private-network=%v", allow), func(t *testing.T) {
			stub, sts := newHookStub(t, http.StatusOK)
			args := []string{"--listen", "127.0.0.1:0"}
			if allow {
				args = append(args, "--allow-private-network")
			}
			base, stdout, _, stop := startCommand(t, args...)
			if want := map[bool]string{true: "private and loopback addresses allowed", false: "allow them with --allow-private-network"}[allow]; !strings.Contains(stdout.String(), want) {
				t.Fatalf("banner lacks %q:\n%s", want, stdout)
			}
			call := func(path, body string) {
				req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
				req.Header.Set("api_access_token", AdminToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d", path, resp.StatusCode)
				}
			}
			call("/api/v1/accounts/1/webhooks", `{"url":"`+sts.URL+`/hook","subscriptions":["message_created"]}`)
			call(messagesPath("1", "1"), `{"content":"hello webhook"}`)
			var recs []DeliveryRecord
			testproc.WaitFor(t, 10*time.Second, "the delivery settled", func() bool {
				resp, err := http.Get(base + "/_mock/deliveries")
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				recs = nil
				_ = json.NewDecoder(resp.Body).Decode(&recs)
				return len(recs) == 1 && recs[0].State != DeliveryPending
			})
			got := stub.got()
			if allow && (len(got) != 1 || got[0].path != "/hook" || !strings.Contains(string(got[0].body), `"hello webhook"`) || recs[0].Status != 200) {
				t.Fatalf("webhook got %+v, record %+v", got, recs[0])
			}
			if !allow && (len(got) != 0 || !strings.Contains(recs[0].Error, "--allow-private-network")) {
				t.Fatalf("webhook got %d requests, record %+v; want refused naming the flag", len(got), recs[0])
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCommandBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"log format", []string{"--log-format", "xml"}, `--log-format "xml" is not supported; use text or json`},
		{"log level", []string{"--log-level", "loud"}, `--log-level "loud" is not a level`},
		{"missing seed", []string{"--seed", "testdata/nope.json"}, "seed file testdata/nope.json"},
		{"bad listen address", []string{"--listen", "127.0.0.1:99999"}, "pick another --listen address"},
		{"removed daemon url", []string{"--daemon-url", "http://127.0.0.1:8787"}, "--daemon-url was removed: the mock now delivers each event to the account's webhooks"},
		{"timeout", []string{"--webhook-timeout", "0s"}, "--webhook-timeout is 0s"},
		{"positional argument", []string{"serve"}, `unexpected argument "serve"`},
		{"unknown flag", []string{"--port", "3000"}, "flag provided but not defined: -port"},
		{"workers", []string{"--delivery-workers", "0"}, "--delivery-workers is 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut testproc.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		var out, errOut testproc.Buffer
		if err := run(context.Background(), []string{"-h"}, &out, &errOut); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("%v", err)
		}
		if !strings.Contains(errOut.String(), "-allow-private-network") || !strings.Contains(errOut.String(), "mock-api") {
			t.Fatalf("usage:\n%s", errOut.String())
		}
	})
}
