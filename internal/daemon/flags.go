package daemon

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/netguard"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/store"
)

// Environment variables the provider also reads.
const (
	EnvBaseURL = "CHATWOOT_BASE_URL"
	EnvToken   = "CHATWOOT_API_ACCESS_TOKEN"
)

// EnvAdminToken is the default of --admin-token (a flag shows in ps).
const EnvAdminToken = "CHATWOOT_DAEMON_ADMIN_TOKEN"

// Config is the daemon's configuration, from flags or built by tests.
type Config struct {
	Listen string
	// PublicURL is the base address Chatwoot reaches the relay at; empty:
	// http://<the listener's address>.
	PublicURL         string
	RelayTolerance    time.Duration
	ChatwootURL       string
	Token             string
	Accounts          []int64
	ReconcileInterval time.Duration

	Store             string
	SQLiteSynchronous string
	Retention         time.Duration // completed and cancelled deliveries
	DeadRetention     time.Duration // dead deliveries; 0 keeps them forever

	Timeout             time.Duration
	Schedule            delivery.Schedule
	AllowCIDRs          []netip.Prefix
	EndpointConcurrency int
	Workers             int
	BatchSize           int
	ShutdownTimeout     time.Duration

	LogFormat string
	LogLevel  string

	// AdminToken protects the admin API, /metrics and River's UI (see
	// admin.Gate); empty restricts them to loopback clients.
	AdminToken string
	// RiverUI mounts River's web UI at /riverui/.
	RiverUI bool

	// FetchCooldown and FetchPollInterval tune River's fetch loop; zero
	// takes the store's own (store.Tuning).
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// ParseFlags reads the daemon's command line. getenv supplies the
// defaults of --chatwoot-url and --api-access-token. Errors name the flag
// and the fix; -h returns flag.ErrHelp after printing the usage to out.
func ParseFlags(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(out)
	var (
		cfg       Config
		accounts  string
		schedule  string
		allowCIDR stringList
	)
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8787", "`address` of the HTTP API: ingest (POST /v1/accounts/{account_id}/events), /healthz, /readyz, the admin API (/v1/endpoints, /v1/deliveries), /metrics and /riverui/")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "base `URL` Chatwoot uses to reach this daemon; relayed webhooks have the url <URL>/v1/accounts/{account_id}/relay?to=<destination> (default $"+chatwoot.EnvRelayPublicURL+", else http://<--listen>). Replicas behind one load balancer share one")
	fs.DurationVar(&cfg.RelayTolerance, "relay-tolerance", 5*time.Minute, "how far X-Chatwoot-Timestamp of a relayed delivery may be from now (replayed or clock skew)")
	fs.StringVar(&cfg.ChatwootURL, "chatwoot-url", "", "Chatwoot installation `URL` (default $"+EnvBaseURL+", else "+chatwoot.DefaultBaseURL+")")
	fs.StringVar(&cfg.Token, "api-access-token", "", "an administrator's API access `token` (default $"+EnvToken+")")
	fs.StringVar(&accounts, "accounts", "", "comma-separated account `ids` to deliver for (default: every account the token administers)")
	fs.DurationVar(&cfg.ReconcileInterval, "reconcile-interval", 30*time.Second, "how often the webhooks are listed from Chatwoot")
	fs.StringVar(&cfg.Store, "store", store.DefaultURL, "durable queue: sqlite:`PATH` (one daemon), or postgres://user:password@host:5432/db?sslmode=require shared by several replicas (pool size: &pool_max_conns=N, default 10, plus 3 for the daemon's writes)")
	fs.StringVar(&cfg.SQLiteSynchronous, "sqlite-synchronous", store.SyncFull, "full: an accepted event survives power loss; normal: survives kill -9 only, faster commits")
	fs.DurationVar(&cfg.Retention, "retention", 72*time.Hour, "how long delivered and cancelled deliveries are kept (the delivery log, and the Idempotency-Key window)")
	fs.DurationVar(&cfg.DeadRetention, "dead-retention", 0, "how long dead deliveries (retries exhausted) are kept for replay; 0 keeps them forever")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "timeout of one delivery attempt (connect, TLS, request and answer)")
	fs.StringVar(&schedule, "retry-schedule", delivery.DefaultSchedule, "comma-separated `delays` between attempts (±20% jitter), or none")
	fs.Var(&allowCIDR, "allow-cidr", "allow deliveries to this non-public `CIDR` (repeatable), e.g. 127.0.0.0/8")
	fs.IntVar(&cfg.EndpointConcurrency, "endpoint-concurrency", 16, "attempts in flight per endpoint at most")
	fs.IntVar(&cfg.Workers, "workers", 1000, "attempts in flight in total at most")
	fs.IntVar(&cfg.BatchSize, "batch-size", delivery.DefaultBatchSize, "most deliveries to one endpoint, stored together, that one queue job carries to their first attempt; 1: a queue job per delivery")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long to wait for in-flight requests and attempts")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log level: trace, debug, info, warn or error")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "`token` protecting the admin API (/v1/endpoints, /v1/deliveries), /metrics and /riverui/ (default $"+EnvAdminToken+"). "+
		"The relay route and /healthz, /readyz are always open (the relay checks Chatwoot's signature). "+
		"With a token: ingest is open to loopback clients and needs the token from others; everything else needs it from every client. "+
		"Without one: ingest and everything else answer loopback clients only. "+
		"Send it as \"Authorization: Bearer TOKEN\" or as the HTTP Basic password (browsers)")
	fs.BoolVar(&cfg.RiverUI, "river-ui", true, "serve River's web UI at /riverui/ (queued, retrying and dead deliveries), behind the admin protection")
	fs.DurationVar(&cfg.FetchCooldown, "fetch-cooldown", 0, "least time between two fetches of due deliveries from the store (default 5ms on SQLite, 1ms on PostgreSQL)")
	fs.DurationVar(&cfg.FetchPollInterval, "fetch-poll-interval", 0, "most time between two fetches of due deliveries from the store (default 25ms on SQLite, 200ms on PostgreSQL, where inserts notify)")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: terraform-provider-chatwoot daemon [flags]\n"+
			"       terraform-provider-chatwoot daemon migrate --store URL   (apply the store's migrations and exit)\n\n"+
			"Delivers Chatwoot events to the account webhooks, signed like Chatwoot, durably and with retries.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q: the daemon takes flags only (see -h)", fs.Arg(0))
	}

	// Defaults from the environment are applied after parsing so that -h
	// never prints the token.
	if cfg.ChatwootURL == "" {
		cfg.ChatwootURL = getenv(EnvBaseURL)
	}
	if cfg.Token == "" {
		cfg.Token = getenv(EnvToken)
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = getenv(EnvAdminToken)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = getenv(chatwoot.EnvRelayPublicURL)
	}

	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		bad("--listen %q: expected host:port, like 127.0.0.1:8787", cfg.Listen)
	}
	if cfg.PublicURL != "" {
		if b, err := chatwoot.ParseRelayBase(cfg.PublicURL); err != nil {
			bad("--public-url: %v", err)
		} else {
			cfg.PublicURL = b
		}
	}
	if cfg.RelayTolerance <= 0 {
		bad("--relay-tolerance %s: use a positive duration like 5m", cfg.RelayTolerance)
	}
	if cfg.ChatwootURL == "" {
		cfg.ChatwootURL = chatwoot.DefaultBaseURL
	}
	if _, err := chatwoot.ParseBaseURL(cfg.ChatwootURL); err != nil {
		bad("--chatwoot-url %s: expected an absolute http(s) URL without credentials or query, like https://app.chatwoot.com", redactFlagURL(cfg.ChatwootURL))
	}
	if strings.TrimSpace(cfg.Token) == "" {
		bad("--api-access-token is required (or set $%s): an administrator's access token (Chatwoot → Profile settings → Access Token)", EnvToken)
	}
	for _, s := range strings.Split(accounts, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			bad("--accounts: %q is not an account id; give positive integers like --accounts 1,2", s)
			continue
		}
		cfg.Accounts = append(cfg.Accounts, id)
	}
	if cfg.ReconcileInterval < 100*time.Millisecond {
		bad("--reconcile-interval %s is too short; use 100ms or more (default 30s)", cfg.ReconcileInterval)
	}
	if cfg.Timeout <= 0 {
		bad("--timeout %s: use a positive duration like 10s", cfg.Timeout)
	}
	if s, err := delivery.ParseSchedule(schedule); err != nil {
		bad("--retry-schedule: %v", err)
	} else {
		cfg.Schedule = s
	}
	if p, err := netguard.ParseCIDRs(allowCIDR); err != nil {
		bad("--allow-cidr: %v", err)
	} else {
		cfg.AllowCIDRs = p
	}
	if cfg.Retention <= 0 {
		bad("--retention %s: use a positive duration like 72h", cfg.Retention)
	}
	if cfg.DeadRetention < 0 {
		bad("--dead-retention %s: use a positive duration, or 0 to keep dead deliveries forever", cfg.DeadRetention)
	}
	if cfg.EndpointConcurrency < 1 {
		bad("--endpoint-concurrency %d: use 1 or more", cfg.EndpointConcurrency)
	}
	if cfg.Workers < 1 || cfg.Workers > 10000 {
		bad("--workers %d: use 1 to 10000", cfg.Workers)
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > 1000 {
		bad("--batch-size %d: use 1 to 1000 (1: a queue job per delivery)", cfg.BatchSize)
	}
	if cfg.ShutdownTimeout <= 0 {
		bad("--shutdown-timeout %s: use a positive duration like 30s", cfg.ShutdownTimeout)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		bad("--log-format %q: use text or json", cfg.LogFormat)
	}
	if hclog.LevelFromString(cfg.LogLevel) == hclog.NoLevel {
		bad("--log-level %q: use trace, debug, info, warn or error", cfg.LogLevel)
	}
	if s := strings.ToLower(cfg.SQLiteSynchronous); s != store.SyncFull && s != store.SyncNormal {
		bad("--sqlite-synchronous %q: use full (survives power loss) or normal (survives kill -9, faster)", cfg.SQLiteSynchronous)
	}
	if t := cfg.AdminToken; t != "" && (len(t) < 16 || strings.TrimSpace(t) != t || strings.ContainsAny(t, "\r\n")) {
		bad("--admin-token: use 16 or more characters without surrounding spaces (e.g. openssl rand -hex 32)")
	}
	if cfg.FetchCooldown < 0 || cfg.FetchPollInterval < 0 || cfg.FetchPollInterval > 0 && cfg.FetchPollInterval < cfg.FetchCooldown {
		bad("--fetch-cooldown %s / --fetch-poll-interval %s: both positive, the poll interval not shorter than the cooldown", cfg.FetchCooldown, cfg.FetchPollInterval)
	}
	return cfg, errors.Join(errs...)
}

// redactFlagURL shows a refused url flag without what may be secret in it:
// credentials and the query are masked, an unparseable value is not shown.
func redactFlagURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL; not shown, it may hold a secret)"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" {
		u.RawQuery = "xxxxx"
	}
	u.Fragment = ""
	return strconv.Quote(u.String())
}
