package delivery

import (
	"testing"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

// TestBacklogBoundsWhatWaitsAtNormalPriority: whatever the interleaving of
// stores and first attempts, at most Threshold deliveries of an endpoint
// are stored at the normal priority and not attempted yet.
func TestBacklogBoundsWhatWaitsAtNormalPriority(t *testing.T) {
	a, b := endpoints.Key{AccountID: 1, ID: 1}, endpoints.Key{AccountID: 1, ID: 2}
	bl := NewBacklog(2)
	var normal []bool // per stored delivery of a, in order: stored at the normal priority
	store := func() { normal = append(normal, !bl.Reserve(a)) }
	attemptOldest := func() { normal = normal[1:]; bl.Release(a) }
	waitingNormal := func() (n int) {
		for _, x := range normal {
			if x {
				n++
			}
		}
		return n
	}
	for i := range 200 {
		store()
		if i%3 == 0 {
			attemptOldest()
		}
		if n := waitingNormal(); n > 2 {
			t.Fatalf("after %d stores, %d deliveries wait at the normal priority; want at most 2", i+1, n)
		}
	}
	if bl.Reserve(b) {
		t.Fatal("an endpoint without a backlog went behind")
	}
	bl.Release(b)
	for len(normal) > 0 {
		attemptOldest()
	}
	if bl.Len(a) != 0 || bl.Len(b) != 0 {
		t.Fatalf("counts %d %d after every first attempt, want 0", bl.Len(a), bl.Len(b))
	}
	bl.Release(a) // a first attempt of a delivery stored by an earlier run
	if bl.Len(a) != 0 || bl.Reserve(a) {
		t.Fatal("a release of something never reserved went below zero")
	}
}
