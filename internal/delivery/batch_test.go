package delivery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

func TestCoalesce(t *testing.T) {
	type in struct {
		ep         int64
		id         string
		idempotent bool
		behind     bool
	}
	params := func(maxAttempts int, ds ...in) []river.InsertManyParams {
		out := make([]river.InsertManyParams, len(ds))
		for i, d := range ds {
			out[i] = InsertParams(NewDelivery{Endpoint: endpoints.Endpoint{AccountID: 1, ID: d.ep}, Event: "message_created",
				Payload: []byte(`{"n":"` + d.id + `"}`), DeliveryID: d.id, Idempotent: d.idempotent, MaxAttempts: maxAttempts, Behind: d.behind})
		}
		return out
	}
	// describe names each job: "7:A" for a delivery alone, "7:[A B]" for a
	// batch, followed by "^" when stored behind (BehindPriority).
	describe := func(ps []river.InsertManyParams) string {
		var parts []string
		for _, p := range ps {
			switch a := p.Args.(type) {
			case Args:
				parts = append(parts, fmt.Sprintf("%d:%s", a.EndpointID, a.DeliveryID))
			case BatchArgs:
				var ids []string
				for i, it := range a.Items {
					ids = append(ids, it.DeliveryID)
					if d := a.Delivery(i); d.Payload != `{"n":"`+it.DeliveryID+`"}` || d.Key() != a.Key() {
						t.Errorf("batch item %d = %+v", i, d)
					}
				}
				if p.InsertOpts.MaxAttempts != 4 || !slices.Equal(p.InsertOpts.Tags, []string{EndpointTag(a.Key())}) {
					t.Errorf("batch insert opts = %+v", p.InsertOpts)
				}
				parts = append(parts, fmt.Sprintf("%d:%v", a.EndpointID, ids))
			}
			switch p.InsertOpts.Priority {
			case BehindPriority:
				parts[len(parts)-1] += "^"
			case 0:
			default:
				t.Errorf("priority %d", p.InsertOpts.Priority)
			}
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		name        string
		size        int
		maxAttempts int
		in          []in
		want        string
	}{
		{"size 1: a job per delivery", 1, 4, []in{{7, "A", false, false}, {7, "B", false, false}}, "7:A 7:B"},
		{"grouped by endpoint, in order", 50, 4, []in{{7, "A", false, false}, {8, "B", false, false}, {7, "C", false, false}, {7, "D", false, false}}, "7:[A C D] 8:B"},
		{"idempotent deliveries stay alone", 50, 4, []in{{7, "A", true, false}, {7, "B", false, false}, {7, "C", false, false}}, "7:A 7:[B C]"},
		{"batches hold size at most", 2, 4, []in{{7, "A", false, false}, {7, "B", false, false}, {7, "C", false, false}, {7, "D", false, false}, {7, "E", false, false}}, "7:[A B] 7:[C D] 7:E"},
		{"one attempt only: nothing to go on alone with", 50, 1, []in{{7, "A", false, false}, {7, "B", false, false}}, "7:A 7:B"},
		{"alone", 50, 4, []in{{7, "A", false, false}}, "7:A"},
		{"a busy endpoint's deliveries are stored behind", 50, 4, []in{{7, "A", false, true}, {8, "B", false, false}, {7, "C", false, true}, {9, "D", true, true}}, "9:D^ 7:[A C]^ 8:B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(Coalesce(params(tt.maxAttempts, tt.in...), tt.size)); got != tt.want {
				t.Fatalf("Coalesce = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestRiverBatch: a batch delivers what the endpoint accepts at the first
// attempt; from the first failure on, the deliveries go on as jobs of their
// own — the failed one with its attempt counted and its retry scheduled,
// the rest not attempted yet — and an unsubscribed one is cancelled by the
// Worker. Attempt numbers, records and delivery ids carry over.
func TestRiverBatch(t *testing.T) {
	srv := newEndpointServer(t, 204, 500, 200)
	f := newWorkerFixture(t, srv.URL)
	sched := Schedule{200 * time.Millisecond, 200 * time.Millisecond}
	c := newTestRiver(t, f.worker, sched, true)
	ep, _ := f.reg.Lookup(endpoints.Key{AccountID: 1, ID: 7})
	ids := map[string]string{}
	var ps []river.InsertManyParams
	for _, d := range []struct{ name, event string }{{"E", "conversation_created"}, {"A", "message_created"}, {"B", "message_created"}, {"C", "message_created"}, {"D", "message_created"}} {
		ids[d.name] = fmt.Sprintf("b0000000-0000-4000-8000-00000000000%c", d.name[0])
		ps = append(ps, InsertParams(NewDelivery{Endpoint: ep, Event: d.event, Payload: []byte(`{"event":"` + d.event + `"}`), DeliveryID: ids[d.name], MaxAttempts: sched.MaxAttempts()}))
	}
	ps = Coalesce(ps, DefaultBatchSize)
	if len(ps) != 1 {
		t.Fatalf("Coalesce made %d jobs, want 1 batch", len(ps))
	}
	res, err := c.InsertMany(context.Background(), ps)
	if err != nil {
		t.Fatal(err)
	}
	batch := waitJobState(t, c, res[0].Job.ID, rivertype.JobStateCompleted, 10*time.Second)
	meta := ParseBatchMetadata(batch)
	if want := []string{ids["E"], ids["B"], ids["C"], ids["D"]}; !slices.Equal(meta.Split, want) {
		t.Fatalf("split %v, want %v (E unsubscribed, B failed, C and D after it)", meta.Split, want)
	}
	if rec, ok := meta.Delivered[ids["A"]]; !ok || rec.Status != 204 || rec.Attempt != 1 || len(meta.Delivered) != 1 {
		t.Fatalf("delivered records %+v; want A's 204 only (a 200 is implied)", meta.Delivered)
	}

	alone := map[string]*rivertype.JobRow{}
	deadline := time.Now().Add(10 * time.Second)
	for len(alone) < 4 || !allFinal(alone) {
		if time.Now().After(deadline) {
			t.Fatalf("deliveries gone on alone: %v", alone)
		}
		time.Sleep(20 * time.Millisecond)
		list, err := c.JobList(context.Background(), river.NewJobListParams().Kinds(Kind).First(10))
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range list.Jobs {
			alone[strings.Split(string(j.EncodedArgs), `"`)[3]] = j // {"delivery_id":"<id>",...
		}
	}
	if j := alone[ids["E"]]; j.State != rivertype.JobStateCancelled || !strings.Contains(j.Errors[0].Error, ErrUnsubscribed.Error()) {
		t.Fatalf("unsubscribed delivery: %s %v", j.State, j.Errors)
	}
	b := alone[ids["B"]]
	recs, prior := Attempts(b)
	if b.State != rivertype.JobStateCompleted || prior != 1 || b.MaxAttempts != sched.MaxAttempts()-1 || len(recs) != 2 ||
		recs[0].Attempt != 1 || recs[0].Status != 500 || recs[0].Error != "endpoint answered 500" ||
		recs[1].Attempt != 2 || recs[1].Status != 200 || !recs[1].Implied {
		t.Fatalf("failed delivery went on as %s, prior %d, max %d, attempts %+v", b.State, prior, b.MaxAttempts, recs)
	}
	for _, name := range []string{"C", "D"} {
		j := alone[ids[name]]
		if recs, prior := Attempts(j); j.State != rivertype.JobStateCompleted || prior != 0 || len(recs) != 1 || recs[0].Attempt != 1 {
			t.Fatalf("%s went on as %s, prior %d, attempts %+v", name, j.State, prior, recs)
		}
	}

	var sent []string
	for _, r := range srv.requests() {
		sent = append(sent, r.Header.Get(chatwoot.HeaderDelivery))
	}
	if len(sent) != 5 || sent[0] != ids["A"] || sent[1] != ids["B"] || sent[4] != ids["B"] || slices.Contains(sent, ids["E"]) {
		t.Fatalf("requests %v; want A, B (500), C and D, then B again after its retry delay", sent)
	}
}

func allFinal(jobs map[string]*rivertype.JobRow) bool {
	for _, j := range jobs {
		if j.FinalizedAt == nil {
			return false
		}
	}
	return true
}

// TestRiverBatchToRemovedEndpoint: a batch whose webhook is gone is
// cancelled whole, without a request.
func TestRiverBatchToRemovedEndpoint(t *testing.T) {
	srv := newEndpointServer(t, 200)
	f := newWorkerFixture(t, srv.URL)
	ep, _ := f.reg.Lookup(endpoints.Key{AccountID: 1, ID: 7})
	f.reg.Replace(1, nil)
	c := newTestRiver(t, f.worker, Schedule{time.Second}, true)
	var ps []river.InsertManyParams
	for i := range 3 {
		ps = append(ps, InsertParams(NewDelivery{Endpoint: ep, Event: "message_created", Payload: []byte("{}"), DeliveryID: fmt.Sprintf("c0000000-0000-4000-8000-00000000000%d", i), MaxAttempts: 2}))
	}
	res, err := c.InsertMany(context.Background(), Coalesce(ps, DefaultBatchSize))
	if err != nil {
		t.Fatal(err)
	}
	j := waitJobState(t, c, res[0].Job.ID, rivertype.JobStateCancelled, 10*time.Second)
	if j.Kind != BatchKind || len(srv.requests()) != 0 {
		t.Fatalf("%s job, %d requests", j.Kind, len(srv.requests()))
	}
}
