package mockapi

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Command is the `mock-api` subcommand. It serves until ctx is done, then
// shuts down cleanly.
func Command(ctx context.Context, args []string) error {
	return run(ctx, args, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mock-api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:3000", "`address` to listen on; port 0 picks a free port")
	seedPath := fs.String("seed", "", "JSON seed `file` replacing the default accounts, users, inboxes and conversations")
	timeout := fs.Duration("webhook-timeout", 5*time.Second, "timeout of each delivery to a webhook, open and read (upstream's WEBHOOK_TIMEOUT)")
	allowPrivate := fs.Bool("allow-private-network", false, "deliver to private and loopback addresses too (upstream's SAFE_FETCH_ALLOW_PRIVATE_NETWORK=true); needed for a relay or receiver on this machine")
	workers := fs.Int("delivery-workers", 4, "webhook deliveries in flight at once")
	inboxEvents := fs.Bool("enable-inbox-events", false, "fire inbox_created and inbox_updated (upstream's ENABLE_INBOX_EVENTS)")
	daemonURL := fs.String("daemon-url", "", "removed: the mock delivers to the account's webhooks as Chatwoot does; point a webhook at the relay instead")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: trace, debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: terraform-provider-chatwoot mock-api [flags]\n\n"+
			"Serves a Chatwoot-faithful mock of the account API (webhooks, profile, messages) with\n"+
			"test-support routes under /_mock. Flags:\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; mock-api takes only flags (see -h)", fs.Arg(0))
	}
	if *logFormat != "text" && *logFormat != "json" {
		return fmt.Errorf("--log-format %q is not supported; use text or json", *logFormat)
	}
	level := hclog.LevelFromString(*logLevel)
	if level == hclog.NoLevel {
		return fmt.Errorf("--log-level %q is not a level; use trace, debug, info, warn or error", *logLevel)
	}
	if *workers < 1 {
		return fmt.Errorf("--delivery-workers is %d; use 1 or more", *workers)
	}
	if *timeout <= 0 {
		return fmt.Errorf("--webhook-timeout is %s; use a positive duration like 5s", *timeout)
	}
	if *daemonURL != "" {
		return fmt.Errorf("--daemon-url was removed: the mock now delivers each event to the account's webhooks, signed, as Chatwoot does. " +
			"To put the daemon in front, give a webhook the url <daemon>/v1/accounts/<account_id>/relay?to=<destination> (chatwoot_webhook relay = true) " +
			"and start the mock with --allow-private-network when the daemon is on this machine")
	}
	seed := DefaultSeed()
	if *seedPath != "" {
		var err error
		if seed, err = LoadSeed(*seedPath); err != nil {
			return err
		}
	}

	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "mock-api",
		Level:      level,
		Output:     stderr,
		JSONFormat: *logFormat == "json",
	})
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w; pick another --listen address (port 0 picks a free one)", *listen, err)
	}
	srv := New(Options{Seed: seed, Logger: logger, WebhookTimeout: *timeout, AllowPrivateNetwork: *allowPrivate, DeliveryWorkers: *workers, InboxEvents: *inboxEvents})
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	base := "http://" + ln.Addr().String()
	printBanner(stdout, base, seed, *allowPrivate)
	logger.Info("listening", "url", base, "seed", seedName(*seedPath), "webhook_timeout", timeout.String(), "allow_private_network", *allowPrivate)

	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	select {
	case err := <-served:
		_ = srv.Close()
		return fmt.Errorf("serving %s: %w", base, err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = httpSrv.Shutdown(shutdownCtx)
	_ = srv.Close()
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func seedName(path string) string {
	if path == "" {
		return "default"
	}
	return path
}

// printBanner tells the user where the mock is and what each token may do.
// It goes to stdout, never to the log.
func printBanner(w io.Writer, base string, seed *Seed, allowPrivate bool) {
	names := map[int64]string{}
	for _, a := range seed.Accounts {
		names[a.ID] = a.Name
	}
	fmt.Fprintf(w, "Chatwoot mock API listening on %s\n\n", base)
	fmt.Fprintf(w, "Tokens (header api_access_token):\n")
	for _, u := range seed.Users {
		var admin, agent []string
		for _, m := range u.Accounts {
			label := fmt.Sprintf("%d %q", m.AccountID, names[m.AccountID])
			if m.Role == chatwoot.RoleAdministrator {
				admin = append(admin, label)
			} else {
				agent = append(agent, label)
			}
		}
		fmt.Fprintf(w, "  %s  %s <%s>\n", u.AccessToken, u.Name, u.Email)
		if len(admin) > 0 {
			fmt.Fprintf(w, "      administrator of account %s: may manage webhooks and inboxes, and all an agent may\n", strings.Join(admin, ", "))
		}
		if len(agent) > 0 {
			fmt.Fprintf(w, "      agent of account %s: conversations, messages, contacts; webhook and inbox routes answer 401\n", strings.Join(agent, ", "))
		}
	}
	for _, b := range seed.AgentBots {
		fmt.Fprintf(w, "  %s  agent bot %q of account %d: conversations and messages only\n", b.AccessToken, b.Name, b.AccountID)
	}
	for _, a := range seed.Accounts {
		if a.Suspended {
			fmt.Fprintf(w, "  account %d %q is suspended: every token gets 401 Account is suspended\n", a.ID, a.Name)
		}
	}
	fmt.Fprintf(w, "\nConversations (POST /api/v1/accounts/{account_id}/conversations/{display_id}/messages):\n")
	inboxes := map[int64]SeedInbox{}
	for _, in := range seed.Inboxes {
		inboxes[in.ID] = in
	}
	for _, c := range seed.Conversations {
		in := inboxes[c.InboxID]
		note := "outgoing messages and private notes"
		if in.ChannelType == channelAPI {
			note = "incoming and outgoing messages, private notes"
		}
		fmt.Fprintf(w, "  account %d conversation %d  inbox %d %q (%s): %s\n", c.AccountID, c.DisplayID, in.ID, in.Name, in.ChannelType, note)
	}
	fmt.Fprintf(w, "\nEvents are delivered to the account's subscribed webhooks as Chatwoot delivers them: signed, once, never retried")
	if allowPrivate {
		fmt.Fprintf(w, "; private and loopback addresses allowed (--allow-private-network)\n")
	} else {
		fmt.Fprintf(w, "; private and loopback addresses refused (allow them with --allow-private-network)\n")
	}
	fmt.Fprintf(w, "Test support: GET|DELETE %[1]s/_mock/requests, GET|POST|DELETE %[1]s/_mock/faults, GET|DELETE %[1]s/_mock/events, GET|DELETE %[1]s/_mock/deliveries, POST %[1]s/_mock/webwidget_triggered\n\n", base)
	fmt.Fprintf(w, "  export CHATWOOT_BASE_URL=%s\n", base)
	if len(seed.Users) > 0 {
		fmt.Fprintf(w, "  export CHATWOOT_API_ACCESS_TOKEN=%s\n", seed.Users[0].AccessToken)
	}
}
