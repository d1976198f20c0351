package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// The delivery records: chatwoot_events holds each accepted event once
// (its payload too, however many endpoints it goes to), chatwoot_deliveries
// one row per event and endpoint under its X-Chatwoot-Delivery id (UUID),
// and chatwoot_attempts every attempt of a delivery, a 2xx included. River's
// jobs carry delivery ids only: they are how a delivery reaches a worker,
// not its record.

// Delivery states.
const (
	StatePending   = "pending"   // not attempted yet, or replayed
	StateFailed    = "failed"    // attempted, not answered 2xx; retried at NextAttemptAt
	StateSucceeded = "succeeded" // answered 2xx
	StateDead      = "dead"      // the retry schedule is spent; kept for replay
	StateCancelled = "cancelled" // its webhook was removed, or answered 410
)

// States are the delivery states, in the order the admin API names them.
var States = []string{StatePending, StateSucceeded, StateFailed, StateDead, StateCancelled}

// Final reports whether a delivery in state s waits for nothing more.
func Final(s string) bool { return s == StateSucceeded || s == StateDead || s == StateCancelled }

// NewEvent is an accepted event and the deliveries it makes.
type NewEvent struct {
	AccountID      int64
	Event          string
	Payload        []byte
	IdempotencyKey string
	Deliveries     []NewDelivery
}

// NewDelivery is one delivery of a NewEvent.
type NewDelivery struct {
	UUID        string
	WebhookID   int64
	MaxAttempts int
	// BehindAfter: the delivery is stored Behind (Queued.Behind, a lower
	// River priority) when at least this many of its endpoint's newest
	// stored deliveries (as many as the largest BehindAfter of the
	// Enqueue) wait for their first attempt; 0 never.
	BehindAfter int
}

// Queued is a delivery Enqueue stored, or found stored already.
type Queued struct {
	ID                   int64 // the delivery's row; 0 for a duplicate
	UUID                 string
	AccountID, WebhookID int64
	MaxAttempts          int
	// Behind: the endpoint had a backlog of first attempts when this was
	// stored (NewDelivery.BehindAfter); passed to the job builder.
	Behind bool
	// Duplicate: a delivery with this UUID was stored before; nothing
	// new was queued for it.
	Duplicate bool
}

// Enqueue stores evs, their deliveries and the River jobs that carry them
// (jobs builds those from the deliveries stored, duplicates left out) in
// one transaction. A delivery whose UUID is stored already is a duplicate;
// an event whose deliveries are all duplicates is not stored. It returns
// one Queued per delivery, in order.
func (s *Store) Enqueue(ctx context.Context, c Client, evs []NewEvent, jobs func([]Queued) []river.InsertManyParams) ([]Queued, error) {
	out, err := s.enqueue(ctx, c, evs, jobs, false)
	if errors.Is(err, errStoredAlready) {
		out, err = s.enqueue(ctx, c, evs, jobs, true)
	}
	return out, err
}

// errStoredAlready is a plain INSERT's refusal of a row whose key is
// stored already (or given twice), in a transaction that is written again
// with ON CONFLICT. On PostgreSQL, ON CONFLICT's speculative insertion of
// each row cost more than writing the rare transaction twice.
var errStoredAlready = errors.New("a row's key is stored already")

// storedAlready is err of a write without upsert, errStoredAlready when
// PostgreSQL refused a row whose key is there already.
func storedAlready(err error, upsert bool) error {
	var pe *pgconn.PgError
	if !upsert && errors.As(err, &pe) && pe.Code == "23505" {
		return errStoredAlready
	}
	return err
}

// enqueue is Enqueue's transaction. On PostgreSQL, with upsert false, a
// delivery whose UUID is stored already fails it with errStoredAlready.
func (s *Store) enqueue(ctx context.Context, c Client, evs []NewEvent, jobs func([]Queued) []river.InsertManyParams, upsert bool) ([]Queued, error) {
	var out []Queued
	err := s.inTx(ctx, func(t *txn) error {
		now := time.Now().UnixMicro()
		// The backlogs' counts and the events go in one round trip (with
		// BEGIN, on PostgreSQL); the deliveries need the events' ids.
		counts, waiting := unattempted(t, evs)
		events, eventRows := insertEvents(t, evs, now)
		if err := t.pipeline(ctx, append(counts, events...)); err != nil {
			return err
		}
		eventIDs, err := eventRows()
		if err != nil {
			return err
		}
		ids, err := insertDeliveries(ctx, t, evs, eventIDs, now, upsert)
		if err != nil {
			return fmt.Errorf("storing deliveries: %w", err)
		}
		out = make([]Queued, 0, len(ids))
		var fresh []Queued
		var unused []any // events whose deliveries are all duplicates
		for i, ev := range evs {
			stored := 0
			for _, d := range ev.Deliveries {
				k := endpointKey{ev.AccountID, d.WebhookID}
				q := Queued{UUID: d.UUID, AccountID: ev.AccountID, WebhookID: d.WebhookID, MaxAttempts: d.MaxAttempts,
					Behind: d.BehindAfter > 0 && waiting[k] >= d.BehindAfter}
				// The first of a UUID given twice took the row; the
				// second is the duplicate.
				q.ID = ids[d.UUID]
				delete(ids, d.UUID)
				if q.Duplicate = q.ID == 0; !q.Duplicate {
					stored++
					waiting[k]++
					fresh = append(fresh, q)
				}
				out = append(out, q)
			}
			if stored == 0 {
				unused = append(unused, eventIDs[i])
			}
		}
		if len(unused) > 0 {
			if err := t.exec(ctx, `DELETE FROM chatwoot_events WHERE id IN (`+placeholders(t, 1, len(unused))+`)`, unused...); err != nil {
				return fmt.Errorf("dropping %d duplicate events: %w", len(unused), err)
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		params := jobs(fresh)
		n, err := t.insertJobs(ctx, c, params)
		if err == nil && n != len(params) {
			err = errors.New("fewer jobs inserted than given")
		}
		if err != nil {
			return fmt.Errorf("queueing deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertChunks are the row counts of Enqueue's multi-row INSERTs: a few
// fixed sizes, so that the statement caches hold few statements, big
// enough that a batch of ingest is a handful of statements (on
// PostgreSQL each is a round trip) rather than one per row.
var insertChunks = []int{256, 64, 16, 4, 1}

// chunk is the largest of sizes (descending, ending in 1) that is at most n.
func chunk(n int, sizes []int) int {
	for _, size := range sizes {
		if n >= size {
			return size
		}
	}
	return 1
}

// insertEvents returns the statements that store evs, and what returns
// the events' row ids, in order, once they ran. The rows are inserted in
// the order of an ordinal, so each database numbers them in that order
// (PostgreSQL evaluates the identity's nextval after the ORDER BY; SQLite
// assigns rowids as it inserts, a statement after the other): the ids
// RETURNING gives, in whatever order, sorted, are the events' in order.
func insertEvents(t *txn, evs []NewEvent, now int64) ([]stmt, func() ([]int64, error)) {
	ids := make([]int64, 0, len(evs))
	sorted := func() ([]int64, error) {
		if len(ids) != len(evs) {
			return nil, fmt.Errorf("storing %d events: %d inserted", len(evs), len(ids))
		}
		slices.Sort(ids)
		return ids, nil
	}
	what := fmt.Sprintf("storing %d events", len(evs))
	each := func(scan func(...any) error) error {
		var id int64
		err := scan(&id)
		ids = append(ids, id)
		return err
	}
	if t.arrays() {
		accounts, events, payloads, keys := make([]int64, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
		for i, ev := range evs {
			accounts[i], events[i], payloads[i], keys[i] = ev.AccountID, ev.Event, string(ev.Payload), ev.IdempotencyKey
		}
		return []stmt{{what: what, each: each, args: []any{accounts, events, payloads, keys, now},
			sql: `INSERT INTO chatwoot_events (account_id, event, payload, received_at_us, idempotency_key)
			SELECT a, e, p, $5, k FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS v (a, e, p, k, n)
			ORDER BY n RETURNING id`}}, sorted
	}
	var stmts []stmt
	for rest := evs; len(rest) > 0; {
		n := chunk(len(rest), insertChunks)
		var q strings.Builder
		q.WriteString(`INSERT INTO chatwoot_events (account_id, event, payload, received_at_us, idempotency_key)
			SELECT column1, column2, column3, column4, column5 FROM (VALUES `)
		args := make([]any, 0, 5*n)
		for i, ev := range rest[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "(CAST(%s AS BIGINT), CAST(%s AS TEXT), CAST(%s AS TEXT), CAST(%s AS BIGINT), CAST(%s AS TEXT), %d)",
				append(rowPH(t, i, 5), i)...)
			args = append(args, ev.AccountID, ev.Event, string(ev.Payload), now, ev.IdempotencyKey)
		}
		q.WriteString(`) AS v ORDER BY column6 RETURNING id`)
		stmts = append(stmts, stmt{what: what, sql: q.String(), args: args, each: each})
		rest = rest[n:]
	}
	return stmts, sorted
}

// insertDeliveries stores the deliveries of evs (eventIDs: the events'
// rows, in order) and returns the row of each UUID it stored; a UUID
// stored before is missing (ON CONFLICT DO NOTHING), and so is none given
// twice: the first took the row. On PostgreSQL, unless upsert, such a
// UUID fails the INSERT instead.
func insertDeliveries(ctx context.Context, t *txn, evs []NewEvent, eventIDs []int64, now int64, upsert bool) (map[string]int64, error) {
	type row struct {
		ev int
		d  NewDelivery
	}
	// An endpoint's deliveries of a commit take consecutive ids, in the
	// order of their events, so that its batch jobs read them as one range
	// (forAttempt); endpoints come in the order of their first delivery.
	group := map[endpointKey]int{}
	var byEndpoint [][]row
	for i, ev := range evs {
		for _, d := range ev.Deliveries {
			k := endpointKey{ev.AccountID, d.WebhookID}
			g, ok := group[k]
			if !ok {
				g = len(byEndpoint)
				group[k] = g
				byEndpoint = append(byEndpoint, nil)
			}
			byEndpoint[g] = append(byEndpoint[g], row{i, d})
		}
	}
	rows := slices.Concat(byEndpoint...)
	ids := make(map[string]int64, len(rows))
	scanID := func(scan func(...any) error) error {
		var id int64
		var uuid string
		err := scan(&id, &uuid)
		ids[uuid] = id
		return err
	}
	if t.arrays() {
		uuids, events, accounts, webhooks, maxAttempts := make([]string, len(rows)), make([]int64, len(rows)), make([]int64, len(rows)), make([]int64, len(rows)), make([]int64, len(rows))
		for i, r := range rows {
			uuids[i], events[i], accounts[i], webhooks[i], maxAttempts[i] = r.d.UUID, eventIDs[r.ev], evs[r.ev].AccountID, r.d.WebhookID, int64(r.d.MaxAttempts)
		}
		q := insertDeliveriesSQL
		if upsert {
			q = insertDeliveriesUpsertSQL
		}
		err := t.query(ctx, q, scanID, uuids, events, accounts, webhooks, maxAttempts, now)
		return ids, storedAlready(err, upsert)
	}
	for rest := rows; len(rest) > 0; {
		n := chunk(len(rest), insertChunks)
		var q strings.Builder
		q.WriteString(`INSERT INTO chatwoot_deliveries (uuid, event_id, account_id, webhook_id, state, attempts, max_attempts, job_id, created_at_us, next_attempt_at_us, last_status, last_error, finished_at_us) VALUES `)
		args := make([]any, 0, 6*n)
		for i, r := range rest[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "(%s, %s, %s, %s, 'pending', 0, %s, 0, %s, 0, 0, '', 0)", rowPH(t, i, 6)...)
			args = append(args, r.d.UUID, eventIDs[r.ev], evs[r.ev].AccountID, r.d.WebhookID, r.d.MaxAttempts, now)
		}
		q.WriteString(` ON CONFLICT (uuid) DO NOTHING RETURNING id, uuid`)
		err := t.query(ctx, q.String(), scanID, args...)
		if err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	return ids, nil
}

// insertDeliveriesSQL stores deliveries given as five arrays on
// PostgreSQL; insertDeliveriesUpsertSQL leaves out a UUID stored already.
var insertDeliveriesSQL, insertDeliveriesUpsertSQL = insertDeliveryArrays(""), insertDeliveryArrays(" ON CONFLICT (uuid) DO NOTHING")

func insertDeliveryArrays(onConflict string) string {
	return `INSERT INTO chatwoot_deliveries (uuid, event_id, account_id, webhook_id, state, attempts, max_attempts, job_id, created_at_us, next_attempt_at_us, last_status, last_error, finished_at_us)
		SELECT u, e, a, w, 'pending', 0, m, 0, $6, 0, 0, '', 0 FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS v (u, e, a, w, m)` +
		onConflict + ` RETURNING id, uuid`
}

type endpointKey struct{ account, webhook int64 }

// unattemptedChunk bounds the endpoints one backlog query names.
const unattemptedChunk = 200

// unattempted returns the statements that count, for each endpoint evs
// deliver to with a BehindAfter, how many of its newest stored deliveries
// (as many as the largest BehindAfter) wait for their first attempt, and
// the counts they fill once run: each endpoint reads that many
// entries of chatwoot_deliveries_endpoint however deep its backlog, and no
// index holds a column an outcome writes (see recordMigrations 15-19). It
// is a fact of what was committed: on PostgreSQL, another replica's
// transaction still open is not counted.
func unattempted(t *txn, evs []NewEvent) ([]stmt, map[endpointKey]int) {
	counts := map[endpointKey]int{}
	var keys []endpointKey
	limit := 0
	for _, ev := range evs {
		for _, d := range ev.Deliveries {
			k := endpointKey{ev.AccountID, d.WebhookID}
			if _, seen := counts[k]; d.BehindAfter > 0 && !seen {
				counts[k] = 0
				keys = append(keys, k)
			}
			limit = max(limit, d.BehindAfter)
		}
	}
	each := func(scan func(...any) error) error {
		var k endpointKey
		var n int
		if err := scan(&k.account, &k.webhook, &n); err != nil {
			return err
		}
		counts[k] = n
		return nil
	}
	var stmts []stmt
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), unattemptedChunk)]
		keys = keys[len(chunk):]
		args := make([]any, 0, 2*len(chunk)+1)
		for _, k := range chunk {
			args = append(args, k.account, k.webhook)
		}
		args = append(args, limit)
		stmts = append(stmts, stmt{what: "counting the endpoints' backlogs", sql: unattemptedSQL(t, len(chunk)), args: args, each: each})
	}
	return stmts, counts
}

// unattemptedSQL counts the backlogs of n endpoints, given as n (account,
// webhook) pairs and then how many of each one's newest deliveries to
// read. Those are read walking chatwoot_deliveries_endpoint backwards from
// the endpoint's end, over the account's webhooks up to it, and filtered
// by webhook afterwards: with the webhook as an equality, PostgreSQL may
// instead walk the primary key backwards and filter, which statistics
// from another endpoint's backlog make look cheap and which reads the
// whole table for an endpoint with few deliveries. The range on the
// webhook leaves it no order but the index's. (A range on the pair,
// (account_id, webhook_id) <= (...), SQLite bounds by the account alone.)
func unattemptedSQL(d db, n int) string {
	var q strings.Builder
	q.WriteString(`WITH k (account_id, webhook_id) AS (VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "(CAST(%s AS BIGINT), CAST(%s AS BIGINT))", d.ph(2*i+1), d.ph(2*i+2))
	}
	q.WriteString(`) SELECT k.account_id, k.webhook_id, (SELECT count(*) FROM (
		SELECT d.account_id, d.webhook_id, d.attempts, d.state FROM chatwoot_deliveries d
		WHERE d.account_id = k.account_id AND d.webhook_id <= k.webhook_id
		ORDER BY d.webhook_id DESC, d.id DESC LIMIT ` + d.ph(2*n+1) + `) x
		WHERE x.account_id = k.account_id AND x.webhook_id = k.webhook_id AND x.attempts = 0 AND x.state = 'pending') FROM k`)
	return q.String()
}

// Delivery is a delivery's record, with its event's name (and payload,
// when read for an attempt).
type Delivery struct {
	ID                   int64
	UUID                 string
	EventID              int64
	AccountID, WebhookID int64
	Event                string
	Payload              []byte
	State                string
	Attempts             int
	MaxAttempts          int
	// JobID is the River job that last carried the delivery alone (0: a
	// batch carried it, or no attempt yet).
	JobID         int64
	CreatedAt     time.Time
	NextAttemptAt time.Time // zero unless failed
	LastStatus    int
	LastError     string
	FinishedAt    time.Time // zero unless final
}

const deliveryColumns = `d.id, d.uuid, d.event_id, d.account_id, d.webhook_id, e.event, d.state, d.attempts, d.max_attempts, d.job_id,
	d.created_at_us, d.next_attempt_at_us, d.last_status, d.last_error, d.finished_at_us`

func scanDelivery(scan func(...any) error, payload bool) (Delivery, error) {
	return newDeliveryRow(payload).scan(scan)
}

// deliveryRow scans the rows of a query of deliveryColumns (and the
// payload) one after the other, its scan destinations made once for them
// all: a worker's read allocates no more than its rows' values.
type deliveryRow struct {
	d                       Delivery
	created, next, finished int64
	dest                    []any
}

func newDeliveryRow(payload bool) *deliveryRow {
	r := &deliveryRow{}
	d := &r.d
	r.dest = []any{&d.ID, &d.UUID, &d.EventID, &d.AccountID, &d.WebhookID, &d.Event, &d.State, &d.Attempts, &d.MaxAttempts, &d.JobID,
		&r.created, &r.next, &d.LastStatus, &d.LastError, &r.finished}
	if payload {
		r.dest = append(r.dest, &d.Payload)
	}
	return r
}

func (r *deliveryRow) scan(scan func(...any) error) (Delivery, error) {
	r.d = Delivery{} // a payload scanned into is the row's own, not the last one's
	if err := scan(r.dest...); err != nil {
		return Delivery{}, err
	}
	d := r.d
	d.CreatedAt = time.UnixMicro(r.created).UTC()
	d.NextAttemptAt = usTime(r.next)
	d.FinishedAt = usTime(r.finished)
	return d, nil
}

func usTime(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// rowPH are the placeholders of row i (from 0) of a multi-row statement
// whose rows take per parameters each, as arguments for the row's format.
func rowPH(d db, i, per int) []any {
	ph := make([]any, per)
	for k := range ph {
		ph[k] = d.ph(i*per + k + 1)
	}
	return ph
}

// placeholders are n parameters of d from from on, comma-separated.
func placeholders(d db, from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.ph(from + i))
	}
	return b.String()
}

func forAttemptSQL(d db, n int) string {
	if d.arrays() {
		// Each id looked up by key, in a subquery the planner cannot
		// flatten (OFFSET 0): the only plan, so the generic plan of the
		// prepared statement, made on an empty store, stays right as it
		// grows. A list of n parameters, not an array: PostgreSQL plans a
		// statement again at each run while its generic plan looks costlier
		// than the custom ones, as one over an array of unknown length does.
		var k strings.Builder
		for i := range n {
			if i > 0 {
				k.WriteString(", ")
			}
			fmt.Fprintf(&k, "(CAST(%s AS BIGINT))", d.ph(i+1))
		}
		return `SELECT x.* FROM (VALUES ` + k.String() + `) AS k (id) CROSS JOIN LATERAL (SELECT ` + deliveryColumns + `, e.payload
			FROM chatwoot_deliveries d JOIN chatwoot_events e ON e.id = d.event_id WHERE d.id = k.id OFFSET 0) AS x`
	}
	return `SELECT ` + deliveryColumns + `, e.payload FROM chatwoot_deliveries d JOIN chatwoot_events e ON e.id = d.event_id WHERE d.id IN (` + placeholders(d, 1, n) + `)`
}

// ForAttempt reads the deliveries of ids with their payloads, for a
// worker; ids no longer stored (retention) are missing from the result.
func (s *Store) ForAttempt(ctx context.Context, ids []int64) ([]Delivery, error) {
	return forAttempt(ctx, s.attemptReads, ids)
}

func forAttempt(ctx context.Context, d db, ids []int64) ([]Delivery, error) {
	out := make([]Delivery, 0, len(ids))
	var q string
	var args []any
	keep := func(int64) bool { return true }
	if lo, hi, ok := idRun(ids); ok {
		// A batch stored together: one walk of the primary key from lo to
		// hi, not a lookup per id; a delivery in the range that is not the
		// batch's is left out.
		asked := slices.Sorted(slices.Values(ids))
		keep = func(id int64) bool { _, found := slices.BinarySearch(asked, id); return found }
		q, args = forAttemptRangeSQL(d), []any{lo, hi, hi - lo + 1}
	} else {
		n := len(ids)
		if d.arrays() {
			n = attemptReadSize(n)
		}
		args = make([]any, n)
		for i := range args {
			args[i] = int64(0) // no row has id 0: padding finds nothing
			if i < len(ids) {
				args[i] = ids[i]
			}
		}
		q = forAttemptSQL(d, n)
	}
	row := newDeliveryRow(true)
	err := d.query(ctx, q,
		func(scan func(...any) error) error {
			dv, err := row.scan(scan)
			if err == nil && keep(dv.ID) {
				out = append(out, dv)
			}
			return err
		}, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %d deliveries: %w", len(ids), err)
	}
	return out, nil
}

// idRun reports whether ids are close enough together to be read as the
// range lo to hi: at most twice as many ids as asked.
func idRun(ids []int64) (lo, hi int64, ok bool) {
	if len(ids) < 2 {
		return 0, 0, false
	}
	lo, hi = slices.Min(ids), slices.Max(ids)
	return lo, hi, hi-lo < 2*int64(len(ids))
}

// forAttemptRangeSQL reads the deliveries with ids from $1 to $2 ($3 of
// them at most) with their payloads.
func forAttemptRangeSQL(d db) string {
	if d.arrays() {
		// The bounds are subqueries so that no plan knows them: a custom
		// plan then costs what the generic one does, and PostgreSQL keeps
		// the generic plan instead of planning the statement at every read.
		// Each payload is looked up by key, as in forAttemptSQL.
		return `SELECT ` + deliveryColumns + `, e.payload
			FROM (SELECT * FROM chatwoot_deliveries WHERE id >= (SELECT $1::bigint) AND id <= (SELECT $2::bigint) ORDER BY id LIMIT (SELECT $3::bigint) OFFSET 0) AS d
			CROSS JOIN LATERAL (SELECT e.event, e.payload FROM chatwoot_events e WHERE e.id = d.event_id OFFSET 0) AS e`
	}
	return `SELECT ` + deliveryColumns + `, e.payload FROM chatwoot_deliveries d JOIN chatwoot_events e ON e.id = d.event_id WHERE d.id BETWEEN ? AND ? LIMIT ?`
}

// attemptReadSize is the list length a worker's read of n deliveries is
// padded to on PostgreSQL: the next power of two, so that a connection
// prepares and plans a few statements, not one per batch length (each is
// planned six times on each connection before its generic plan stays).
func attemptReadSize(n int) int {
	size := 1
	for size < n {
		size *= 2
	}
	return size
}

// ErrNoDelivery is returned for a delivery that is not stored.
var ErrNoDelivery = errors.New("no such delivery")

// DeliveryByID reads one delivery by its row id.
func (s *Store) DeliveryByID(ctx context.Context, id int64) (Delivery, error) {
	return s.oneDelivery(ctx, `d.id = $1`, id)
}

// DeliveryByUUID reads one delivery by its X-Chatwoot-Delivery id (the
// unique index on uuid).
func (s *Store) DeliveryByUUID(ctx context.Context, uuid string) (Delivery, error) {
	return s.oneDelivery(ctx, `d.uuid = $1`, uuid)
}

func oneDeliverySQL(where string) string {
	return `SELECT ` + deliveryColumns + ` FROM chatwoot_deliveries d JOIN chatwoot_events e ON e.id = d.event_id WHERE ` + where
}

func (s *Store) oneDelivery(ctx context.Context, where string, arg any) (Delivery, error) {
	var out []Delivery
	err := s.records.query(ctx, oneDeliverySQL(where),
		func(scan func(...any) error) error {
			d, err := scanDelivery(scan, false)
			out = append(out, d)
			return err
		}, arg)
	if err != nil {
		return Delivery{}, fmt.Errorf("reading a delivery: %w", err)
	}
	if len(out) == 0 {
		return Delivery{}, ErrNoDelivery
	}
	return out[0], nil
}

// Endpoint names a webhook of an account.
type Endpoint struct{ AccountID, WebhookID int64 }

// DeliveryFilter selects deliveries, newest first.
type DeliveryFilter struct {
	States    []string   // any of these; none: every state
	Endpoints []Endpoint // any of these; none: every endpoint
	BeforeID  int64      // ids below this (the cursor); 0: from the newest
	Since     time.Time  // created at or after; zero: any time
	Limit     int
	Ascending bool // oldest first, ids above AfterID
	AfterID   int64
}

// ListDeliveries lists deliveries by id (an index walk: the primary key,
// or (account, webhook, id) for each endpoint).
func (s *Store) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	q, args := listDeliveriesSQL(f)
	var out []Delivery
	row := newDeliveryRow(false)
	err := s.records.query(ctx, q, func(scan func(...any) error) error {
		d, err := row.scan(scan)
		out = append(out, d)
		return err
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", err)
	}
	return out, nil
}

// listDeliveriesSQL is ListDeliveries' query for f, and its arguments.
// Without endpoints it walks the primary key. With endpoints, each one's
// page is read from chatwoot_deliveries_endpoint (at most Limit entries
// each) and the pages are merged by id: an OR of endpoints was a bitmap of
// all their deliveries, sorted, and an equality on the webhook let the
// planner walk the primary key with a filter instead (statistics from a
// backlog of that endpoint make it look cheap; it reads the whole table
// once the endpoint has few deliveries). A range on the webhook that holds
// one value leaves no order but the index's.
func listDeliveriesSQL(f DeliveryFilter) (string, []any) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var where []string
	if len(f.States) > 0 {
		ps := make([]string, len(f.States))
		for i, st := range f.States {
			ps[i] = arg(st)
		}
		where = append(where, "d.state IN ("+strings.Join(ps, ", ")+")")
	}
	if f.BeforeID > 0 {
		where = append(where, "d.id < "+arg(f.BeforeID))
	}
	if f.AfterID > 0 {
		where = append(where, "d.id > "+arg(f.AfterID))
	}
	if !f.Since.IsZero() {
		where = append(where, "d.created_at_us >= "+arg(f.Since.UnixMicro()))
	}
	dir, limit := "DESC", ""
	if f.Ascending {
		dir = "ASC"
	}
	if f.Limit > 0 {
		limit = " LIMIT " + arg(f.Limit)
	}
	if len(f.Endpoints) > 0 {
		pages := make([]string, len(f.Endpoints))
		for i, e := range f.Endpoints {
			w := arg(e.WebhookID)
			cond := append([]string{"d.account_id = " + arg(e.AccountID), "d.webhook_id >= " + w, "d.webhook_id <= " + w}, where...)
			pages[i] = fmt.Sprintf(`SELECT id FROM (SELECT d.id FROM chatwoot_deliveries d WHERE %s ORDER BY d.webhook_id %s, d.id %s%s) AS p%d`,
				strings.Join(cond, " AND "), dir, dir, limit, i)
		}
		where = []string{"d.id IN (" + strings.Join(pages, " UNION ALL ") + ")"}
	}
	q := `SELECT ` + deliveryColumns + ` FROM chatwoot_deliveries d JOIN chatwoot_events e ON e.id = d.event_id`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q + " ORDER BY d.id " + dir + limit, args
}

// Attempt is one HTTP attempt of a delivery, whatever its outcome (a 2xx
// included).
type Attempt struct {
	Attempt  int
	At       time.Time // when the attempt started
	Status   int       // 0 when no answer came
	Error    string    // "" for a 2xx
	Duration time.Duration
}

// Attempts returns the attempts of a delivery, by number (the primary
// key's index).
func (s *Store) Attempts(ctx context.Context, deliveryID int64) ([]Attempt, error) {
	var out []Attempt
	err := s.records.query(ctx, `SELECT attempt, at_us, status, error, duration_us FROM chatwoot_attempts WHERE delivery_id = $1 ORDER BY attempt`,
		func(scan func(...any) error) error {
			var a Attempt
			var at, dur int64
			if err := scan(&a.Attempt, &at, &a.Status, &a.Error, &dur); err != nil {
				return err
			}
			a.At, a.Duration = time.UnixMicro(at).UTC(), time.Duration(dur)*time.Microsecond
			out = append(out, a)
			return nil
		}, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("reading the attempts of delivery %d: %w", deliveryID, err)
	}
	return out, nil
}

// AttemptsOf returns the attempts of the deliveries ids, by delivery and
// number: one query for a page of the log.
func (s *Store) AttemptsOf(ctx context.Context, ids []int64) (map[int64][]Attempt, error) {
	out := make(map[int64][]Attempt, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	err := s.records.query(ctx, `SELECT delivery_id, attempt, at_us, status, error, duration_us FROM chatwoot_attempts WHERE delivery_id IN (`+placeholders(s.records, 1, len(ids))+`) ORDER BY delivery_id, attempt`,
		func(scan func(...any) error) error {
			var id, at, dur int64
			var a Attempt
			if err := scan(&id, &a.Attempt, &at, &a.Status, &a.Error, &dur); err != nil {
				return err
			}
			a.At, a.Duration = time.UnixMicro(at).UTC(), time.Duration(dur)*time.Microsecond
			out[id] = append(out[id], a)
			return nil
		}, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the attempts of %d deliveries: %w", len(ids), err)
	}
	return out, nil
}

// Requeue makes a delivery pending again for one more attempt (a replay),
// carried by the River jobs jobs returns, in one transaction. States it
// may leave are from; another state leaves it as it is and Requeue
// reports false.
func (s *Store) Requeue(ctx context.Context, c Client, id int64, from []string, jobs func(Delivery) []river.InsertManyParams) (bool, error) {
	ok := false
	err := s.inTx(ctx, func(t *txn) error {
		// The state moves in one conditional UPDATE: of two replays at
		// once (two replicas' admin calls), one queues a job.
		args := []any{id}
		for _, st := range from {
			args = append(args, st)
		}
		// Its entry in the finished log stays: retention leaves a
		// delivery that is no longer as the entry says.
		movable := `id = $1 AND state IN (` + placeholders(pgDB{}, 2, len(from)) + `)`
		moved := false
		if err := t.query(ctx, `UPDATE chatwoot_deliveries SET state = 'pending', max_attempts = attempts + 1, next_attempt_at_us = 0, finished_at_us = 0
			WHERE `+movable+` RETURNING id`,
			func(scan func(...any) error) error {
				moved = true
				var id int64
				return scan(&id)
			}, args...); err != nil {
			return err
		}
		if !moved {
			return nil
		}
		var ds []Delivery
		if err := t.query(ctx, `SELECT `+deliveryColumns+` FROM chatwoot_deliveries d JOIN chatwoot_events e ON e.id = d.event_id WHERE d.id = $1`,
			func(scan func(...any) error) error {
				d, err := scanDelivery(scan, false)
				ds = append(ds, d)
				return err
			}, id); err != nil {
			return err
		}
		if len(ds) == 0 {
			return errors.New("the delivery went while it was requeued")
		}
		d := ds[0]
		if params := jobs(d); len(params) > 0 {
			if _, err := t.insertJobs(ctx, c, params); err != nil {
				return err
			}
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("requeueing delivery %d: %w", id, err)
	}
	return ok, nil
}

// CancelWaiting marks the deliveries of an endpoint that wait for an
// attempt (pending or failed) cancelled, with why; it returns how many.
func (s *Store) CancelWaiting(ctx context.Context, e Endpoint, why string) (int, error) {
	var cancelled []Outcome
	err := s.inTx(ctx, func(t *txn) error {
		cancelled = cancelled[:0]
		now := time.Now().UnixMicro()
		if err := t.query(ctx, `UPDATE chatwoot_deliveries SET state = 'cancelled', last_error = $3, finished_at_us = $4, next_attempt_at_us = 0
			WHERE account_id = $1 AND webhook_id = $2 AND state IN ('pending', 'failed') RETURNING id`,
			func(scan func(...any) error) error {
				o := Outcome{State: StateCancelled}
				err := scan(&o.ID)
				cancelled = append(cancelled, o)
				return err
			}, e.AccountID, e.WebhookID, why, now); err != nil {
			return err
		}
		return insertFinished(ctx, t, finishedOf(cancelled, now))
	})
	if err != nil {
		return 0, fmt.Errorf("cancelling the waiting deliveries of webhook %d of account %d: %w", e.WebhookID, e.AccountID, err)
	}
	return len(cancelled), nil
}

// Outcome is what became of a delivery at an attempt (or without one:
// cancelled at its turn).
type Outcome struct {
	ID            int64
	State         string
	Attempts      int
	JobID         int64 // 0: unchanged
	NextAttemptAt time.Time
	Status        int
	Error         string
	// Attempt is the attempt that led here; nil when none was made.
	Attempt *Attempt
}

// outcomeChunks are the statement sizes saveOutcomes uses: a few fixed
// sizes, so that the prepared statement cache holds few statements, and
// big ones, so that a write pays little per-statement overhead.
var outcomeChunks = []int{100, 10, 1}

// finish is a worker's job to complete, and the jobs that carry on its
// work, in an outcome write (Recorder.Finish).
type finish struct {
	Job *rivertype.JobRow
	// Client inserts Params (the job's: ClientFromContext).
	Client Client
	Params []river.InsertManyParams
	// Err is set by the write: ErrJobNotRunning, and Params not inserted,
	// when the job was no longer running.
	Err error
}

// ErrJobNotRunning: a job finished in an outcome write was no longer
// running (rescued, or cancelled): its follow-up jobs were not inserted,
// since whoever runs it now inserts its own.
var ErrJobNotRunning = errors.New("the job is no longer running; its follow-up jobs were not inserted")

// saveOutcomes completes fs's jobs and inserts their follow-ups, and
// writes outcomes, in one transaction, in order: a job's follow-ups are
// there if and only if the job is completed, so a job run again (after a
// crash, or rescued) never inserts them twice. A chunk of outcomes is one
// UPDATE ... FROM (VALUES ...) and one multi-row INSERT of their
// attempts. A delivery appears once per chunk (a later outcome of it
// starts the next chunk), so each UPDATE touches a row once.
func (s *Store) saveOutcomes(ctx context.Context, os []Outcome, fs []*finish) error {
	err := s.writeOutcomesTx(ctx, os, fs, false)
	if errors.Is(err, errStoredAlready) {
		// An attempt recorded already: the same attempt of a delivery
		// made by two runs of its job (one rescued while the other still
		// ran). Written again, the later replaces it.
		for _, f := range fs {
			f.Err = nil
		}
		err = s.writeOutcomesTx(ctx, os, fs, true)
	}
	return err
}

// writeOutcomesTx is saveOutcomes' transaction. On PostgreSQL, with
// upsert false, an attempt or finished entry there already fails it with
// errStoredAlready.
func (s *Store) writeOutcomesTx(ctx context.Context, os []Outcome, fs []*finish, upsert bool) error {
	return s.inTx(ctx, func(t *txn) error {
		byClient := map[Client][]river.InsertManyParams{}
		var clients []Client
		if len(fs) > 0 {
			ids := make([]int64, len(fs))
			for i, f := range fs {
				ids[i] = f.Job.ID
			}
			done, err := t.completeJobs(ctx, ids)
			if err != nil {
				return fmt.Errorf("completing %d jobs: %w", len(ids), err)
			}
			for _, f := range fs {
				if !done[f.Job.ID] {
					f.Err = ErrJobNotRunning
					continue
				}
				if _, seen := byClient[f.Client]; !seen {
					clients = append(clients, f.Client)
				}
				byClient[f.Client] = append(byClient[f.Client], f.Params...)
			}
		}
		for _, c := range clients {
			if params := byClient[c]; len(params) > 0 {
				if _, err := t.insertJobs(ctx, c, params); err != nil {
					return fmt.Errorf("inserting %d jobs: %w", len(params), err)
				}
			}
		}
		now := time.Now().UnixMicro()
		for len(os) > 0 {
			n := 0
			seen := map[int64]bool{}
			most := outcomeChunks[0]
			if t.arrays() {
				most = len(os)
			}
			for n < len(os) && n < most && !seen[os[n].ID] {
				seen[os[n].ID] = true
				n++
			}
			if !t.arrays() {
				n = chunk(n, outcomeChunks)
			}
			if err := writeOutcomes(ctx, t, os[:n], now, upsert); err != nil {
				return err
			}
			os = os[n:]
		}
		return nil
	})
}

func writeOutcomes(ctx context.Context, t *txn, os []Outcome, now int64, upsert bool) error {
	if t.arrays() {
		return writeOutcomeArrays(ctx, t, os, now, upsert)
	}
	var q strings.Builder
	args := make([]any, 0, len(os)*8)
	q.WriteString(`WITH v (id, state, attempts, job_id, next_us, status, error, finished_us) AS (VALUES `)
	var attempts []any
	for i, o := range os {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "(CAST(%s AS BIGINT), CAST(%s AS TEXT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS TEXT), CAST(%s AS BIGINT))",
			rowPH(t, i, 8)...)
		v := valuesOf(o, now)
		args = append(args, o.ID, v.state, v.attempts, v.job, v.next, v.status, v.err, v.finished)
		if a := o.Attempt; a != nil {
			attempts = append(attempts, o.ID, a.Attempt, a.At.UnixMicro(), a.Status, a.Error, a.Duration.Microseconds())
		}
	}
	q.WriteString(`) UPDATE chatwoot_deliveries SET ` + outcomeSet + ` FROM v WHERE chatwoot_deliveries.id = v.id`)
	if err := t.exec(ctx, q.String(), args...); err != nil {
		return err
	}
	if err := insertFinished(ctx, t, finishedOf(os, now)); err != nil {
		return err
	}
	return insertRows(ctx, t, `INSERT INTO chatwoot_attempts (delivery_id, attempt, at_us, status, error, duration_us) VALUES `, 6, attempts, attemptUpsert)
}

// insertRows runs head, the rows of values (width parameters each, given
// flat) and tail as multi-row INSERTs of the fixed sizes outcomeChunks, so
// that the statement caches hold few statements.
func insertRows(ctx context.Context, t *txn, head string, width int, values []any, tail string) error {
	for len(values) > 0 {
		rows := chunk(len(values)/width, outcomeChunks)
		var ins strings.Builder
		ins.WriteString(head)
		for i := range rows {
			if i > 0 {
				ins.WriteString(", ")
			}
			ins.WriteString("(" + placeholders(t, i*width+1, width) + ")")
		}
		ins.WriteString(tail)
		if err := t.exec(ctx, ins.String(), values[:rows*width]...); err != nil {
			return err
		}
		values = values[rows*width:]
	}
	return nil
}

// finishedEntry is an entry of the finished log, chatwoot_finished_log:
// deliveries that finished in state at one time (at most finishedPerEntry
// of an outcome write), which retention deletes by state and time of
// finishing. One entry for many deliveries costs an outcome write a
// fraction of a row; a delivery that is no longer as its entry says
// (replayed since, or deleted) is just left when the entry goes.
type finishedEntry struct {
	state  string
	at     int64
	first  int64  // the first delivery listed, the entry's key with state and at
	ids    string // the deliveries' ids, decimal, comma-separated
	listed int
}

// finishedPerEntry is the most deliveries an entry lists as written
// (one merged with another lists more).
const finishedPerEntry = 100

// finishedOf is the finished-log entries of the final outcomes of os,
// finished at at: per state, in the order of os, finishedPerEntry at most
// each.
func finishedOf(os []Outcome, at int64) []finishedEntry {
	var out []finishedEntry
	var lists [][]byte
	open := map[string]int{} // state: its entry being filled, in out
	for _, o := range os {
		if !Final(o.State) {
			continue
		}
		i, ok := open[o.State]
		if !ok || out[i].listed == finishedPerEntry {
			i = len(out)
			out, lists = append(out, finishedEntry{state: o.State, at: at, first: o.ID}), append(lists, nil)
			open[o.State] = i
		} else {
			lists[i] = append(lists[i], ',')
		}
		lists[i] = strconv.AppendInt(lists[i], o.ID, 10)
		out[i].listed++
	}
	for i := range out {
		out[i].ids = string(lists[i])
	}
	return out
}

// parseFinished is the delivery ids of an entry's list.
func parseFinished(list string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.Split(list, ",") {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("finished-log entry %.40q: %w", list, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// insertFinished adds entries to the finished log.
func insertFinished(ctx context.Context, t *txn, entries []finishedEntry) error {
	values := make([]any, 0, 4*len(entries))
	for _, f := range entries {
		values = append(values, f.state, f.at, f.first, f.ids)
	}
	return insertRows(ctx, t, `INSERT INTO chatwoot_finished_log (state, finished_at_us, first_id, ids) VALUES `, 4, values, finishedMerge)
}

// finishedMerge ends an INSERT into the finished log. An entry meets one
// there already when an outcome write is split because a delivery has two
// outcomes in it (the same state, time and first delivery): the entry then
// lists both's deliveries. A retried write has a time of its own.
const finishedMerge = ` ON CONFLICT (state, finished_at_us, first_id) DO UPDATE SET ids = chatwoot_finished_log.ids || ',' || excluded.ids`

// outcomeSet is the SET of the UPDATE that records outcomes, from a row v.
const outcomeSet = `state = v.state, attempts = v.attempts,
		job_id = CASE WHEN v.job_id = 0 THEN chatwoot_deliveries.job_id ELSE v.job_id END,
		next_attempt_at_us = v.next_us, last_status = v.status, last_error = v.error, finished_at_us = v.finished_us`

// attemptUpsert ends the INSERT of attempts: an attempt written again (a
// retried write) replaces the first.
const attemptUpsert = ` ON CONFLICT (delivery_id, attempt) DO UPDATE SET at_us = excluded.at_us, status = excluded.status, error = excluded.error, duration_us = excluded.duration_us`

// outcomeArraysSQL records outcomes in one statement (data-modifying
// WITHs run whether or not anything reads them): those that share their
// values but the delivery, most of a write (a batch's successes), as one
// UPDATE of their ids ($19-$26); the others given as eight arrays, one per
// column; their attempts as six more arrays; and the entries of the final
// ones in the finished log as four more. The shared UPDATE costs
// PostgreSQL less than the arrays' join (the measurements guide, 2026-12-07).
// Its insert of attempts fails on one there already;
// outcomeArraysUpsertSQL's replaces it.
var outcomeArraysSQL, outcomeArraysUpsertSQL = outcomeArrays(""), outcomeArrays(attemptUpsert)

func outcomeArrays(attemptTail string) string {
	return `WITH outcomes AS (UPDATE chatwoot_deliveries SET ` + outcomeSet + `
	FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::bigint[])
		AS v (id, state, attempts, job_id, next_us, status, error, finished_us)
	WHERE chatwoot_deliveries.id = v.id),
	shared AS (UPDATE chatwoot_deliveries SET state = $19::text, attempts = $20::bigint,
		job_id = CASE WHEN $21::bigint = 0 THEN chatwoot_deliveries.job_id ELSE $21::bigint END,
		next_attempt_at_us = $22::bigint, last_status = $23::bigint, last_error = $24::text, finished_at_us = $25::bigint
	WHERE id = ANY($26::bigint[])),
	finished AS (INSERT INTO chatwoot_finished_log (state, finished_at_us, first_id, ids)
		SELECT * FROM unnest($15::text[], $16::bigint[], $17::bigint[], $18::text[])` + finishedMerge + `)
	INSERT INTO chatwoot_attempts (delivery_id, attempt, at_us, status, error, duration_us)
	SELECT * FROM unnest($9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[], $14::bigint[])` + attemptTail
}

// outcomeValues is what an outcome writes to its delivery's row.
type outcomeValues struct {
	state         string
	attempts, job int64
	next, status  int64
	err           string
	finished      int64
}

func valuesOf(o Outcome, now int64) outcomeValues {
	v := outcomeValues{state: o.State, attempts: int64(o.Attempts), job: o.JobID, status: int64(o.Status), err: o.Error}
	if Final(o.State) {
		v.finished = now
	}
	if !o.NextAttemptAt.IsZero() {
		v.next = o.NextAttemptAt.UnixMicro()
	}
	return v
}

// writeOutcomeArrays is writeOutcomes in one statement of arrays.
func writeOutcomeArrays(ctx context.Context, t *txn, os []Outcome, now int64, upsert bool) error {
	// The values most of the outcomes share.
	var shared outcomeValues
	vals := make([]outcomeValues, len(os))
	counts := map[outcomeValues]int{}
	for i, o := range os {
		v := valuesOf(o, now)
		vals[i] = v
		if counts[v]++; counts[v] > counts[shared] {
			shared = v
		}
	}
	sharedIDs := make([]int64, 0, counts[shared])
	n := len(os) - counts[shared]
	ids, attempts, jobs, next, status, finished := make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	states, errs := make([]string, 0, n), make([]string, 0, n)
	aIDs, aNums, aAt, aStatus, aDur := make([]int64, 0, len(os)), make([]int64, 0, len(os)), make([]int64, 0, len(os)), make([]int64, 0, len(os)), make([]int64, 0, len(os))
	aErrs := make([]string, 0, len(os))
	for i, o := range os {
		if v := vals[i]; v == shared {
			sharedIDs = append(sharedIDs, o.ID)
		} else {
			ids, states, attempts, jobs = append(ids, o.ID), append(states, v.state), append(attempts, v.attempts), append(jobs, v.job)
			next, status, errs, finished = append(next, v.next), append(status, v.status), append(errs, v.err), append(finished, v.finished)
		}
		if a := o.Attempt; a != nil {
			aIDs, aNums, aAt = append(aIDs, o.ID), append(aNums, int64(a.Attempt)), append(aAt, a.At.UnixMicro())
			aStatus, aErrs, aDur = append(aStatus, int64(a.Status)), append(aErrs, a.Error), append(aDur, a.Duration.Microseconds())
		}
	}
	entries := finishedOf(os, now)
	fStates, fAt, fFirst, fIDs := make([]string, len(entries)), make([]int64, len(entries)), make([]int64, len(entries)), make([]string, len(entries))
	for i, f := range entries {
		fStates[i], fAt[i], fFirst[i], fIDs[i] = f.state, f.at, f.first, f.ids
	}
	q := outcomeArraysSQL
	if upsert {
		q = outcomeArraysUpsertSQL
	}
	return t.withCommit(ctx, stmt{sql: q, args: []any{ids, states, attempts, jobs, next, status, errs, finished,
		aIDs, aNums, aAt, aStatus, aErrs, aDur, fStates, fAt, fFirst, fIDs,
		shared.state, shared.attempts, shared.job, shared.next, shared.status, shared.err, shared.finished, sharedIDs},
		mapErr: func(err error) error { return storedAlready(err, upsert) }})
}

// RetentionBatch is the most deliveries one retention statement deletes
// (but for an entry that lists more): a short transaction, so ingest and
// workers wait little behind it.
const RetentionBatch = 1000

// finishedBatchSQL reads entries of the finished log for a retention
// batch, oldest first.
const finishedBatchSQL = `SELECT finished_at_us, first_id, ids FROM chatwoot_finished_log
	WHERE state = $1 AND finished_at_us < $2 ORDER BY finished_at_us, first_id LIMIT $3`

// finishedRead is the most entries a retention batch reads: enough for
// RetentionBatch deliveries in entries of 10 (outcome writes at a low
// rate list fewer; at a low rate fewer are due).
const finishedRead = 100

// DeleteFinished takes the oldest entries of the finished log in state
// that finished before before, as many as list RetentionBatch deliveries
// at most, and deletes the deliveries they list that are still in state
// and finished before before (one replayed since is not; it has a newer
// entry if it finished again), their attempts, and the events left
// without a delivery. It returns how many deliveries the entries taken
// listed, and whether there may be more.
func (s *Store) DeleteFinished(ctx context.Context, state string, before time.Time) (taken int, more bool, err error) {
	err = s.inTx(ctx, func(t *txn) error {
		taken, more = 0, false
		var firsts, listed []any
		var lastAt int64
		read, full := 0, false
		if err := t.query(ctx, finishedBatchSQL,
			func(scan func(...any) error) error {
				var at, first int64
				var list string
				if err := scan(&at, &first, &list); err != nil {
					return err
				}
				if read++; full {
					return nil
				}
				ids, err := parseFinished(list)
				if len(listed) > 0 && len(listed)+len(ids) > RetentionBatch {
					full = true // the entries taken stay the oldest
					return err
				}
				for _, id := range ids {
					listed = append(listed, id)
				}
				firsts, lastAt = append(firsts, first), at
				return err
			}, state, before.UnixMicro(), finishedRead); err != nil {
			return err
		}
		if len(firsts) == 0 {
			return nil
		}
		taken, more = len(listed), len(firsts) < read || read == finishedRead
		// The entries read, not others committed since.
		if err := t.exec(ctx, `DELETE FROM chatwoot_finished_log WHERE state = $1 AND finished_at_us <= $2
			AND first_id IN (`+placeholders(t, 3, len(firsts))+`)`, append([]any{state, lastAt}, firsts...)...); err != nil {
			return err
		}
		// The state and time are checked in the DELETE itself, so that a
		// replay committed meanwhile keeps its delivery.
		var ids, events []any
		if err := t.query(ctx, `DELETE FROM chatwoot_deliveries WHERE state = $1 AND finished_at_us > 0 AND finished_at_us < $2
			AND id IN (`+placeholders(t, 3, len(listed))+`) RETURNING id, event_id`,
			func(scan func(...any) error) error {
				var id, ev int64
				err := scan(&id, &ev)
				ids, events = append(ids, id), append(events, ev)
				return err
			}, append([]any{state, before.UnixMicro()}, listed...)...); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if err := t.exec(ctx, `DELETE FROM chatwoot_attempts WHERE delivery_id IN (`+placeholders(t, 1, len(ids))+`)`, ids...); err != nil {
			return err
		}
		return t.exec(ctx, `DELETE FROM chatwoot_events WHERE id IN (`+placeholders(t, 1, len(events))+`)
			AND NOT EXISTS (SELECT 1 FROM chatwoot_deliveries d WHERE d.event_id = chatwoot_events.id)`, events...)
	})
	if err != nil {
		return 0, false, fmt.Errorf("deleting %s deliveries past retention: %w", state, err)
	}
	return taken, more, nil
}

// RecordCounts counts the stored events, deliveries and attempts.
func (s *Store) RecordCounts(ctx context.Context) (events, deliveries, attempts int64, err error) {
	err = s.records.query(ctx, `SELECT (SELECT COUNT(*) FROM chatwoot_events), (SELECT COUNT(*) FROM chatwoot_deliveries), (SELECT COUNT(*) FROM chatwoot_attempts)`,
		func(scan func(...any) error) error { return scan(&events, &deliveries, &attempts) })
	return events, deliveries, attempts, err
}
