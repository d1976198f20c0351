package delivery

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// Kind is the River job kind that carries one delivery to its attempts.
const Kind = "chatwoot_delivery"

// BatchKind is the River job kind that carries several deliveries to one
// endpoint, stored together, to their first attempts.
//
// River spends an insert, a fetch and a completing UPDATE per job; on
// SQLite those hold its one connection ~400µs, which capped the daemon near
// 1,700 deliveries/s to one endpoint. A batch pays them once for up to
// DefaultBatchSize deliveries. Only first attempts are batched: a delivery
// not answered 2xx at its first attempt goes on in a job of its own
// (Args), which River retries.
const BatchKind = "chatwoot_delivery_batch"

// DefaultBatchSize is the most deliveries a batch carries (--batch-size).
const DefaultBatchSize = 50

// Kinds are the River job kinds that carry deliveries.
var Kinds = []string{Kind, BatchKind}

// Args carries one delivery: its row in the store (store.Delivery), which
// holds everything else. The payload is read from the store at each
// attempt, the url and secret from the registry.
type Args struct {
	ID int64 `json:"id" river:"unique"`

	// retryAt carries the next attempt's time from Work to NextRetry; it
	// is never stored.
	retryAt time.Time
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return Kind }

// BatchArgs carries deliveries to one endpoint, in the order they were stored.
type BatchArgs struct {
	IDs IDList `json:"ids"`
}

// IDList is a batch's delivery ids, stored as one string ("17,18,40")
// rather than a JSON array: PostgreSQL's river_job has a GIN index on
// args, which takes an entry per array element at each new version of a
// job's row (insert, fetch, snooze, completion), 51 for a batch of 50;
// a dead endpoint's batches, fetched and deferred over and over, made
// those entries hold the store (figures in the measurements guide). It
// decodes an array too, as jobs stored before were written.
type IDList []int64

// MarshalJSON implements json.Marshaler.
func (l IDList) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+8*len(l))
	b = append(b, '"')
	for i, id := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (l *IDList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]int64)(l))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("delivery ids: %w", err)
	}
	*l = (*l)[:0]
	for f := range strings.SplitSeq(s, ",") {
		if f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return fmt.Errorf("delivery ids %q: %w", s, err)
		}
		*l = append(*l, id)
	}
	return nil
}

// Kind implements river.JobArgs.
func (BatchArgs) Kind() string { return BatchKind }

// idempotencyNamespace seeds the UUIDv5 delivery ids derived from an
// Idempotency-Key.
var idempotencyNamespace = uuid.MustParse("7d0c6a52-3f0e-4f5e-9a55-6f1d4c2b8e10")

// IdempotentID is the delivery id of a post carrying an Idempotency-Key: the
// same key, account and endpoint always give the same id, so a repeated
// post stores nothing new.
func IdempotentID(key string, ep endpoints.Key) string {
	return uuid.NewSHA1(idempotencyNamespace, fmt.Appendf(nil, "%d/%d/%s", ep.AccountID, ep.ID, key)).String()
}

// EndpointTag tags every job of an endpoint so its waiting deliveries can
// be found (cancelled, resumed) without reading their rows.
func EndpointTag(k endpoints.Key) string { return fmt.Sprintf("ep-%d-%d", k.AccountID, k.ID) }

// TagKey is the endpoint an EndpointTag among tags names.
func TagKey(tags []string) (endpoints.Key, bool) {
	for _, t := range tags {
		var k endpoints.Key
		if n, err := fmt.Sscanf(t, "ep-%d-%d", &k.AccountID, &k.ID); err == nil && n == 2 && EndpointTag(k) == t {
			return k, true
		}
	}
	return endpoints.Key{}, false
}

// BehindPriority is the River priority of a delivery stored Behind (its
// endpoint had a stored backlog of first attempts: store.Enqueue), of one split off a
// batch to wait for its retry, and of a batch's rest deferred after its
// endpoint did not answer; the others have River's default, 1, and River
// fetches by priority before age, so that a backlog or a failing
// endpoint's retries do not hold up the first attempts of endpoints that
// have none.
const BehindPriority = 2

// JobsFor returns the River jobs that carry freshly stored deliveries: those
// to one endpoint grouped, in order, into batches of at most batchSize, a
// delivery alone for its endpoint in a job of its own. A batch takes the
// priority of its first delivery.
func JobsFor(qs []store.Queued, batchSize int) []river.InsertManyParams {
	type group struct{ items []store.Queued }
	groups := map[endpoints.Key]*group{}
	var order []endpoints.Key
	for _, q := range qs {
		k := endpoints.Key{AccountID: q.AccountID, ID: q.WebhookID}
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
			order = append(order, k)
		}
		g.items = append(g.items, q)
	}
	out := make([]river.InsertManyParams, 0, len(order))
	for _, k := range order {
		items := groups[k].items
		for len(items) > 0 {
			n := len(items)
			if batchSize > 1 {
				n = min(n, batchSize)
			} else {
				n = 1
			}
			chunk := items[:n]
			items = items[n:]
			first := chunk[0]
			opts := &river.InsertOpts{MaxAttempts: max(first.MaxAttempts, 1), Tags: []string{EndpointTag(k)}}
			if first.Behind {
				opts.Priority = BehindPriority
			}
			if n == 1 {
				out = append(out, river.InsertManyParams{Args: Args{ID: first.ID}, InsertOpts: opts})
				continue
			}
			ids := make([]int64, n)
			for i, q := range chunk {
				ids[i] = q.ID
			}
			out = append(out, river.InsertManyParams{Args: BatchArgs{IDs: ids}, InsertOpts: opts})
		}
	}
	return out
}

// AloneParams is the job of a delivery that goes on alone, with
// maxAttempts attempts left, due at at (zero: now): one split off a batch
// (inserted as the batch completes: store.Recorder.Finish), or a replay
// (inserted as the delivery's state moves: store.Store.Requeue). One that
// waits for a retry (at set) goes behind first attempts (BehindPriority):
// a failing endpoint's retries never hold up another endpoint's new
// deliveries.
func AloneParams(d store.Delivery, maxAttempts int, at time.Time) river.InsertManyParams {
	priority := 0 // River's default, 1
	if !at.IsZero() {
		priority = BehindPriority
	}
	return river.InsertManyParams{Args: Args{ID: d.ID}, InsertOpts: &river.InsertOpts{
		MaxAttempts: max(maxAttempts, 1),
		Priority:    priority,
		ScheduledAt: at,
		Tags:        []string{EndpointTag(endpoints.Key{AccountID: d.AccountID, ID: d.WebhookID})},
	}}
}
