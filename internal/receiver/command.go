package receiver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/version"
)

// Command is the `receive` subcommand. It serves until ctx is done.
func Command(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4000", "address to listen on")
	secret := fs.String("secret", os.Getenv("CHATWOOT_WEBHOOK_SECRET"), "the webhook's secret (env CHATWOOT_WEBHOOK_SECRET); or use --account and --webhook-id to fetch it")
	baseURL := fs.String("chatwoot-url", envOr("CHATWOOT_BASE_URL", chatwoot.DefaultBaseURL), "Chatwoot to fetch the secret from (env CHATWOOT_BASE_URL)")
	token := fs.String("api-access-token", "", "administrator token to fetch the secret (default env CHATWOOT_API_ACCESS_TOKEN)")
	account := fs.Int64("account", 0, "account of the webhook whose secret to fetch")
	webhookID := fs.Int64("webhook-id", 0, "webhook whose secret to fetch")
	tolerance := fs.Duration("tolerance", 5*time.Minute, "reject timestamps older or newer than this (0 = no check)")
	failFirst := fs.Int("fail-first", 0, "answer 500 to the first N attempts of each delivery, to watch retries")
	body := fs.Bool("body", false, "print every payload in full")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv("CHATWOOT_API_ACCESS_TOKEN")
	}
	if *secret == "" {
		if *account == 0 || *webhookID == 0 {
			return errors.New("no secret: pass --secret S, or --account N and --webhook-id M (with --chatwoot-url and a token) to fetch it")
		}
		s, err := fetchSecret(ctx, *baseURL, *token, *account, *webhookID)
		if err != nil {
			return err
		}
		*secret = s
	}
	if *failFirst < 0 {
		return fmt.Errorf("--fail-first is %d; use 0 or more", *failFirst)
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", *listen, err)
	}
	h := New(Options{Secret: *secret, Tolerance: *tolerance, FailFirst: *failFirst, PrintBody: *body, Out: os.Stdout})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("receiving Chatwoot webhooks at http://%s/ (signatures checked with the webhook secret)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

func fetchSecret(ctx context.Context, baseURL, token string, account, webhookID int64) (string, error) {
	c, err := chatwoot.NewClient(chatwoot.Options{BaseURL: baseURL, Token: token, MaxRetries: 2, UserAgent: version.UserAgent()})
	if err != nil {
		return "", err
	}
	hooks, err := c.ListWebhooks(ctx, account)
	if err != nil {
		return "", err
	}
	for _, w := range hooks {
		if w.ID == webhookID {
			return w.Secret, nil
		}
	}
	return "", fmt.Errorf("account %d has no webhook %d; list them with the chatwoot_webhooks data source or GET /api/v1/accounts/%d/webhooks", account, webhookID, account)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
