package daemon

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

func postEvent(t testing.TB, base string, account int64, body []byte, key string) (int, []string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/v1/accounts/%d/events", base, account), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST event: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		DeliveryIDs []string `json:"delivery_ids"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.DeliveryIDs
}

// postForDelivery posts an event to account 1 of the daemon at base; it
// returns the delivery id when the event was answered 202 with exactly one
// delivery, "" otherwise, and an error when no answer came.
func postForDelivery(hc *http.Client, base string, body []byte) (string, error) {
	resp, err := hc.Post(base+"/v1/accounts/1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		DeliveryIDs []string `json:"delivery_ids"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusAccepted || len(out.DeliveryIDs) != 1 {
		return "", nil
	}
	return out.DeliveryIDs[0], nil
}

func TestRunDeliversSignedBytesUnchanged(t *testing.T) {
	rcv := newReceiver(t, "s3cret")
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 7, URL: relayed(1, rcv.srv.URL+"/hook?token=x"), Subscriptions: []string{"message_created"}, Secret: "s3cret"})
	base := startDaemon(t, cw, nil)

	// Spacing, key order, HTML characters and escapes a re-encoder would change.
	body := []byte("{ \"event\":\"message_created\",  \"content\":\"<b>a & b</b> \\u00e9 é \\/\" ,\"id\":1}\n")
	status, ids := postEvent(t, base, 1, body, "")
	if status != http.StatusAccepted || len(ids) != 1 {
		t.Fatalf("POST = %d %v, want 202 with one delivery", status, ids)
	}
	select {
	case id := <-rcv.arrived:
		if id != ids[0] {
			t.Fatalf("delivered under %s, ingest answered %s", id, ids[0])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if got := rcv.got[ids[0]]; !bytes.Equal(got, body) {
		t.Fatalf("receiver got %q, want the accepted bytes %q", got, body)
	}
}

// TestLogsNeverContainSecrets runs a delivery that fails, retries and dies
// at trace level and checks that neither the API token, nor the webhook
// secret, nor the url's query string, nor the payload reach the logs.
func TestLogsNeverContainSecrets(t *testing.T) {
	rcv := newReceiver(t, "whsec-do-not-log")
	rcv.setAnswer(func(n int) int { return map[bool]int{true: 503, false: 200}[n <= 3] })
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 3, URL: relayed(1, rcv.srv.URL+"/in?token=query-do-not-log"), Subscriptions: []string{"message_created"}, Secret: "whsec-do-not-log"})
	var logs testproc.Buffer
	base := startDaemonLogs(t, cw, &logs, func(c *Config) {
		c.LogLevel = "trace"
		c.LogFormat = "json"
		c.Token = "token-do-not-log"
	})
	status, ids := postEvent(t, base, 1, []byte(`{"event":"message_created","content":"payload-do-not-log"}`), "")
	if status != http.StatusAccepted {
		t.Fatal(status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !rcv.has(ids[0]) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	if !strings.Contains(out, "delivery attempt failed") {
		t.Fatalf("the failures were not logged:\n%s", out)
	}
	for _, secret := range []string{"token-do-not-log", "whsec-do-not-log", "query-do-not-log", "payload-do-not-log"} {
		if strings.Contains(out, secret) {
			t.Fatalf("logs contain %q:\n%s", secret, out)
		}
	}
}

// TestPayloadShapesPassThroughUnchanged builds message_created events of
// every rich content_type from the shared types, indented (bytes a
// re-encoder would change), and checks each arrives byte for byte, signed,
// and still decodes into the typed content attributes.
func TestPayloadShapesPassThroughUnchanged(t *testing.T) {
	rcv := newReceiver(t, "shape-secret")
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 1, URL: relayed(1, rcv.srv.URL), Subscriptions: []string{"message_created"}, Secret: "shape-secret"})
	base := startDaemon(t, cw, nil)

	content := "Pick <one> & go"
	yes := true
	attrs := map[string]*chatwoot.ContentAttributes{
		chatwoot.ContentTypeText:        nil,
		chatwoot.ContentTypeInputSelect: {Items: []chatwoot.ContentItem{{Title: "Yes", Value: "y"}, {Title: "No", Value: "n"}}},
		chatwoot.ContentTypeForm: {Items: []chatwoot.ContentItem{
			{Type: "email", Name: "email", Label: "Email", Placeholder: "you@example.com", Required: &yes},
			{Type: "text_area", Name: "msg", Label: "Message"},
		}},
		chatwoot.ContentTypeCards: {Items: []chatwoot.ContentItem{{
			MediaURL: "https://img.example/p.png", Title: "Pro", Description: "For teams",
			Actions: []chatwoot.CardAction{{Type: "link", Text: "See", URI: "https://example.com/pro"}, {Type: "postback", Text: "Buy", Payload: "BUY_PRO"}},
		}}},
		chatwoot.ContentTypeArticle: {Items: []chatwoot.ContentItem{{Title: "Setup", Description: "How to", Link: "https://help.example/setup"}}},
	}
	for ct, a := range attrs {
		t.Run(ct, func(t *testing.T) {
			ev := chatwoot.MessageEvent{
				Event: chatwoot.EventMessageCreated, ID: 10, Content: &content, ContentType: ct, ContentAttributes: attrsMap(t, a),
				MessageType: chatwoot.MessageTypeOutgoing, CreatedAt: chatwoot.RailsTime{Time: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)},
				Sender:       &chatwoot.Sender{User: &chatwoot.User{ID: 1, Name: "Ada", Type: chatwoot.SenderUser}},
				Conversation: chatwoot.Conversation{ID: 2, InboxID: 2, Status: "open"},
				Inbox:        chatwoot.Inbox{ID: 2, Name: "API"}, Account: chatwoot.Account{ID: 1, Name: "Acme"},
			}
			body, err := json.MarshalIndent(ev, "", "   ")
			if err != nil {
				t.Fatal(err)
			}
			if msgs := chatwoot.ValidateContent(ct, mustJSON(t, a)); len(msgs) > 0 {
				t.Fatalf("test event is not valid upstream: %v", msgs)
			}
			status, ids := postEvent(t, base, 1, body, "")
			if status != http.StatusAccepted || len(ids) != 1 {
				t.Fatalf("ingest: %d %v", status, ids)
			}
			deadline := time.Now().Add(10 * time.Second)
			for !rcv.has(ids[0]) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			rcv.mu.Lock()
			got := rcv.got[ids[0]]
			rcv.mu.Unlock()
			if !bytes.Equal(got, body) {
				t.Fatalf("delivered bytes differ from the accepted ones:\n%s\nvs\n%s", got, body)
			}
			var back chatwoot.MessageEvent
			if err := json.Unmarshal(got, &back); err != nil || back.ContentType != ct {
				t.Fatalf("decode: %v, content_type %q", err, back.ContentType)
			}
			if a != nil && len(itemsOf(back)) != len(a.Items) {
				t.Fatalf("content_attributes lost their items: %s", got)
			}
		})
	}
}

// itemsOf is the typed items of an event's content_attributes.
func itemsOf(ev chatwoot.MessageEvent) []chatwoot.ContentItem {
	a, _ := ev.Items()
	return a.Items
}

func attrsMap(t *testing.T, a *chatwoot.ContentAttributes) map[string]any {
	t.Helper()
	out := map[string]any{}
	if a != nil {
		if err := json.Unmarshal(mustJSON(t, a), &out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBusyEndpointDoesNotHoldUpOthers: while one endpoint works through a
// backlog that holds every River worker, a delivery to another endpoint is
// fetched ahead of that backlog (ingest stored the busy endpoint's new
// deliveries behind) instead of after it.
func TestBusyEndpointDoesNotHoldUpOthers(t *testing.T) {
	busy, quiet := newReceiver(t, "s1"), newReceiver(t, "s2")
	busy.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond) // one slot: 20 deliveries/s
		busy.serve(w, r)
	})
	cw := newFakeChatwoot()
	cw.set(1, chatwoot.Webhook{ID: 1, URL: relayed(1, busy.srv.URL), Subscriptions: []string{"message_created"}, Secret: "s1"})
	cw.set(2, chatwoot.Webhook{ID: 2, URL: relayed(2, quiet.srv.URL), Subscriptions: []string{"message_created"}, Secret: "s2"})
	storePath := filepath.Join(t.TempDir(), "busy.db")
	base := startDaemon(t, cw, func(c *Config) {
		c.Store = "sqlite:" + storePath
		c.Workers = 20
		c.EndpointConcurrency = 1
		c.BatchSize = 1 // a job per delivery: each waits for the slot in memory
	})

	// Post to the busy endpoint until its backlog is 200 deep, and go on.
	var accepted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if id, _ := postForDelivery(http.DefaultClient, base, []byte(`{"event":"message_created"}`)); id != "" {
					accepted.Add(1)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	testproc.WaitFor(t, 60*time.Second, "a backlog of 200 deliveries", func() bool { return accepted.Load()-int64(busy.count()) >= 200 })

	before := busy.count()
	status, ids := postEvent(t, base, 2, []byte(`{"event":"message_created","id":-1}`), "")
	if status != http.StatusAccepted || len(ids) != 1 {
		t.Fatalf("post to the quiet account: %d %v", status, ids)
	}
	testproc.WaitFor(t, 60*time.Second, "the quiet endpoint's delivery", func() bool { return quiet.has(ids[0]) })
	meanwhile := busy.count() - before

	// What was stored decides the order, not timing: the quiet delivery at
	// River's first priority, the busy endpoint's backlog behind it but for
	// at most --endpoint-concurrency (1) of its deliveries at a time.
	db, err := sql.Open("sqlite", storePath+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var quietPriority, behind int
	if err := db.QueryRow(`SELECT r.priority FROM river_job r JOIN chatwoot_deliveries d ON d.id = json_extract(r.args, '$.id') WHERE d.uuid = ?`, ids[0]).Scan(&quietPriority); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM river_job r JOIN chatwoot_deliveries d ON d.id = json_extract(r.args, '$.id') WHERE d.account_id = 1 AND r.priority = ?`, delivery.BehindPriority).Scan(&behind); err != nil {
		t.Fatal(err)
	}
	t.Logf("the busy endpoint delivered %d while the quiet one's delivery waited; %d of its deliveries were stored behind", meanwhile, behind)
	if quietPriority != 1 || behind < 150 {
		t.Fatalf("stored the quiet delivery at priority %d (want 1) and %d busy deliveries behind (want most of a 200-deep backlog)", quietPriority, behind)
	}
	if meanwhile > 40 {
		t.Fatalf("the quiet endpoint's delivery waited behind the busy one's backlog: %d busy deliveries went first", meanwhile)
	}
}
