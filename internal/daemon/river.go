package daemon

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"
	"riverqueue.com/riverui/uiendpoints"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// uiEndpoints reaches through store.Client to the concrete River client
// for River UI's API endpoints, generic over the database's transaction
// type. A store over a new driver adds its case here.
func uiEndpoints(c store.Client) (uiendpoints.Bundle, error) {
	switch c := c.(type) {
	case *river.Client[*sql.Tx]: // SQLite
		return riverui.NewEndpoints(c, nil), nil
	case *river.Client[pgx.Tx]: // PostgreSQL
		return riverui.NewEndpoints(c, nil), nil
	default:
		return nil, fmt.Errorf("internal error: River client of unexpected type %T", c)
	}
}

// riverUI is River's web UI under /riverui/. Its background services
// (cached job counts, refreshed every ~10s) start at its first request, so
// a daemon nobody looks at does not pay for them.
type riverUI struct {
	h     *riverui.Handler
	ctx   context.Context
	once  sync.Once
	start error
	log   *slog.Logger
}

// Prefix is where the UI is mounted.
const riverUIPrefix = "/riverui"

func newRiverUI(ctx context.Context, client store.Client, log *slog.Logger) (*riverUI, error) {
	bundle, err := uiEndpoints(client)
	if err != nil {
		return nil, err
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: bundle,
		// Payloads are personal data: shown on a job's page, not in lists.
		JobListHideArgsByDefault: true,
		Logger:                   log,
		Prefix:                   riverUIPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the River UI: %w", err)
	}
	return &riverUI{h: h, ctx: ctx, log: log}, nil
}

func (u *riverUI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.once.Do(func() { u.start = u.h.Start(u.ctx) })
	if u.start != nil {
		http.Error(w, "River UI failed to start: "+u.start.Error(), http.StatusInternalServerError)
		return
	}
	u.h.ServeHTTP(w, r)
}
