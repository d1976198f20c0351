package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// countingChatwoot answers webhook lists slowly enough for concurrent
// readers to overlap, and counts them.
func countingChatwoot(t *testing.T) (*chatwoot.Client, *atomic.Int64) {
	var lists atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lists.Add(1)
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"payload":{"webhooks":[{"id":%d,"url":"https://h.example.com/%d","subscriptions":["message_created"],"secret":"s"}]}}`,
			lists.Load(), lists.Load())
	}))
	t.Cleanup(ts.Close)
	c, err := chatwoot.NewClient(chatwoot.Options{BaseURL: ts.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return c, &lists
}

func TestWebhookCacheCoalescesAndInvalidates(t *testing.T) {
	client, lists := countingChatwoot(t)
	cache := newWebhookCache(client)
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, ok, err := cache.Find(ctx, 1, 1); err != nil || !ok {
				t.Errorf("Find = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
	if n := lists.Load(); n != 1 {
		t.Fatalf("50 concurrent reads made %d list requests, want 1", n)
	}

	// Another account is listed on its own.
	if _, err := cache.List(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if n := lists.Load(); n != 2 {
		t.Fatalf("second account: %d list requests, want 2", n)
	}

	// A write invalidates: the next read lists again and sees the new data.
	cache.Invalidate(1)
	if _, ok, _ := cache.Find(ctx, 1, 3); !ok {
		t.Fatal("after Invalidate the cache served the old list")
	}
	if n := lists.Load(); n != 3 {
		t.Fatalf("after Invalidate: %d list requests, want 3", n)
	}
}

// TestWebhookCacheWriteDuringList: a list that was in flight when a write
// happened must not be stored, or later reads would miss the write.
func TestWebhookCacheWriteDuringList(t *testing.T) {
	client, lists := countingChatwoot(t)
	cache := newWebhookCache(client)
	ctx := context.Background()

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = cache.List(ctx, 1) // in flight for 50ms
	}()
	time.Sleep(10 * time.Millisecond)
	cache.Invalidate(1)
	<-done
	if _, err := cache.List(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := lists.Load(); n != 2 {
		t.Fatalf("%d list requests, want 2: the list begun before the write was reused", n)
	}
}

func TestWebhookCacheDoesNotCacheErrors(t *testing.T) {
	var calls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"You are not authorized to do this action"}`)
			return
		}
		fmt.Fprint(w, `{"payload":{"webhooks":[]}}`)
	}))
	defer ts.Close()
	client, err := chatwoot.NewClient(chatwoot.Options{BaseURL: ts.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	cache := newWebhookCache(client)
	if _, err := cache.List(context.Background(), 1); !chatwoot.IsUnauthorized(err) {
		t.Fatalf("first List error = %v, want 401", err)
	}
	if hooks, err := cache.List(context.Background(), 1); err != nil || len(hooks) != 0 {
		t.Fatalf("second List = %v, %v; want an empty list", hooks, err)
	}
}
