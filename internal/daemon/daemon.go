package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/admin"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/ingest"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/metrics"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/netguard"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/version"
)

// Command runs the daemon until ctx ends (SIGINT/SIGTERM).
func Command(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "migrate" {
		return MigrateCommand(ctx, args[1:], os.Stderr)
	}
	cfg, err := ParseFlags(args, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	setGCPercent(os.LookupEnv)
	return Run(ctx, cfg, Hooks{})
}

// GCPercent is the daemon's GOGC when the environment sets none. Its live
// heap is small (the store holds the backlog) and every delivery allocates
// its requests, payload and rows anew, so with Go's default of 100 the
// collector runs often enough to take a large share of the CPU; the
// measurements guide has the figures.
const GCPercent = 400

// MemoryLimit is the daemon's GOMEMLIMIT when the environment sets none: a
// soft limit under which GCPercent's spacing of collections holds, and past
// which the collector runs sooner, so a daemon working through a large
// backlog at full speed stays near it instead of at five times its live
// heap.
const MemoryLimit = 120 << 20

// setGCPercent applies GCPercent unless GOGC is set, and MemoryLimit unless
// GOMEMLIMIT is, as Go documents both.
func setGCPercent(lookup func(string) (string, bool)) {
	if _, set := lookup("GOGC"); !set {
		debug.SetGCPercent(GCPercent)
	}
	if _, set := lookup("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(MemoryLimit)
	}
}

// Hooks let tests and benchmarks observe and replace parts of a running
// daemon. Zero values are fine.
type Hooks struct {
	// Lister replaces the Chatwoot client used by the reconciler.
	Lister endpoints.Lister
	// LogOutput receives the logs; default os.Stderr.
	LogOutput io.Writer
	// Listening is called with the ingest address once it listens.
	Listening func(addr net.Addr)
}

// Run runs the daemon with cfg until ctx ends, then shuts down: stop
// accepting events, commit those already accepted, let attempts in flight
// finish (or put them back, uncounted, after the grace period), close the
// store.
func Run(ctx context.Context, cfg Config, hooks Hooks) error {
	out := hooks.LogOutput
	if out == nil {
		out = os.Stderr
	}
	log := newLogger(cfg, out)
	riverLog := newSlog(log.Named("river"), hclog.Warn) // River's per-job lines duplicate ours

	lister := hooks.Lister
	if lister == nil {
		c, err := chatwoot.NewClient(chatwoot.Options{
			BaseURL:    cfg.ChatwootURL,
			Token:      cfg.Token,
			Timeout:    30 * time.Second,
			MaxRetries: 2,
			UserAgent:  version.UserAgent(),
			Logger:     chatwootLogger{log.Named("chatwoot")},
		})
		if err != nil {
			return err
		}
		lister = c
	}

	st, err := store.Open(ctx, store.Options{URL: cfg.Store, Synchronous: cfg.SQLiteSynchronous, Logger: newSlog(log.Named("store"), hclog.Info)})
	if err != nil {
		return err
	}
	defer st.Close()
	// Every outcome is committed before its job completes (group commit);
	// closed after River stopped, before the store closes.
	recorder := store.NewRecorder(st, newSlog(log.Named("records"), hclog.Info))
	defer recorder.Close()

	registry := endpoints.NewRegistry()
	// A failing endpoint's deliveries hold at most a quarter of the
	// workers waiting for its slots.
	limiter := delivery.NewLimiter(delivery.LimiterOptions{PerEndpoint: cfg.EndpointConcurrency, MaxWaiting: max(cfg.Workers/4, 1)})
	guard := netguard.NewGuard(cfg.AllowCIDRs)
	sender := delivery.NewSender(delivery.SenderOptions{
		Timeout:   cfg.Timeout,
		UserAgent: version.UserAgent(),
		Guard:     guard,
	})

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var bgWG sync.WaitGroup
	// Cancelling goes through a unique River job (delivery.CancelArgs):
	// with replicas, each notices a removed webhook, and one cancels.
	cancelPending := func(client store.Client, eps []endpoints.Endpoint, reason string) {
		bgWG.Add(1)
		go func() {
			defer bgWG.Done()
			if _, err := client.InsertMany(bg, delivery.CancelParams(eps, reason)); err != nil && bg.Err() == nil {
				log.Warn("cancelling pending deliveries failed; they are cancelled at their next attempt", "endpoints", len(eps), "error", err)
			}
		}()
	}
	storeHealth := ingest.NewStoreHealth(st.Ping)
	mets := metrics.New(metrics.Options{Counts: st.JobCounts, Endpoints: registry, StoreUp: func() float64 { return storeHealth.Up(bg) }})

	// Workers are registered before their River client exists: they reach
	// it through the job's context (store.ClientFromContext).
	worker := delivery.NewWorker(delivery.WorkerOptions{
		Records:   workerRecords{st, recorder},
		Endpoints: registry,
		Sender:    sender,
		Limiter:   limiter,
		Timeout:   cfg.Timeout,
		Schedule:  cfg.Schedule,
		OnDisabled: func(jobCtx context.Context, ep endpoints.Endpoint) {
			// In the store first: every replica and the next run keep it.
			saveCtx, cancel := context.WithTimeout(bg, 10*time.Second)
			err := st.SaveDisabled(saveCtx, store.DisabledMark{AccountID: ep.AccountID, WebhookID: ep.ID, Fingerprint: ep.Fingerprint(), At: time.Now(), Reason: endpoints.DisabledGone})
			cancel()
			if err != nil && bg.Err() == nil {
				log.Error("the 410 disable of an endpoint is this process's only: the store did not record it; other replicas and the next run still deliver to it", "endpoint", ep.String(), "error", err)
			}
			if client, err := store.ClientFromContext(jobCtx); err == nil {
				cancelPending(client, []endpoints.Endpoint{ep}, delivery.CancelGone)
			}
		},
		OnResult: func(r delivery.Result) {
			if r.Sent {
				errText := ""
				if r.Err != nil {
					errText = r.Err.Error()
				}
				registry.RecordAttempt(r.Endpoint, r.Start.Add(r.Duration), r.Status, errText)
			}
			mets.ObserveResult(r)
		},
		Logger: log,
	})
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	batchWorker := delivery.NewBatchWorker(worker)
	river.AddWorker(workers, batchWorker)
	river.AddWorker(workers, &delivery.CancelWorker{Jobs: func(ctx context.Context) (delivery.Jobs, error) { return store.ClientFromContext(ctx) }, Records: st, Logger: log})

	cooldown, poll := st.Tuning.FetchCooldown, st.Tuning.FetchPollInterval
	if cfg.FetchCooldown > 0 {
		cooldown = cfg.FetchCooldown
	}
	if cfg.FetchPollInterval > 0 {
		poll = cfg.FetchPollInterval
	}
	poll = max(poll, cooldown)
	discarded := cfg.DeadRetention
	if discarded == 0 {
		discarded = -1 // River: never delete
	}
	client, err := st.NewClient(&river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers: workers,
		// Suited to the store (see store.Tuning) unless set by flags.
		FetchCooldown:     cooldown,
		FetchPollInterval: poll,
		JobTimeout:        worker.JobTimeout(),
		// A daemon killed mid-attempt leaves its deliveries "running"; they
		// are retried this long after the attempt started, not River's
		// default hour later (a batch may run longest).
		RescueStuckJobsAfter:        batchWorker.JobTimeout() + 10*time.Second,
		RetryPolicy:                 &delivery.RetryPolicy{Schedule: cfg.Schedule},
		MaxAttempts:                 cfg.Schedule.MaxAttempts(),
		CompletedJobRetentionPeriod: cfg.Retention,
		CancelledJobRetentionPeriod: cfg.Retention,
		DiscardedJobRetentionPeriod: discarded,
		// On stop, attempts in flight get this long to finish before their
		// contexts are cancelled and River puts them back uncounted.
		SoftStopTimeout: cfg.Timeout + time.Second,
		Logger:          riverLog,
	})
	if err != nil {
		return fmt.Errorf("creating the River client: %w", err)
	}

	var ui http.Handler
	if cfg.RiverUI {
		if ui, err = newRiverUI(bg, client, riverLog); err != nil {
			return err
		}
	}

	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", cfg.Listen, err)
	}
	self := newSelf(cfg.PublicURL, ln.Addr())
	cfg.PublicURL = self.publicURL
	guard.RefuseListener(self.listener)

	reconciler := endpoints.NewReconciler(endpoints.ReconcilerOptions{
		Client:   lister,
		Registry: registry,
		Accounts: cfg.Accounts,
		Interval: cfg.ReconcileInterval,
		Refuse:   self.refuse(guard),
		OnRemoved: func(_ context.Context, eps []endpoints.Endpoint) {
			for _, ep := range eps {
				limiter.Forget(ep.Key())
			}
			cancelPending(client, eps, delivery.CancelRemoved)
		},
		OnPass:    mets.ReconcilePass,
		Stored:    storedState(st),
		OnListed:  keepListed(st, log),
		Snapshots: storedSnapshots(st),
		Logger:    log,
	})
	ingestHandler := ingest.New(ingest.Options{
		Registry:    registry,
		Queue:       queue{st, client, cfg.BatchSize},
		MaxAttempts: cfg.Schedule.MaxAttempts(),
		BehindAfter: cfg.EndpointConcurrency,
		OnQueued:    mets.Queued,
		Store:       storeHealth,
		Relay: ingest.RelayOptions{
			Endpoints: registry,
			Refresh:   reconciler.Refresh,
			Tolerance: cfg.RelayTolerance,
			OnOutcome: mets.Relay,
		},
		Logger: log,
	})
	handler := routes(cfg, self, ingestHandler, admin.New(admin.Options{Jobs: client, Records: adminRecords{st, client}, Endpoints: registry, Marks: st, Logger: log}), mets.Handler(), ui)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "public_url", chatwoot.RedactURL(cfg.PublicURL), "store", st.Description, "chatwoot", chatwoot.RedactURL(cfg.ChatwootURL),
		"retry_schedule", cfg.Schedule.String(), "timeout", cfg.Timeout, "version", version.Version,
		"access", access(cfg, self))
	if cfg.AdminToken == "" && !self.listener.Addr().IsLoopback() {
		log.Warn("listening on a non-loopback address without --admin-token: every host that reaches " + ln.Addr().String() +
			" may use the relay route (it needs Chatwoot's signature) and /healthz, /readyz; ingest, the admin API, /metrics and River's UI " +
			"answer loopback clients only (403 to the others). Set --admin-token to reach them from other hosts.")
	}
	log.Info("relayed webhooks have the url " + cfg.PublicURL + "/v1/accounts/{account_id}/relay?to=<percent-encoded destination>; the daemon delivers to no other webhook")
	if hooks.Listening != nil {
		hooks.Listening(ln.Addr())
	}
	var recWG sync.WaitGroup
	recWG.Add(2)
	go func() { defer recWG.Done(); reconciler.Run(bg) }()
	go func() { defer recWG.Done(); retain(bg, st, cfg, log) }()

	// Workers start once the endpoints are known: before that a delivery
	// could not tell a removed webhook from one not listed yet.
	started := false
	var runErr error
	select {
	case <-registry.ReadyC():
		if err := client.Start(bg); err != nil {
			runErr = fmt.Errorf("starting the River client: %w", err)
		} else {
			started = true
			log.Info("delivering", "workers", cfg.Workers, "endpoint_concurrency", cfg.EndpointConcurrency,
				"fetch_cooldown", cooldown, "fetch_poll_interval", poll, "shared_store", st.Shared)
		}
	case err := <-serveErr:
		runErr = fmt.Errorf("ingest server: %w", err)
	case <-ctx.Done():
	}
	if runErr == nil {
		select {
		case <-ctx.Done():
		case err := <-serveErr:
			runErr = fmt.Errorf("ingest server: %w", err)
		}
	}

	log.Info("shutting down")
	deadline, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(deadline); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("ingest requests still open at the deadline were cut", "error", err)
	}
	ingestHandler.Close() // commits what was accepted before the listener closed
	if started {
		limiter.Drain() // deliveries waiting for a slot go back to the store now
		if err := client.Stop(deadline); err != nil {
			log.Warn("attempts still running at the deadline are cancelled and put back", "error", err)
			hard, cancelHard := context.WithTimeout(context.Background(), 5*time.Second)
			_ = client.StopAndCancel(hard)
			cancelHard()
		}
	}
	stopBG()
	recWG.Wait()
	bgWG.Wait()
	log.Info("stopped")
	return runErr
}

// routes puts the relay route, ingest, the admin API, the metrics and
// River's UI on one mux, each behind the access rule of admin.Gate.
func routes(cfg Config, self *self, ingestH, adminH, metricsH, ui http.Handler) http.Handler {
	gate := admin.Gate{Token: cfg.AdminToken, Hosts: self.hosts(), TrustedOrigins: []string{self.origin()}}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", gate.Health(ingestH))
	mux.Handle("GET /readyz", gate.Health(ingestH))
	mux.Handle("POST /v1/accounts/{account_id}/relay", gate.Open(ingestH))
	mux.Handle("/v1/accounts/", gate.Ingest(ingestH))
	for _, p := range admin.Patterns {
		mux.Handle(p, gate.Admin(adminH))
	}
	mux.Handle("GET /metrics", gate.Admin(metricsH))
	if ui != nil {
		mux.Handle(riverUIPrefix+"/", gate.Admin(ui))
		mux.Handle(riverUIPrefix, gate.Admin(http.RedirectHandler(riverUIPrefix+"/", http.StatusMovedPermanently)))
	}
	return strictQuery(mux)
}

// strictQuery refuses a query string net/url cannot parse whole: Go drops
// a parameter holding a ';' silently (it is no separator since Go 1.17),
// so ?state=dead;failed would list every state. The answer names the
// parameter, never its value (a destination's query may hold a token).
func strictQuery(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			name := "?"
			for _, part := range strings.Split(r.URL.RawQuery, "&") {
				if strings.Contains(part, ";") {
					name, _, _ = strings.Cut(part, "=")
					name, _, _ = strings.Cut(name, ";")
					if len(name) > 40 {
						name = name[:40] + "…"
					}
					break
				}
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf(
				"query parameter %q holds a ';', which is not a separator: separate parameters with & and percent-encode a ';' inside a value as %%3B", name)})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// access describes, for the startup log, who may use what.
func access(cfg Config, self *self) string {
	local := "loopback clients only"
	if cfg.AdminToken != "" {
		local = "loopback clients, or others with the admin token (admin API, metrics, River UI: the token from every client)"
	}
	return "relay route and health: every client (relay posts need Chatwoot's signature); ingest, admin API, metrics, River UI: " + local +
		", Host one of " + strings.Join(append(self.hosts(), "localhost", "IP addresses"), ", ") + ", no cross-origin browser requests, POSTs as application/json"
}

// storedState reads the store's disabled marks and pauses for the
// reconciler.
func storedState(st *store.Store) func(context.Context) (endpoints.Stored, error) {
	return func(ctx context.Context) (endpoints.Stored, error) {
		var out endpoints.Stored
		ms, err := st.DisabledMarks(ctx)
		if err != nil {
			return out, err
		}
		for _, m := range ms {
			out.Disabled = append(out.Disabled, endpoints.Mark{Key: endpoints.Key{AccountID: m.AccountID, ID: m.WebhookID}, Fingerprint: m.Fingerprint, At: m.At, Reason: m.Reason})
		}
		ps, err := st.PauseMarks(ctx)
		for _, p := range ps {
			out.Paused = append(out.Paused, endpoints.Pause{Key: endpoints.Key{AccountID: p.AccountID, ID: p.WebhookID}, At: p.At})
		}
		return out, err
	}
}

// keepListed stores each account's list when it changed, so a restart
// while Chatwoot is down can deliver from it (the store then holds the
// webhooks' secrets, as Chatwoot's database does).
func keepListed(st *store.Store, log hclog.Logger) func(context.Context, int64, []chatwoot.Webhook) {
	var mu sync.Mutex
	last := map[int64]string{}
	return func(ctx context.Context, accountID int64, hooks []chatwoot.Webhook) {
		mu.Lock()
		defer mu.Unlock()
		if hooks == nil {
			if err := st.DeleteWebhooks(ctx, accountID); err != nil {
				log.Warn("forgetting the stored webhooks of an account failed", "account", accountID, "error", err)
			}
			delete(last, accountID)
			return
		}
		b, err := json.Marshal(hooks)
		if err != nil || last[accountID] == string(b) {
			return
		}
		if err := st.SaveWebhooks(ctx, store.AccountWebhooks{AccountID: accountID, Webhooks: b, ListedAt: time.Now()}); err != nil {
			log.Warn("storing the account's webhooks failed; a restart while Chatwoot is down waits for it", "account", accountID, "error", err)
			return
		}
		last[accountID] = string(b)
	}
}

// storedSnapshots reads the stored lists for the reconciler.
func storedSnapshots(st *store.Store) func(context.Context) ([]endpoints.Snapshot, error) {
	return func(ctx context.Context) ([]endpoints.Snapshot, error) {
		lists, err := st.StoredWebhooks(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]endpoints.Snapshot, 0, len(lists))
		for _, l := range lists {
			var hooks []chatwoot.Webhook
			if err := json.Unmarshal(l.Webhooks, &hooks); err != nil {
				return nil, fmt.Errorf("the stored webhooks of account %d: %w", l.AccountID, err)
			}
			out = append(out, endpoints.Snapshot{AccountID: l.AccountID, Webhooks: hooks, ListedAt: l.ListedAt})
		}
		return out, nil
	}
}

// workerRecords is the store as the workers see it: deliveries read from
// the store, outcomes written through the recorder.
type workerRecords struct {
	*store.Store
	*store.Recorder
}

// queue stores ingest's events with the jobs that carry their deliveries.
type queue struct {
	st        *store.Store
	client    store.Client
	batchSize int
}

func (q queue) Enqueue(ctx context.Context, evs []store.NewEvent) ([]store.Queued, error) {
	return q.st.Enqueue(ctx, q.client, evs, func(qs []store.Queued) []river.InsertManyParams { return delivery.JobsFor(qs, q.batchSize) })
}

// adminRecords is the store as the admin API sees it; a replay is one more
// attempt in a new job.
type adminRecords struct {
	*store.Store
	client store.Client
}

func (a adminRecords) Replay(ctx context.Context, id int64, from []string) (bool, error) {
	return a.Requeue(ctx, a.client, id, from, func(d store.Delivery) []river.InsertManyParams {
		return []river.InsertManyParams{delivery.AloneParams(d, 1, time.Time{})}
	})
}

// RetentionEvery is how often the retention pass runs.
const RetentionEvery = time.Minute

// retain deletes finished deliveries past --retention (succeeded,
// cancelled) and --dead-retention (dead; 0 keeps them), with their
// attempts and the events they leave without a delivery, in batches of
// store.RetentionBatch, until ctx ends. River deletes its own jobs (its
// job cleaner, in batches too).
func retain(ctx context.Context, st *store.Store, cfg Config, log hclog.Logger) {
	t := time.NewTicker(RetentionEvery)
	defer t.Stop()
	for {
		retainOnce(ctx, st, cfg, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func retainOnce(ctx context.Context, st *store.Store, cfg Config, log hclog.Logger) {
	rules := []struct {
		state string
		keep  time.Duration
	}{{store.StateSucceeded, cfg.Retention}, {store.StateCancelled, cfg.Retention}, {store.StateDead, cfg.DeadRetention}}
	for _, r := range rules {
		if r.keep <= 0 {
			continue
		}
		for ctx.Err() == nil {
			_, more, err := st.DeleteFinished(ctx, r.state, time.Now().Add(-r.keep))
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("retention pass failed; retried at the next", "state", r.state, "error", err)
				}
				return
			}
			if !more {
				break
			}
		}
	}
}
