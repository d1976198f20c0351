package daemon

import (
	"errors"
	"flag"
	"io"
	"math"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/delivery"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseFlagsDefaults(t *testing.T) {
	cfg, err := ParseFlags(nil, env(map[string]string{EnvToken: "tok", EnvBaseURL: "http://chatwoot.local:3000"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8787" || cfg.Token != "tok" || cfg.ChatwootURL != "http://chatwoot.local:3000" ||
		cfg.ReconcileInterval != 30*time.Second || cfg.Timeout != 10*time.Second || cfg.Store != "sqlite:./chatwoot-deliveries.db" ||
		cfg.Schedule.String() != "5s,5m0s,30m0s,2h0m0s,5h0m0s,10h0m0s,10h0m0s" || cfg.SQLiteSynchronous != "full" || len(cfg.AllowCIDRs) != 0 || cfg.BatchSize != delivery.DefaultBatchSize {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg, err = ParseFlags([]string{"--api-access-token", "flag-tok", "--accounts", "1, 2", "--allow-cidr", "127.0.0.0/8", "--allow-cidr", "10.0.0.0/8,::1/128", "--retry-schedule", "100ms,1s"},
		env(map[string]string{EnvToken: "env-tok"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Token != "flag-tok" || len(cfg.Accounts) != 2 || len(cfg.AllowCIDRs) != 3 || cfg.Schedule.MaxAttempts() != 3 || cfg.ChatwootURL != "https://app.chatwoot.com" {
		t.Fatalf("flags: %+v", cfg)
	}
}

func TestParseFlagsErrorsNameTheFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "--api-access-token is required"},
		{[]string{"--api-access-token", "t", "--accounts", "1,x"}, `--accounts: "x"`},
		{[]string{"--api-access-token", "t", "--retry-schedule", "5s,soon"}, "--retry-schedule"},
		{[]string{"--api-access-token", "t", "--allow-cidr", "localhost"}, "--allow-cidr"},
		{[]string{"--api-access-token", "t", "--listen", "8787"}, "--listen"},
		{[]string{"--api-access-token", "t", "--chatwoot-url", "chatwoot.local"}, "--chatwoot-url"},
		{[]string{"--api-access-token", "t", "--log-format", "xml"}, "--log-format"},
		{[]string{"--api-access-token", "t", "--sqlite-synchronous", "off"}, "--sqlite-synchronous"},
		{[]string{"--api-access-token", "t", "--timeout", "0s"}, "--timeout"},
		{[]string{"--api-access-token", "t", "--batch-size", "0"}, "--batch-size 0: use 1 to 1000"},
		{[]string{"--api-access-token", "t", "extra"}, "unexpected argument"},
		{[]string{"--api-access-token", "t", "--timeout", "soon"}, "invalid value"},
		{[]string{"--api-access-token", "t", "--admin-token", "short"}, "--admin-token: use 16 or more characters"},
		{[]string{"--api-access-token", "t", "--admin-token", " padded-token-1234567 "}, "--admin-token"},
		{[]string{"--api-access-token", "t", "--public-url", "relay.example.com"}, "--public-url: not an absolute http(s) url"},
		{[]string{"--api-access-token", "t", "--public-url", "https://relay.example.com/?x=1"}, "--public-url: https://relay.example.com/ has a query"},
		{[]string{"--api-access-token", "t", "--relay-tolerance", "0s"}, "--relay-tolerance 0s"},
	}
	for _, tt := range tests {
		_, err := ParseFlags(tt.args, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// TestFlagErrorsNeverShowSecrets: a refused url flag is shown without its
// credentials and query, as the logs would show it.
func TestFlagErrorsNeverShowSecrets(t *testing.T) {
	for _, args := range [][]string{
		{"--chatwoot-url", "http://user:hunter2-secret@chatwoot.example/?x=hunter2-secret"},
		{"--chatwoot-url", "ftp://hunter2-secret@chatwoot.example"},
		{"--chatwoot-url", "http://[::1:hunter2-secret"},
		{"--public-url", "https://user:hunter2-secret@relay.example.com"},
		{"--public-url", "https://relay.example.com/?token=hunter2-secret"},
		{"--public-url", "relay.example.com/hunter2-secret"},
	} {
		_, err := ParseFlags(append([]string{"--api-access-token", "t"}, args...), env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("ParseFlags(%q) = %v, want an error naming %s", args, err, args[0])
			continue
		}
		if strings.Contains(err.Error(), "hunter2-secret") {
			t.Errorf("ParseFlags(%q) error shows the secret: %v", args, err)
		}
	}
}

// TestParseFlagsAdminToken: the admin token comes from the flag or the
// environment; River's UI is on by default.
func TestParseFlagsAdminToken(t *testing.T) {
	cfg, err := ParseFlags([]string{"--api-access-token", "t"}, env(map[string]string{EnvAdminToken: "env-admin-token-123456"}), io.Discard)
	if err != nil || cfg.AdminToken != "env-admin-token-123456" || !cfg.RiverUI {
		t.Fatalf("env admin token: %+v %v", cfg, err)
	}
	cfg, err = ParseFlags([]string{"--api-access-token", "t", "--admin-token", "flag-admin-token-1234", "--river-ui=false"}, env(map[string]string{EnvAdminToken: "env-admin-token-123456"}), io.Discard)
	if err != nil || cfg.AdminToken != "flag-admin-token-1234" || cfg.RiverUI {
		t.Fatalf("flag admin token: %+v %v", cfg, err)
	}
}

func TestHelpNeverPrintsTheToken(t *testing.T) {
	var out strings.Builder
	_, err := ParseFlags([]string{"-h"}, env(map[string]string{EnvToken: "super-secret-token", EnvAdminToken: "super-secret-admin-token"}), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h = %v", err)
	}
	if strings.Contains(out.String(), "super-secret") || !strings.Contains(out.String(), "--retry-schedule") && !strings.Contains(out.String(), "-retry-schedule") {
		t.Fatalf("usage leaks the token or misses flags:\n%s", out.String())
	}
}

// TestGCPercent: the daemon collects at GCPercent and MemoryLimit unless
// GOGC or GOMEMLIMIT is set.
func TestGCPercent(t *testing.T) {
	before, beforeLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(before); debug.SetMemoryLimit(beforeLimit) })
	for _, tc := range []struct {
		name      string
		env       map[string]string
		want      int
		wantLimit int64
	}{
		{"unset", nil, GCPercent, MemoryLimit},
		// the runtime applied them at start
		{"GOGC set", map[string]string{"GOGC": "100"}, 100, MemoryLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, GCPercent, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			setGCPercent(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("GC percent %d, want %d", got, tc.want)
			}
			if got := debug.SetMemoryLimit(math.MaxInt64); got != tc.wantLimit {
				t.Errorf("memory limit %d, want %d", got, tc.wantLimit)
			}
		})
	}
}
