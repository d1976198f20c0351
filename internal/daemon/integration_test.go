package daemon

// Integration tests with the real binary as subprocesses: the mock API
// (mock-api), the daemon, and receivers in this test process that verify
// every signature. The binary is built once, with CGO_ENABLED=0.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

var bin testproc.Binary

// binary builds the project's binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test with subprocesses; skipped with -short")
	}
	return bin.Path(t)
}

func TestMain(m *testing.M) {
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// startProc runs the binary with args; its output is kept for failure reports.
func startProc(t *testing.T, name string, args ...string) *testproc.Proc {
	t.Helper()
	return testproc.Start(t, name, exec.Command(binary(t), args...))
}

func waitHTTP(t *testing.T, url string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within %s (last: %v)", url, want, within, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stack is a mock API and a daemon wired together.
type stack struct {
	t         *testing.T
	mockURL   string
	daemonURL string
	store     string
	daemon    *testproc.Proc
	client    *chatwoot.Client
	extra     []string
}

func startStack(t *testing.T, daemonArgs ...string) *stack {
	t.Helper()
	s := &stack{t: t, daemonURL: "http://" + testproc.FreeAddr(t), store: "sqlite:" + filepath.Join(t.TempDir(), "deliveries.db"), extra: daemonArgs}
	mockAddr := testproc.FreeAddr(t)
	s.mockURL = "http://" + mockAddr
	// The daemon is on loopback: the mock must be allowed to deliver there, as
	// a Chatwoot with SAFE_FETCH_ALLOW_PRIVATE_NETWORK=true.
	startProc(t, "mock-api", "mock-api", "--listen", mockAddr, "--allow-private-network", "--delivery-workers", "8", "--log-level", "warn")
	waitHTTP(t, s.mockURL+"/_mock/requests", 200, 20*time.Second)
	var err error
	s.client, err = chatwoot.NewClient(chatwoot.Options{BaseURL: s.mockURL, Token: mockapi.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *stack) startDaemon() {
	s.t.Helper()
	args := append([]string{"daemon",
		"--listen", strings.TrimPrefix(s.daemonURL, "http://"),
		"--chatwoot-url", s.mockURL,
		"--api-access-token", mockapi.AdminToken,
		"--store", s.store,
		"--sqlite-synchronous", "normal",
		"--allow-cidr", "127.0.0.0/8",
		"--retry-schedule", "100ms,100ms,100ms",
		"--reconcile-interval", "200ms",
		"--timeout", "2s",
		"--shutdown-timeout", "10s",
		"--log-format", "json",
	}, s.extra...)
	s.daemon = startProc(s.t, "daemon", args...)
	waitHTTP(s.t, s.daemonURL+"/readyz", 200, 30*time.Second)
}

// webhook creates a webhook in the mock that goes through the relay to rcv
// and teaches rcv its secret.
func (s *stack) webhook(account int64, rcv *receiver, subs ...string) chatwoot.Webhook {
	s.t.Helper()
	return s.hook(account, rcv, s.relayURL(account, rcv.srv.URL), subs...)
}

// direct creates a webhook Chatwoot (the mock) delivers to rcv itself.
func (s *stack) direct(account int64, rcv *receiver, subs ...string) chatwoot.Webhook {
	s.t.Helper()
	return s.hook(account, rcv, rcv.srv.URL, subs...)
}

func (s *stack) relayURL(account int64, dest string) string {
	return chatwoot.RelayAddress{Base: s.daemonURL, AccountID: account, Destination: dest}.String()
}

func (s *stack) hook(account int64, rcv *receiver, url string, subs ...string) chatwoot.Webhook {
	s.t.Helper()
	if len(subs) == 0 {
		subs = []string{chatwoot.EventMessageCreated}
	}
	w, err := s.client.CreateWebhook(context.Background(), account, chatwoot.WebhookInput{URL: url, Subscriptions: subs})
	if err != nil {
		s.t.Fatal(err)
	}
	if rcv != nil {
		rcv.setSecret(w.Secret)
	}
	return w
}

func (s *stack) postEvent(account int64, body []byte) (int, []string, error) {
	resp, err := http.Post(fmt.Sprintf("%s/v1/accounts/%d/events", s.daemonURL, account), "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out struct {
		DeliveryIDs []string `json:"delivery_ids"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.DeliveryIDs, nil
}

// TestE2EMockDaemonReceiver: a message created in the mock fires
// message_created; the daemon delivers it, signed, to the webhook's
// receiver, for every content_type the seed document names and for a
// private note.
func TestE2EMockDaemonReceiver(t *testing.T) {
	s := startStack(t)
	rcv := newReceiver(t, "")
	s.webhook(1, rcv)
	other := newReceiver(t, "") // subscribed to something else: gets nothing
	s.webhook(1, other, chatwoot.EventConversationCreated)
	s.startDaemon()

	cases := []struct {
		name string
		body string
		// check the delivered event
		check func(ev chatwoot.MessageEvent) string
	}{
		{"text", `{"content":"Hello <b>there</b> & welcome","message_type":"outgoing"}`, func(ev chatwoot.MessageEvent) string {
			if ev.ContentType != "text" || ev.Content == nil || *ev.Content != "Hello <b>there</b> & welcome" {
				return "text content"
			}
			return ""
		}},
		{"input_select", `{"content":"Pick one","message_type":"outgoing","content_type":"input_select","content_attributes":{"items":[{"title":"Option A","value":"a"},{"title":"Option B","value":"b"}]}}`, func(ev chatwoot.MessageEvent) string {
			if len(itemsOf(ev)) != 2 || itemsOf(ev)[1].Value != "b" {
				return "input_select options"
			}
			return ""
		}},
		{"form", `{"content":"Tell us","message_type":"outgoing","content_type":"form","content_attributes":{"items":[{"name":"email","placeholder":"Your email","type":"email","label":"Email"},{"name":"msg","type":"text_area","label":"Message"}]}}`, func(ev chatwoot.MessageEvent) string {
			if len(itemsOf(ev)) != 2 || itemsOf(ev)[0].Type != "email" || itemsOf(ev)[1].Label != "Message" {
				return "form fields"
			}
			return ""
		}},
		{"cards", `{"content":"Cards","message_type":"outgoing","content_type":"cards","content_attributes":{"items":[{"media_url":"https://img.example/1.png","title":"Plan","description":"Pro","actions":[{"type":"link","text":"View","uri":"https://example.com"},{"type":"postback","text":"Buy","payload":"BUY"}]}]}}`, func(ev chatwoot.MessageEvent) string {
			if len(itemsOf(ev)) != 1 || len(itemsOf(ev)[0].Actions) != 2 || itemsOf(ev)[0].Actions[1].Payload != "BUY" {
				return "card actions"
			}
			return ""
		}},
		{"article", `{"content":"Read","message_type":"outgoing","content_type":"article","content_attributes":{"items":[{"title":"Guide","description":"How to","link":"https://help.example/guide"}]}}`, func(ev chatwoot.MessageEvent) string {
			if itemsOf(ev)[0].Link != "https://help.example/guide" {
				return "article link"
			}
			return ""
		}},
		{"private note", `{"content":"internal","message_type":"outgoing","private":true}`, func(ev chatwoot.MessageEvent) string {
			if !ev.Private {
				return "private flag"
			}
			return ""
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.mockURL+"/api/v1/accounts/1/conversations/2/messages", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("api_access_token", mockapi.AdminToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("mock answered %d %s", resp.StatusCode, b)
			}
			var id string
			select {
			case id = <-rcv.arrived:
			case <-time.After(15 * time.Second):
				t.Fatal("no delivery")
			}
			rcv.mu.Lock()
			body := rcv.got[id]
			rcv.mu.Unlock()
			var ev chatwoot.MessageEvent
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatalf("delivered payload is not a MessageEvent: %v\n%s", err, body)
			}
			if ev.Event != chatwoot.EventMessageCreated || ev.Account.ID != 1 || ev.Conversation.ID != 2 || ev.MessageType != "outgoing" {
				t.Fatalf("event %s account %d conversation %d type %s", ev.Event, ev.Account.ID, ev.Conversation.ID, ev.MessageType)
			}
			if msg := tc.check(ev); msg != "" {
				t.Fatalf("%s wrong in %s", msg, body)
			}
			// The bytes the receiver got are the event the mock fired.
			events := mockEvents(t, s.mockURL)
			if len(events) != i+1 || !jsonEqual(events[i].Payload, body) {
				t.Fatalf("delivered %s\nmock fired %s", body, events[len(events)-1].Payload)
			}
		})
	}
	if hits, _, bad := rcv.stats(); bad != 0 || hits != len(cases) {
		t.Fatalf("receiver: %d requests, %d with bad signatures; want %d, 0", hits, bad, len(cases))
	}
	if hits, _, _ := other.stats(); hits != 0 {
		t.Fatalf("a webhook not subscribed to message_created got %d deliveries", hits)
	}
}

// mockEvents is the mock's message_created events: a message also fires
// conversation_updated and contact_updated, which these webhooks do not get.
func mockEvents(t *testing.T, base string) []mockapi.EventRecord {
	t.Helper()
	var out []mockapi.EventRecord
	for _, ev := range getJSON[[]mockapi.EventRecord](t, base+"/_mock/events") {
		if ev.Event == chatwoot.EventMessageCreated {
			out = append(out, ev)
		}
	}
	return out
}

// getJSON GETs url and decodes its JSON answer.
func getJSON[T any](t testing.TB, url string) T {
	t.Helper()
	var out T
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// TestE2ERetriesUnderOneDeliveryID: an endpoint answering 500, 500, 200
// gets the event three times under one X-Chatwoot-Delivery.
func TestE2ERetriesUnderOneDeliveryID(t *testing.T) {
	s := startStack(t)
	rcv := newReceiver(t, "")
	rcv.setAnswer(func(n int) int { return map[bool]int{true: 500, false: 200}[n <= 2] })
	s.webhook(1, rcv)
	s.startDaemon()

	status, ids, err := s.postEvent(1, []byte(`{"event":"message_created","id":77}`))
	if err != nil || status != 202 || len(ids) != 1 {
		t.Fatalf("ingest: %d %v %v", status, ids, err)
	}
	testproc.WaitFor(t, 15*time.Second, "the delivery", func() bool { return rcv.has(ids[0]) })
	time.Sleep(500 * time.Millisecond) // nothing more should come
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.ids) != 3 {
		t.Fatalf("endpoint got %d requests, want 3 (500, 500, 200)", len(rcv.ids))
	}
	for _, id := range rcv.ids {
		if id != ids[0] {
			t.Fatalf("attempts under delivery ids %v, want all %s", rcv.ids, ids[0])
		}
	}
}

// TestE2EKill9LosesNoAcceptedEvent streams thousands of events, kills the
// daemon with SIGKILL mid-stream, restarts it on the same store and checks
// that every event answered 202 is delivered; duplicates are allowed only
// for attempts that were in flight.
func TestE2EKill9LosesNoAcceptedEvent(t *testing.T) {
	s := startStack(t)
	rcv := newReceiver(t, "")
	s.webhook(1, rcv)
	s.startDaemon()

	events := startStream(s.daemonURL)
	testproc.WaitFor(t, 60*time.Second, "1500 accepted events", func() bool { return events.acceptedN() >= 1500 })

	// SIGKILL mid-stream: no chance to flush or finish anything.
	s.daemon.Stop(syscall.SIGKILL, 5*time.Second)
	atKill := events.acceptedN()
	_, deliveredAtKill, _ := rcv.stats()
	db, err := sql.Open("sqlite", strings.TrimPrefix(s.store, "sqlite:")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deliveries := func(states string) (n int) {
		if err := db.QueryRow(`SELECT count(*) FROM river_job WHERE kind IN (?, ?) AND state IN (`+states+`)`, delivery.Kind, delivery.BatchKind).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// What may be sent again, counted from the store: the deliveries of
	// running jobs whose outcome was not recorded (in flight, or completed
	// inside the recorder's write window). A batch's deliveries recorded
	// before the kill are not sent again. A batch's ids are one string
	// (delivery.IDList): "[" + ids + "]" is a JSON array.
	var runningAtKill int
	if err := db.QueryRow(`SELECT count(*) FROM chatwoot_deliveries WHERE state NOT IN ('succeeded', 'dead', 'cancelled') AND id IN (
			SELECT CAST(j.value AS INTEGER) FROM river_job r, json_each('[' || json_extract(r.args, '$.ids') || ']') j WHERE r.kind = ? AND r.state = 'running'
			UNION SELECT json_extract(args, '$.id') FROM river_job WHERE kind = ? AND state = 'running')`, delivery.BatchKind, delivery.Kind).Scan(&runningAtKill); err != nil {
		t.Fatal(err)
	}
	var recordedInRunning int
	if err := db.QueryRow(`SELECT count(*) FROM chatwoot_deliveries WHERE state = 'succeeded' AND id IN (
			SELECT CAST(j.value AS INTEGER) FROM river_job r, json_each('[' || json_extract(r.args, '$.ids') || ']') j WHERE r.kind = ? AND r.state = 'running')`, delivery.BatchKind).Scan(&recordedInRunning); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed with %d accepted, %d delivered, %d deliveries of running jobs not recorded (%d recorded delivered in running batches: not sent again)", atKill, deliveredAtKill, runningAtKill, recordedInRunning)

	s.startDaemon()
	testproc.WaitFor(t, 60*time.Second, "3000 accepted events", func() bool { return events.acceptedN() >= 3000 })
	all := events.finish()
	// In-flight attempts of the killed daemon are rescued after River's
	// RescueStuckJobsAfter (about 20s with --timeout 2s) by the next leader.
	waitDelivered(t, rcv, all, 150*time.Second)
	// Every duplicate there will be is sent once the rescued ones are done.
	testproc.WaitFor(t, 120*time.Second, "the queue to drain", func() bool {
		return deliveries("'available', 'pending', 'retryable', 'running', 'scheduled'") == 0
	})
	hits, delivered, bad := rcv.stats()
	t.Logf("posted %d, accepted %d, delivered %d distinct in %d requests (%d duplicates, bound %d), bad signatures %d",
		events.posted.Load(), len(all), delivered, hits, hits-delivered, runningAtKill, bad)
	if bad != 0 {
		t.Fatalf("%d deliveries with bad signatures", bad)
	}
	if dups := hits - delivered; dups > runningAtKill {
		t.Fatalf("%d duplicate deliveries, more than the %d deliveries of running jobs not recorded at the kill", dups, runningAtKill)
	}
}

// TestE2EDeadEndpointDoesNotSlowHealthyOne: one endpoint hangs until the
// attempt times out, another answers at once; the healthy one's deliveries
// arrive promptly.
func TestE2EDeadEndpointDoesNotSlowHealthyOne(t *testing.T) {
	s := startStack(t, "--endpoint-concurrency", "4")
	healthy := newReceiver(t, "")
	s.webhook(1, healthy)
	hang := make(chan struct{})
	var dead atomic.Int64
	deadSrv := newReceiver(t, "")
	deadSrv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dead.Add(1)
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(hang) })
	s.webhook(1, deadSrv)
	s.startDaemon()

	const n = 300
	sent := make(map[string]time.Time, n)
	var healthyIDs []string
	for i := range n {
		status, ids, err := s.postEvent(1, fmt.Appendf(nil, `{"event":"message_created","id":%d}`, i))
		if err != nil || status != 202 || len(ids) != 2 {
			t.Fatalf("ingest %d: %d %v %v", i, status, ids, err)
		}
		// ids follow webhook ids: the healthy webhook was created first.
		sent[ids[0]] = time.Now()
		healthyIDs = append(healthyIDs, ids[0])
		time.Sleep(10 * time.Millisecond) // a steady stream over ~3s, across several attempt timeouts
	}
	testproc.WaitFor(t, 20*time.Second, "every healthy delivery", func() bool { return healthy.count() == n })
	healthy.mu.Lock()
	var lat []time.Duration
	for _, id := range healthyIDs {
		lat = append(lat, healthy.times[id].Sub(sent[id]))
	}
	healthy.mu.Unlock()
	p50, p99, worst := pct(lat, 50), pct(lat, 99), pct(lat, 100)
	t.Logf("healthy endpoint latency p50 %s p99 %s max %s; the dead one got %d attempts", p50, p99, worst, dead.Load())
	if dead.Load() == 0 {
		t.Fatal("the dead endpoint was never tried")
	}
	if p99 > 1500*time.Millisecond {
		t.Fatalf("healthy p99 %s: the dead endpoint (2s timeouts) slowed it", p99)
	}
}

// TestE2ERemovedWebhookStopsReceiving: a webhook deleted upstream gets no
// further attempts of its pending deliveries.
func TestE2ERemovedWebhookStopsReceiving(t *testing.T) {
	s := startStack(t, "--retry-schedule", "500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms")
	rcv := newReceiver(t, "")
	rcv.setAnswer(func(int) int { return 500 })
	w := s.webhook(1, rcv)
	s.startDaemon()
	if status, _, err := s.postEvent(1, []byte(`{"event":"message_created"}`)); err != nil || status != 202 {
		t.Fatalf("ingest: %d %v", status, err)
	}
	testproc.WaitFor(t, 10*time.Second, "a first attempt", func() bool { h, _, _ := rcv.stats(); return h >= 1 })
	if err := s.client.DeleteWebhook(context.Background(), 1, w.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // a reconcile (200ms) happens; at most one attempt may be in flight
	before, _, _ := rcv.stats()
	time.Sleep(3 * time.Second)
	after, _, _ := rcv.stats()
	if after != before {
		t.Fatalf("the deleted webhook got %d more attempts", after-before)
	}
	if !strings.Contains(s.daemon.Output(), "pending deliveries cancelled") && !strings.Contains(s.daemon.Output(), "no longer exists upstream") {
		t.Log("daemon log does not mention the cancellation")
	}
}

// TestE2EGoneDisablesUntilWebhookChanges: 410 disables the endpoint; an
// update of the webhook upstream enables it again.
func TestE2EGoneDisablesUntilWebhookChanges(t *testing.T) {
	s := startStack(t)
	rcv := newReceiver(t, "")
	rcv.setAnswer(func(n int) int { return map[bool]int{true: 410, false: 200}[n == 1] })
	w := s.webhook(1, rcv)
	s.startDaemon()
	if status, _, _ := s.postEvent(1, []byte(`{"event":"message_created","n":1}`)); status != 202 {
		t.Fatal(status)
	}
	testproc.WaitFor(t, 10*time.Second, "the 410", func() bool { h, _, _ := rcv.stats(); return h == 1 })
	testproc.WaitFor(t, 5*time.Second, "the endpoint disabled", func() bool { return endpointStatus(t, s.daemonURL, w.ID) == "disabled" })
	// An event for the disabled endpoint is kept: stored, cancelled at its
	// turn without an attempt.
	status, kept, _ := s.postEvent(1, []byte(`{"event":"message_created","n":2}`))
	if status != 202 || len(kept) != 1 {
		t.Fatalf("event for the disabled endpoint: %d %v; want it stored", status, kept)
	}
	testproc.WaitFor(t, 10*time.Second, "the kept delivery cancelled", func() bool { return deliveryState(t, s.daemonURL, kept[0]) == "cancelled" })
	if h, _, _ := rcv.stats(); h != 1 {
		t.Fatalf("the disabled endpoint got %d requests, want 1 (the 410)", h)
	}
	if _, err := s.client.UpdateWebhook(context.Background(), 1, w.ID, chatwoot.WebhookInput{URL: s.relayURL(1, rcv.srv.URL+"/v2"), Subscriptions: []string{chatwoot.EventMessageCreated}}); err != nil {
		t.Fatal(err)
	}
	testproc.WaitFor(t, 5*time.Second, "the endpoint enabled again", func() bool { return endpointStatus(t, s.daemonURL, w.ID) == "active" })
	status, ids, _ := s.postEvent(1, []byte(`{"event":"message_created","n":3}`))
	if status != 202 || len(ids) != 1 {
		t.Fatalf("after re-enabling: %d %v", status, ids)
	}
	testproc.WaitFor(t, 10*time.Second, "the delivery after re-enabling", func() bool { return rcv.has(ids[0]) })
}

// TestE2ESIGTERMExitsCleanlyAndKeepsQueue: SIGTERM stops the daemon with
// exit status 0 while deliveries are pending; a restart delivers them.
func TestE2ESIGTERMExitsCleanlyAndKeepsQueue(t *testing.T) {
	s := startStack(t, "--retry-schedule", "1s")
	rcv := newReceiver(t, "")
	var slow atomic.Bool
	slow.Store(true)
	rcv.setAnswer(func(int) int {
		if slow.Load() {
			time.Sleep(300 * time.Millisecond)
			return 503
		}
		return 200
	})
	s.webhook(1, rcv)
	s.startDaemon()
	var ids []string
	for i := range 20 {
		status, got, err := s.postEvent(1, fmt.Appendf(nil, `{"event":"message_created","id":%d}`, i))
		if err != nil || status != 202 {
			t.Fatalf("ingest: %d %v", status, err)
		}
		ids = append(ids, got...)
	}
	time.Sleep(200 * time.Millisecond) // attempts in flight
	start := time.Now()
	if !s.daemon.Stop(syscall.SIGTERM, 15*time.Second) {
		t.Fatal("daemon did not exit within 15s of SIGTERM")
	}
	if s.daemon.Err() != nil {
		t.Fatalf("daemon exited with %v after SIGTERM", s.daemon.Err())
	}
	t.Logf("stopped in %s", time.Since(start))
	if !strings.Contains(s.daemon.Output(), `"stopped"`) {
		t.Fatal("no clean stop in the log")
	}
	slow.Store(false)
	s.startDaemon()
	testproc.WaitFor(t, 20*time.Second, "every pending delivery after the restart", func() bool {
		for _, id := range ids {
			if !rcv.has(id) {
				return false
			}
		}
		return true
	})
}

// stream posts message_created events from 8 concurrent posters, each post
// to the next of targets in turn, until finished; it keeps the delivery id
// of every event answered 202.
type stream struct {
	mu       sync.Mutex
	accepted []string
	posted   atomic.Int64
	stop     atomic.Bool
	wg       sync.WaitGroup
}

func startStream(targets ...string) *stream {
	s := &stream{}
	hc := &http.Client{Timeout: 5 * time.Second}
	for g := range 8 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for i := 0; !s.stop.Load(); i++ {
				body := fmt.Appendf(nil, `{"event":"message_created","id":%d,"poster":%d}`, i, g)
				id, err := postForDelivery(hc, targets[(i+g)%len(targets)], body)
				s.posted.Add(1)
				if err != nil {
					time.Sleep(5 * time.Millisecond) // a daemon down
					continue
				}
				if id != "" {
					s.mu.Lock()
					s.accepted = append(s.accepted, id)
					s.mu.Unlock()
				}
			}
		}()
	}
	return s
}

func (s *stream) acceptedN() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

// finish stops the posters and returns the delivery ids accepted.
func (s *stream) finish() []string {
	s.stop.Store(true)
	s.wg.Wait()
	return s.accepted
}

// waitDelivered waits until rcv got every one of ids.
func waitDelivered(t *testing.T, rcv *receiver, ids []string, within time.Duration) {
	t.Helper()
	testproc.WaitFor(t, within, fmt.Sprintf("all %d accepted events delivered", len(ids)), func() bool {
		for _, id := range ids {
			if !rcv.has(id) {
				return false
			}
		}
		return true
	})
}

// endpointStatus is the admin API's status of webhook id on the daemon at base.
func endpointStatus(t *testing.T, base string, id int64) string {
	t.Helper()
	var list struct {
		Endpoints []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"endpoints"`
	}
	call(t, "GET", base+"/v1/endpoints", "", &list)
	for _, e := range list.Endpoints {
		if e.ID == id {
			return e.Status
		}
	}
	return "absent"
}

// deliveryState is the admin API's state of one delivery.
func deliveryState(t *testing.T, base, id string) string {
	t.Helper()
	var d struct {
		State string `json:"state"`
	}
	if code, body := call(t, "GET", base+"/v1/deliveries/"+id, "", &d); code != 200 {
		t.Fatalf("GET delivery %s: %d %s", id, code, body)
	}
	return d.State
}

// postEventTo posts an event to one daemon's ingest.
func postEventTo(base string, account int64, body []byte) (int, []string) {
	resp, err := http.Post(fmt.Sprintf("%s/v1/accounts/%d/events", base, account), "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out struct {
		DeliveryIDs []string `json:"delivery_ids"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.DeliveryIDs
}

// TestE2EGoneMarkSurvivesRestart: the 410 disable is in the store, so a
// restarted daemon still delivers nothing to the endpoint, from its very
// first accepted event; an enable through the admin API is stored too.
func TestE2EGoneMarkSurvivesRestart(t *testing.T) {
	s := startStack(t)
	rcv := newReceiver(t, "")
	rcv.setAnswer(func(n int) int { return map[bool]int{true: 410, false: 200}[n == 1] })
	w := s.webhook(1, rcv)
	s.startDaemon()
	since := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	status, gone, _ := s.postEvent(1, []byte(`{"event":"message_created","n":1}`))
	if status != 202 || len(gone) != 1 {
		t.Fatal(status, gone)
	}
	testproc.WaitFor(t, 10*time.Second, "the endpoint disabled", func() bool { return endpointStatus(t, s.daemonURL, w.ID) == "disabled" })
	restart := func() {
		t.Helper()
		if !s.daemon.Stop(syscall.SIGTERM, 15*time.Second) {
			t.Fatal("daemon did not stop")
		}
		s.startDaemon() // returns once /readyz answers 200
	}
	restart()
	if st := endpointStatus(t, s.daemonURL, w.ID); st != "disabled" {
		t.Fatalf("after the restart the endpoint is %s, want disabled", st)
	}
	// Kept, from the first event the restarted daemon accepts: not attempted.
	_, kept := postEventTo(s.daemonURL, 1, []byte(`{"event":"message_created","n":3}`))
	if len(kept) != 1 {
		t.Fatalf("kept %v", kept)
	}
	testproc.WaitFor(t, 10*time.Second, "the kept delivery cancelled", func() bool { return deliveryState(t, s.daemonURL, kept[0]) == "cancelled" })
	if h, _, _ := rcv.stats(); h != 1 || rcv.has(kept[0]) {
		t.Fatalf("the disabled endpoint got %d requests after the restart", h-1)
	}
	recoverURL := fmt.Sprintf("%s/v1/endpoints/%d/recover?since=%s", s.daemonURL, w.ID, since)
	if code, body := call(t, "POST", recoverURL, "", nil); code != 409 || !strings.Contains(body, "enable it first") {
		t.Fatalf("recover while disabled: %d %s", code, body)
	}
	if code, body := call(t, "POST", fmt.Sprintf("%s/v1/endpoints/%d/enable", s.daemonURL, w.ID), "", nil); code != 200 || !strings.Contains(body, "/recover?since=") {
		t.Fatalf("enable: %d %s", code, body)
	}
	restart()
	if st := endpointStatus(t, s.daemonURL, w.ID); st != "active" {
		t.Fatalf("after enable and restart the endpoint is %s; the enable must be stored", st)
	}
	// Recover re-queues, under their own delivery ids, what failed or was
	// kept since then: the delivery its 410 cancelled, and the kept one.
	var rec struct {
		Recovered int `json:"recovered"`
	}
	if code, body := call(t, "POST", recoverURL, "", &rec); code != 200 || rec.Recovered != 2 {
		t.Fatalf("recover: %d %s; want the 410'd and the kept delivery", code, body)
	}
	testproc.WaitFor(t, 10*time.Second, "the recovered deliveries", func() bool { return rcv.has(kept[0]) && rcv.has(gone[0]) })
	status, ids := postEventTo(s.daemonURL, 1, []byte(`{"event":"message_created","n":4}`))
	if status != 202 || len(ids) != 1 {
		t.Fatalf("after enable: %d %v", status, ids)
	}
	testproc.WaitFor(t, 10*time.Second, "the delivery after enabling", func() bool { return rcv.has(ids[0]) })
}

// TestE2EPauseResume: a paused endpoint's deliveries wait, a restart keeps
// the pause (it is in the store), and resume lets them flow at once in the
// order they were created (one worker, so that attempts do not race for the
// endpoint's slot).
func TestE2EPauseResume(t *testing.T) {
	s := startStack(t, "--workers", "1", "--endpoint-concurrency", "1", "--batch-size", "1")
	rcv := newReceiver(t, "")
	w := s.webhook(1, rcv)
	s.startDaemon()
	base := fmt.Sprintf("%s/v1/endpoints/%d", s.daemonURL, w.ID)
	if code, body := call(t, "POST", base+"/pause", "", nil); code != 200 || !strings.Contains(body, `"paused_at"`) {
		t.Fatalf("pause: %d %s", code, body)
	}
	var ids []string
	for i := range 5 {
		status, got, _ := s.postEvent(1, fmt.Appendf(nil, `{"event":"message_created","n":%d}`, i))
		if status != 202 || len(got) != 1 {
			t.Fatalf("event %d: %d %v", i, status, got)
		}
		ids = append(ids, got...)
	}
	// Every delivery fetched and snoozed for the pause: its job "scheduled".
	db, err := sql.Open("sqlite", strings.TrimPrefix(s.store, "sqlite:")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testproc.WaitFor(t, 20*time.Second, "every delivery waiting for the pause", func() bool {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = ? AND state = 'scheduled'`, delivery.Kind).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == len(ids)
	})
	if h, _, _ := rcv.stats(); h != 0 {
		t.Fatalf("a paused endpoint got %d requests", h)
	}
	if !s.daemon.Stop(syscall.SIGTERM, 15*time.Second) {
		t.Fatal("daemon did not stop")
	}
	s.startDaemon()
	time.Sleep(500 * time.Millisecond)
	if h, _, _ := rcv.stats(); h != 0 {
		t.Fatalf("after a restart the paused endpoint got %d requests; the pause must be stored", h)
	}
	var res struct {
		WasPaused bool `json:"was_paused"`
		Requeued  int  `json:"requeued"`
	}
	if code, body := call(t, "POST", base+"/resume", "", &res); code != 200 || !res.WasPaused || res.Requeued != len(ids) {
		t.Fatalf("resume: %d %s; want every waiting delivery re-queued", code, body)
	}
	start := time.Now()
	testproc.WaitFor(t, 10*time.Second, "the waiting deliveries", func() bool { return rcv.count() == len(ids) })
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the deliveries flowed %s after resume; it re-queues them at once", took)
	}
	rcv.mu.Lock()
	order := append([]string{}, rcv.ids...)
	rcv.mu.Unlock()
	if !slices.Equal(order, ids) {
		rcv.mu.Lock()
		for _, id := range order {
			t.Logf("%s arrived %s after resume", id, rcv.times[id].Sub(start))
		}
		rcv.mu.Unlock()
		t.Fatalf("delivered in order %v, created %v", order, ids)
	}
}

// TestE2EStoredEndpointsWhileChatwootIsDown: the last good list of
// webhooks is in the store, so a daemon restarted while Chatwoot is down
// turns ready from it and delivers its stored backlog instead of answering
// 503 until Chatwoot is back.
func TestE2EStoredEndpointsWhileChatwootIsDown(t *testing.T) {
	s := startStack(t, "--retry-schedule", "2s")
	rcv := newReceiver(t, "")
	var up atomic.Bool
	rcv.setAnswer(func(int) int { return map[bool]int{true: 200, false: 503}[up.Load()] })
	s.webhook(1, rcv)
	s.startDaemon()
	var ids []string
	for i := range 3 {
		status, got, _ := s.postEvent(1, fmt.Appendf(nil, `{"event":"message_created","n":%d}`, i))
		if status != 202 || len(got) != 1 {
			t.Fatalf("event %d: %d %v", i, status, got)
		}
		ids = append(ids, got...)
	}
	testproc.WaitFor(t, 10*time.Second, "the first attempts (503)", func() bool { h, _, _ := rcv.stats(); return h >= 3 })
	if !s.daemon.Stop(syscall.SIGTERM, 15*time.Second) {
		t.Fatal("daemon did not stop")
	}
	s.mockURL = "http://" + testproc.FreeAddr(t) // Chatwoot is down
	up.Store(true)
	s.startDaemon() // returns once /readyz answers 200
	testproc.WaitFor(t, 15*time.Second, "the stored backlog delivered while Chatwoot is down", func() bool {
		for _, id := range ids {
			if !rcv.has(id) {
				return false
			}
		}
		return true
	})
	if !strings.Contains(s.daemon.Output(), "delivering with the endpoints stored") {
		t.Fatal("the daemon did not say it delivers from the stored endpoints")
	}
}

// TestE2EAttemptLogShowsEveryAttempt: the delivery log shows every attempt
// with its duration, the 2xx included, from the store's attempts.
func TestE2EAttemptLogShowsEveryAttempt(t *testing.T) {
	s := startStack(t)
	rcv := newReceiver(t, "")
	rcv.setAnswer(func(n int) int { return map[bool]int{true: 503, false: 200}[n == 1] })
	s.webhook(1, rcv)
	s.startDaemon()
	_, ids, _ := s.postEvent(1, []byte(`{"event":"message_created","n":1}`))
	if len(ids) != 1 {
		t.Fatal(ids)
	}
	testproc.WaitFor(t, 10*time.Second, "the delivery", func() bool { return rcv.has(ids[0]) })
	var d struct {
		State    string `json:"state"`
		Attempts []struct {
			Attempt    int     `json:"attempt"`
			Status     int     `json:"status"`
			DurationMS float64 `json:"duration_ms"`
			Error      string  `json:"error"`
		} `json:"attempts"`
	}
	testproc.WaitFor(t, 5*time.Second, "both attempts in the log, with durations", func() bool {
		call(t, "GET", s.daemonURL+"/v1/deliveries/"+ids[0], "", &d)
		return d.State == "succeeded" && len(d.Attempts) == 2
	})
	if d.State != "succeeded" || d.Attempts[0].Status != 503 || d.Attempts[0].Error == "" || d.Attempts[1].Status != 200 || d.Attempts[1].Error != "" || d.Attempts[0].DurationMS <= 0 || d.Attempts[1].DurationMS <= 0 {
		t.Fatalf("delivery %+v", d)
	}
}
