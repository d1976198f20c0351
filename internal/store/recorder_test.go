package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

type finishArgs struct {
	Rescued bool `json:"rescued"`
	// Again: a delivery whose first attempt is recorded already, recorded
	// again (with a duration of 2 ms) in the write that finishes the job.
	Again int64 `json:"again"`
}

func (finishArgs) Kind() string { return "test_finish" }

// finishWorker finishes its job through the recorder with one follow-up
// job; a Rescued job is put back in the queue first, as River's rescuer
// would while it still runs: retryable, for later (left available, River
// would fetch it again before Finish, and Finish would complete that run).
type finishWorker struct {
	river.WorkerDefaults[finishArgs]
	st   *Store
	rec  *Recorder
	done chan error
}

func (w *finishWorker) Work(ctx context.Context, job *river.Job[finishArgs]) error {
	if job.Args.Rescued {
		if err := w.st.records.exec(ctx, `UPDATE river_job SET state = 'retryable', scheduled_at = $2 WHERE id = $1`, job.ID, time.Now().Add(time.Hour).UTC()); err != nil {
			return err
		}
	}
	o := Outcome{ID: 999, State: StateSucceeded} // no such row: a no-op in the same write
	if job.Args.Again != 0 {
		o = Outcome{ID: job.Args.Again, State: StateSucceeded, Attempts: 1, Status: 200, Attempt: &Attempt{Attempt: 1, At: time.Now(), Status: 200, Duration: 2 * time.Millisecond}}
	}
	other := w.rec.Add(o)
	err := <-w.rec.Finish(ctx, job.JobRow, []river.InsertManyParams{{Args: noopArgs{IDs: []int64{job.ID}}}})
	if oerr := <-other; oerr != nil {
		err = errors.Join(err, oerr)
	}
	select {
	case w.done <- err:
	case <-ctx.Done(): // a test that failed no longer reads
	}
	if job.Args.Rescued {
		return river.JobCancel(err) // not run again by the test
	}
	return nil
}

// TestRecorderFinishesAJobWithItsFollowUps: a job's follow-up jobs are
// inserted in the write that completes it, or not at all when it was no
// longer running (rescued meanwhile): a job run again never inserts them
// twice. A write that records an attempt recorded already (on PostgreSQL,
// refused, then written again) completes its job with its follow-ups
// once.
func TestRecorderFinishesAJobWithItsFollowUps(t *testing.T) {
	eachStoreURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st, err := Open(ctx, Options{URL: url, Synchronous: SyncNormal})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		rec := NewRecorder(st, nil)
		t.Cleanup(rec.Close)
		w := &finishWorker{st: st, rec: rec, done: make(chan error, 1)}
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[noopArgs]) error { return nil }))
		c, err := st.NewClient(&river.Config{Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
			FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond, TestOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
		followUps := func() int {
			t.Helper()
			res, err := c.JobList(ctx, river.NewJobListParams().Kinds("test_ids").First(100))
			if err != nil {
				t.Fatal(err)
			}
			return len(res.Jobs)
		}
		for _, tt := range []struct {
			name           string
			rescued, again bool
		}{{"finished", false, false}, {"rescued", true, false}, {"finished with an attempt recorded again", false, true}} {
			args := finishArgs{Rescued: tt.rescued}
			if tt.again {
				qs, err := st.Enqueue(ctx, c, []NewEvent{{AccountID: 1, Event: "message_created", Payload: []byte(`{}`),
					Deliveries: []NewDelivery{{UUID: "again", WebhookID: 1, MaxAttempts: 3}}}}, oneJob)
				if err != nil {
					t.Fatal(err)
				}
				first := Attempt{Attempt: 1, At: time.Now(), Status: 200, Duration: time.Millisecond}
				if err := st.saveOutcomes(ctx, []Outcome{{ID: qs[0].ID, State: StateSucceeded, Attempts: 1, Status: 200, Attempt: &first}}, nil); err != nil {
					t.Fatal(err)
				}
				args.Again = qs[0].ID
			}
			before := followUps()
			res, err := c.InsertMany(ctx, []river.InsertManyParams{{Args: args}})
			if err != nil {
				t.Fatal(err)
			}
			var ferr error
			select {
			case ferr = <-w.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the job did not run")
			}
			row, err := c.JobGet(ctx, res[0].Job.ID)
			if err != nil {
				t.Fatal(err)
			}
			added := followUps() - before
			if !tt.rescued && (ferr != nil || row.State != "completed" || added != 1) {
				t.Fatalf("%s: %v, job %s, %d follow-ups; want completed with its one follow-up", tt.name, ferr, row.State, added)
			}
			if tt.rescued && (!errors.Is(ferr, ErrJobNotRunning) || added != 0) {
				t.Fatalf("%s: %v, %d follow-ups; want ErrJobNotRunning and none", tt.name, ferr, added)
			}
			if tt.again {
				if as, err := st.Attempts(ctx, args.Again); err != nil || len(as) != 1 || as[0].Duration != 2*time.Millisecond {
					t.Fatalf("%s: attempts %+v %v; want the one attempt, as recorded again", tt.name, as, err)
				}
			}
		}
	})
}

// TestRecorderWritesEveryOutcomeOnce: outcomes added in bursts, some
// while a write runs and some after the recorder found its queue empty,
// are each written, and each Add hears of its own write.
func TestRecorderWritesEveryOutcomeOnce(t *testing.T) {
	st, c := openInsertOnly(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	ids := enqueueN(t, st, c, 600, []byte(`{}`))
	rec := NewRecorder(st, nil)
	defer rec.Close()
	const workers = 6
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for w := range workers {
		wg.Go(func() {
			var pending []<-chan error
			for i := w; i < len(ids); i += workers {
				pending = append(pending, rec.Add(Outcome{ID: ids[i], State: StateSucceeded, Attempts: 1, Status: 200,
					Attempt: &Attempt{Attempt: 1, At: time.Now(), Status: 200, Duration: time.Millisecond}}))
				if i%(7*workers) == w { // a gap: the recorder runs dry
					time.Sleep(time.Duration(i%3) * WriteEvery)
				}
			}
			timeout := time.After(10 * time.Second)
			for _, ch := range pending {
				select {
				case err := <-ch:
					errs <- err
				case <-timeout:
					errs <- errors.New("an outcome's write never reported")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ds, err := st.ForAttempt(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.State != StateSucceeded || d.Attempts != 1 {
			t.Fatalf("delivery %d: %s after %d attempts; want succeeded after 1", d.ID, d.State, d.Attempts)
		}
	}
	if len(ds) != len(ids) {
		t.Fatalf("read %d of %d deliveries", len(ds), len(ids))
	}
}
