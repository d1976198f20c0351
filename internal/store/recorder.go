package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Recorder writes outcomes with group commit: an outcome waits for the
// transaction that is being written to end, then goes with every other
// outcome that arrived meanwhile in the next one. A worker returns only
// once its outcome is committed, so River completes a job after its
// delivery is recorded: after a crash a delivery recorded succeeded is
// never sent again, and one whose outcome was not committed yet (in
// flight, or inside the window of one write) is attempted again.
type Recorder struct {
	st  *Store
	log *slog.Logger

	mu     sync.Mutex
	closed bool
	queue  []pendingOutcome
	spare  []pendingOutcome // the last write's, the next queue (run's own)
	kick   chan struct{}
	done   chan struct{}
}

// pendingOutcome is an outcome to write, or (f set) a job to finish.
type pendingOutcome struct {
	o    Outcome
	f    *finish
	done chan error
}

// MaxOutcomesPerWrite bounds one transaction.
const MaxOutcomesPerWrite = 2000

// WriteEvery is the least time from one write's start to the next's: each
// write is a commit (on SQLite with synchronous=full, an fsync), and
// writing as soon as one ended made a commit per few outcomes, most of a
// drain's system time. It bounds what an outcome waits, and the window a
// kill -9 can fall in, to one write plus WriteEvery.
const WriteEvery = 5 * time.Millisecond

// ErrRecorderClosed is returned by Record after Close.
var ErrRecorderClosed = errors.New("the outcome recorder is closed")

// NewRecorder starts a Recorder writing to st. Close it after the workers
// stopped.
func NewRecorder(st *Store, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{st: st, log: log, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go r.run()
	return r
}

// Add queues o and returns a channel that receives the write's error (nil
// once committed).
func (r *Recorder) Add(o Outcome) <-chan error { return r.add(pendingOutcome{o: o}) }

// Finish queues job's completion, with the River jobs that carry on its
// work (params), both in the write of the outcomes added before it or in
// a later one: the follow-ups exist if and only if the job is completed,
// so a job run again cannot insert them twice. ctx is the job's (its River
// client inserts them). The channel receives ErrJobNotRunning if the job was
// rescued or cancelled meanwhile.
func (r *Recorder) Finish(ctx context.Context, job *rivertype.JobRow, params []river.InsertManyParams) <-chan error {
	c, err := ClientFromContext(ctx)
	if err != nil {
		ch := make(chan error, 1)
		ch <- err
		return ch
	}
	return r.add(pendingOutcome{f: &finish{Job: job, Client: c, Params: params}})
}

func (r *Recorder) add(p pendingOutcome) <-chan error {
	ch := make(chan error, 1)
	p.done = ch
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		ch <- ErrRecorderClosed
		return ch
	}
	r.queue = append(r.queue, p)
	select { // under mu: Close cannot close kick meanwhile
	case r.kick <- struct{}{}:
	default:
	}
	r.mu.Unlock()
	return ch
}

func (r *Recorder) run() {
	defer close(r.done)
	for {
		_, open := <-r.kick
		for {
			r.mu.Lock()
			batch := r.queue
			if len(batch) == 0 {
				r.mu.Unlock()
				break
			}
			if len(batch) > MaxOutcomesPerWrite {
				batch, r.queue = batch[:MaxOutcomesPerWrite:MaxOutcomesPerWrite], batch[MaxOutcomesPerWrite:]
			} else {
				r.queue = r.spare[:0]
			}
			r.mu.Unlock()
			start := time.Now()
			r.write(batch)
			// Two queues in turn, not a new one grown for each write.
			clear(batch)
			r.spare = batch[:0]
			if open {
				time.Sleep(WriteEvery - time.Since(start))
			}
		}
		if !open {
			return
		}
	}
}

func (r *Recorder) write(batch []pendingOutcome) {
	os := make([]Outcome, 0, len(batch))
	var fs []*finish
	for _, p := range batch {
		if p.f != nil {
			fs = append(fs, p.f)
		} else {
			os = append(os, p.o)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := r.st.saveOutcomes(ctx, os, fs)
	cancel()
	if err != nil {
		r.log.Warn("recording delivery outcomes failed; their jobs are retried", "outcomes", len(os), "error", err)
	}
	for _, p := range batch {
		if err == nil && p.f != nil {
			p.done <- p.f.Err
			continue
		}
		p.done <- err
	}
}

// Close writes what was added and stops.
func (r *Recorder) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.kick)
	}
	r.mu.Unlock()
	<-r.done
}
