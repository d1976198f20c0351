package daemon

// The relay end to end, every part the real binary but the receivers: the
// mock delivers like Chatwoot (signed, once, no retry) to the webhooks'
// urls; those that go through the relay reach the daemon, which delivers
// them on with retries.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/testproc"
)

// postMessage creates a message in the mock, which fires message_created.
func (s *stack) postMessage(t testing.TB, content string) {
	t.Helper()
	if status := s.tryPostMessage(content); status != http.StatusOK {
		t.Fatalf("mock answered %d to a new message", status)
	}
}

func (s *stack) tryPostMessage(content string) int {
	body, _ := json.Marshal(map[string]string{"content": content, "message_type": "outgoing"})
	req, _ := http.NewRequest(http.MethodPost, s.mockURL+"/api/v1/accounts/1/conversations/2/messages", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api_access_token", mockapi.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// mockDeliveries is the mock's /_mock/deliveries.
func (s *stack) mockDeliveries(t testing.TB) []mockapi.DeliveryRecord {
	t.Helper()
	return getJSON[[]mockapi.DeliveryRecord](t, s.mockURL+"/_mock/deliveries")
}

// settledDeliveries waits until the mock made n deliveries and each settled.
func (s *stack) settledDeliveries(t testing.TB, n int) []mockapi.DeliveryRecord {
	t.Helper()
	var recs []mockapi.DeliveryRecord
	testproc.WaitFor(t, 20*time.Second, fmt.Sprintf("%d settled deliveries of the mock", n), func() bool {
		recs = s.mockDeliveries(t)
		if len(recs) < n {
			return false
		}
		for _, r := range recs {
			if r.State == mockapi.DeliveryPending {
				return false
			}
		}
		return true
	})
	return recs
}

func deliveryFor(recs []mockapi.DeliveryRecord, webhookID int64) (mockapi.DeliveryRecord, bool) {
	for _, r := range recs {
		if r.WebhookID == webhookID {
			return r, true
		}
	}
	return mockapi.DeliveryRecord{}, false
}

// failFirst answers 500 to the first n requests, then 200.
func failFirst(n int) func(int) int {
	return func(i int) int {
		if i <= n {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
}

// TestE2ERelayVsDirect is why the relay exists: both receivers fail their
// first two attempts; the direct webhook gets Chatwoot's single attempt and
// the event is lost, the relayed one arrives on attempt 3 under the
// X-Chatwoot-Delivery Chatwoot gave it, signed with the webhook's secret.
func TestE2ERelayVsDirect(t *testing.T) {
	s := startStack(t)
	direct, relayed := newReceiver(t, ""), newReceiver(t, "")
	direct.setAnswer(failFirst(2))
	relayed.setAnswer(failFirst(2))
	dh := s.direct(1, direct)
	rh := s.webhook(1, relayed)
	s.startDaemon()

	s.postMessage(t, "retry me")
	recs := s.settledDeliveries(t, 2)
	viaRelay, ok := deliveryFor(recs, rh.ID)
	if !ok || viaRelay.State != mockapi.DeliveryDelivered || viaRelay.Status != 200 {
		t.Fatalf("the mock's delivery to the relay: %+v (found %v); want 200 at once", viaRelay, ok)
	}
	testproc.WaitFor(t, 15*time.Second, "the relayed delivery", func() bool { return relayed.has(viaRelay.DeliveryID) })
	time.Sleep(500 * time.Millisecond) // nothing more should come
	relayed.mu.Lock()
	ids := append([]string(nil), relayed.ids...)
	relayed.mu.Unlock()
	if len(ids) != 3 || ids[0] != viaRelay.DeliveryID || ids[2] != viaRelay.DeliveryID {
		t.Fatalf("relayed receiver got %v; want 3 attempts (500, 500, 200) under Chatwoot's id %s", ids, viaRelay.DeliveryID)
	}
	if _, _, bad := relayed.stats(); bad != 0 {
		t.Fatalf("%d relayed attempts did not verify with the webhook's secret", bad)
	}
	viaChatwoot, _ := deliveryFor(recs, dh.ID)
	if hits, got, _ := direct.stats(); hits != 1 || got != 0 || viaChatwoot.Status != 500 {
		t.Fatalf("direct receiver: %d attempts, %d delivered, Chatwoot saw %d; want Chatwoot's single failed attempt", hits, got, viaChatwoot.Status)
	}
	// The daemon never delivered to the direct webhook.
	var eps struct {
		Endpoints []struct {
			ID     int64  `json:"id"`
			URL    string `json:"url"`
			Status string `json:"status"`
		} `json:"endpoints"`
	}
	if status, body := call(t, http.MethodGet, s.daemonURL+"/v1/endpoints", "", &eps); status != 200 || len(eps.Endpoints) != 1 || eps.Endpoints[0].ID != rh.ID {
		t.Fatalf("endpoints %d %s; want only the relayed webhook", status, body)
	}
}

// relayPost posts to the daemon's relay route as Chatwoot would, signed
// with secret at ts (no signature when secret is empty).
func relayPost(t testing.TB, relayURL, secret, deliveryID string, ts time.Time, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, relayURL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(chatwoot.HeaderDelivery, deliveryID)
	if secret != "" {
		chatwoot.SignatureHeaders(req.Header, secret, ts, body)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestE2ERelayRefusesAndDedupes: a forged, unsigned or stale post is 401
// and queues nothing; a repeated X-Chatwoot-Delivery queues nothing; each
// refusal is counted by reason.
func TestE2ERelayRefusesAndDedupes(t *testing.T) {
	s := startStack(t)
	rcv := newReceiver(t, "")
	hook := s.webhook(1, rcv)
	s.startDaemon()
	body := []byte(`{"event":"message_created","id":1,"content":"hi"}`)
	now := time.Now()

	for _, tc := range []struct {
		name   string
		secret string
		ts     time.Time
	}{
		{"forged", "not-the-secret", now},
		{"unsigned", "", now},
		{"stale", hook.Secret, now.Add(-10 * time.Minute)},
	} {
		if status, answer := relayPost(t, hook.URL, tc.secret, "11111111-2222-4333-8444-"+fmt.Sprintf("%012d", len(tc.name)), tc.ts, body); status != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s; want 401", tc.name, status, answer)
		}
	}
	if got := listDeliveries(t, s.daemonURL, ""); len(got.Deliveries) != 0 {
		t.Fatalf("refused posts queued %d deliveries", len(got.Deliveries))
	}

	const id = "0f0e0d0c-0b0a-4908-8706-050403020100"
	for i := range 2 {
		status, answer := relayPost(t, hook.URL, hook.Secret, id, time.Now(), body)
		if status != http.StatusOK || strings.Contains(answer, `"duplicate":true`) != (i == 1) {
			t.Fatalf("post %d: %d %s", i+1, status, answer)
		}
	}
	testproc.WaitFor(t, 15*time.Second, "the delivery", func() bool { return rcv.has(id) })
	time.Sleep(300 * time.Millisecond)
	if hits, _, _ := rcv.stats(); hits != 1 {
		t.Fatalf("receiver got %d requests for one delivery id posted twice", hits)
	}
	if got := listDeliveries(t, s.daemonURL, ""); len(got.Deliveries) != 1 {
		t.Fatalf("%d deliveries stored, want 1", len(got.Deliveries))
	}
	for outcome, want := range map[string]float64{"bad_signature": 2, "stale_timestamp": 1, "accepted": 1, "duplicate": 1} {
		if got := metricValue(t, s.daemonURL, `chatwoot_relay_requests_total{outcome="`+outcome+`"}`); got != want {
			t.Errorf("chatwoot_relay_requests_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	if !strings.Contains(s.daemon.Output(), "relay request refused") {
		t.Error("refusals are not logged")
	}
	if strings.Contains(s.daemon.Output(), hook.Secret) {
		t.Fatal("the daemon logged the webhook's secret")
	}
}

// TestE2ERelayWebhookCreatedJustBeforeItsFirstEvent: with reconciles an
// hour apart, the relay lists the account at once on a miss, so the first
// event of a webhook created a moment ago is relayed, not lost.
func TestE2ERelayWebhookCreatedJustBeforeItsFirstEvent(t *testing.T) {
	s := startStack(t, "--reconcile-interval", "1h")
	s.startDaemon()
	rcv := newReceiver(t, "")
	hook := s.webhook(1, rcv)
	s.postMessage(t, "first event of a new webhook")
	recs := s.settledDeliveries(t, 1)
	rec, _ := deliveryFor(recs, hook.ID)
	if rec.Status != 200 {
		t.Fatalf("the mock's delivery to the relay: %+v; want 200", rec)
	}
	testproc.WaitFor(t, 15*time.Second, "the relayed first event", func() bool { return rcv.has(rec.DeliveryID) })
}

// TestE2ENoDeliveryLoop: a direct webhook pointing at the ingest and a
// relayed one whose destination is the relay itself: one event yields a
// bounded number of deliveries, and the daemon never sends one to itself.
func TestE2ENoDeliveryLoop(t *testing.T) {
	s := startStack(t)
	rcv := newReceiver(t, "")
	s.webhook(1, rcv)
	s.hook(1, nil, s.daemonURL+"/v1/accounts/1/events")
	self := s.hook(1, nil, s.relayURL(1, s.relayURL(1, "http://127.0.0.1:9/never")))
	viaLocalhost := s.hook(1, nil, s.relayURL(1, strings.Replace(s.daemonURL, "127.0.0.1", "localhost", 1)+"/v1/accounts/1/events"))
	s.startDaemon()

	s.postMessage(t, "loop?")
	recs := s.settledDeliveries(t, 4)
	time.Sleep(1500 * time.Millisecond) // a loop would keep going
	hits, _, bad := rcv.stats()
	// The receiver gets the relayed event, and the ingest's fan-out of the
	// event Chatwoot posted there directly: two, and no more.
	if hits != 2 || bad != 0 {
		t.Fatalf("receiver got %d requests (%d bad); want 2", hits, bad)
	}
	if attempts := metricValue(t, s.daemonURL, `chatwoot_delivery_attempts_total{status_class="2xx"}`) +
		metricValue(t, s.daemonURL, `chatwoot_delivery_attempts_total{status_class="error"}`); attempts != 2 {
		t.Fatalf("the daemon made %v attempts; want the receiver's 2 only", attempts)
	}
	if n := len(s.mockDeliveries(t)); n != len(recs) {
		t.Fatalf("the mock made %d deliveries after the first %d settled", n, len(recs))
	}
	var eps struct {
		Endpoints []struct {
			ID            int64  `json:"id"`
			Status        string `json:"status"`
			RefusedReason string `json:"refused_reason"`
		} `json:"endpoints"`
	}
	call(t, http.MethodGet, s.daemonURL+"/v1/endpoints", "", &eps)
	refused := map[int64]string{}
	for _, e := range eps.Endpoints {
		if e.Status == "refused" {
			refused[e.ID] = e.RefusedReason
		}
	}
	if !strings.Contains(refused[self.ID], "this daemon") || !strings.Contains(refused[viaLocalhost.ID], "this daemon") || len(refused) != 2 {
		t.Fatalf("refused endpoints %v; want webhooks %d and %d refused as the daemon itself", refused, self.ID, viaLocalhost.ID)
	}
}

// TestE2ERelayKill9LosesNoAcceptedEvent: messages stream into the mock,
// which delivers each to the relay; the daemon is killed with SIGKILL
// mid-stream and restarted on the same store. Every event the relay
// answered 200 is delivered (Chatwoot's failed deliveries while it was
// down are lost, as they would be to any receiver that is down).
func TestE2ERelayKill9LosesNoAcceptedEvent(t *testing.T) {
	s := startStack(t)
	rcv := newReceiver(t, "")
	s.webhook(1, rcv)
	s.startDaemon()

	var stop atomic.Bool
	var wg sync.WaitGroup
	var posted atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if s.tryPostMessage(fmt.Sprintf("m%d", i)) == http.StatusOK {
					posted.Add(1)
				}
			}
		}()
	}
	testproc.WaitFor(t, 60*time.Second, "300 messages", func() bool { return posted.Load() >= 300 })
	s.daemon.Stop(syscall.SIGKILL, 5*time.Second)
	testproc.WaitFor(t, 10*time.Second, "Chatwoot failing to deliver", func() bool {
		for _, r := range s.mockDeliveries(t) {
			if r.State == mockapi.DeliveryFailed {
				return true
			}
		}
		return false
	})
	s.startDaemon()
	testproc.WaitFor(t, 60*time.Second, "600 messages", func() bool { return posted.Load() >= 600 })
	stop.Store(true)
	wg.Wait()

	recs := s.settledDeliveries(t, int(posted.Load()))
	var accepted []string
	failed := 0
	for _, r := range recs {
		if r.Status == 200 {
			accepted = append(accepted, r.DeliveryID)
		} else {
			failed++
		}
	}
	// Attempts in flight at the kill are retried after RescueStuckJobsAfter (~20s here).
	waitDelivered(t, rcv, accepted, 120*time.Second)
	hits, delivered, bad := rcv.stats()
	t.Logf("%d messages: the relay answered 200 to %d, Chatwoot's delivery failed for %d while it was down; %d delivered in %d requests, %d bad signatures",
		len(recs), len(accepted), failed, delivered, hits, bad)
	if bad != 0 || failed == 0 {
		t.Fatalf("%d bad signatures, %d failed deliveries (the kill should have made some)", bad, failed)
	}
}
