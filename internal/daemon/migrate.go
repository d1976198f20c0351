package daemon

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// MigrateCommand is `daemon migrate`: it brings the store's River tables
// up to date and exits, for deployments that migrate before rolling out
// replicas (the daemon also migrates on start, so this is optional). On
// PostgreSQL it takes the same advisory lock as starting replicas do.
func MigrateCommand(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("daemon migrate", flag.ContinueOnError)
	fs.SetOutput(out)
	var cfg Config
	fs.StringVar(&cfg.Store, "store", store.DefaultURL, "durable queue: sqlite:`PATH` or postgres://user:password@host:5432/db?sslmode=require")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log level: trace, debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: terraform-provider-chatwoot daemon migrate [flags]\n\n"+
			"Applies River's migrations to the delivery store and exits.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: daemon migrate takes flags only (see -h)", fs.Arg(0))
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: use text or json", cfg.LogFormat)
	}
	if hclog.LevelFromString(cfg.LogLevel) == hclog.NoLevel {
		return fmt.Errorf("--log-level %q: use trace, debug, info, warn or error", cfg.LogLevel)
	}
	log := newLogger(cfg, out)
	st, err := store.Open(ctx, store.Options{URL: cfg.Store, Logger: newSlog(log.Named("store"), hclog.Info)})
	if err != nil {
		return err
	}
	defer st.Close()
	if len(st.Migrated) == 0 {
		log.Info("store up to date", "store", st.Description, "version", st.Version)
		return nil
	}
	versions := make([]string, len(st.Migrated))
	for i, v := range st.Migrated {
		versions[i] = fmt.Sprint(v)
	}
	log.Info("store migrated", "store", st.Description, "applied", strings.Join(versions, ","), "version", st.Version)
	return nil
}
