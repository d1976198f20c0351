// Command terraform-provider-chatwoot is the Chatwoot Terraform provider
// and, through subcommands, the tools around it: a Chatwoot-faithful mock
// API and the webhook delivery daemon.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/daemon"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/emit"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/receiver"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/version"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/provider"
)

// command runs one subcommand until ctx ends (SIGINT/SIGTERM).
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{
	"mock-api": {"run the Chatwoot-faithful mock API", mockapi.Command},
	"daemon":   {"run the webhook delivery daemon", daemon.Command},
	"emit":     {"send a sample message_created through the daemon", emit.Command},
	"receive":  {"run a receiver that verifies webhook signatures", receiver.Command},
}

func main() {
	if len(os.Args) > 1 && os.Args[1] != "" && os.Args[1][0] != '-' {
		os.Exit(runCommand(os.Args[1], os.Args[2:]))
	}
	debug := flag.Bool("debug", false, "serve the provider for a debugger (prints TF_REATTACH_PROVIDERS)")
	flag.Usage = usage
	flag.Parse()
	quietSDKLogs(os.LookupEnv, os.Setenv)
	err := providerserver.Serve(context.Background(), provider.New(version.Version), providerserver.ServeOpts{
		Address: "registry.terraform.io/chatwoot-tf/chatwoot",
		Debug:   *debug,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// sdkLogVars are the levels of terraform-plugin-go's and the framework's own
// logs. Unset, they log every RPC at TRACE to Terraform, which parses each
// line and, without TF_LOG, throws it away: half of a 300-webhook plan's
// time (docs/guides/provider-performance.md).
var sdkLogVars = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}

// logVars are the variables that mean someone reads provider logs; with any
// of them set the SDK logs are left as they are.
var logVars = []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_CHATWOOT", "TF_LOG_PATH", "TF_LOG_PATH_MASK", "TF_ACC_LOG_PATH"}

// quietSDKLogs turns the SDK's trace logs off when nobody asked for logs.
func quietSDKLogs(lookup func(string) (string, bool), set func(string, string) error) {
	for _, k := range append(append([]string{}, logVars...), sdkLogVars...) {
		if v, ok := lookup(k); ok && v != "" {
			return
		}
	}
	for _, k := range sdkLogVars {
		_ = set(k, "off")
	}
}

func runCommand(name string, args []string) int {
	if name == "help" {
		usage()
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n", name)
		usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

func usage() {
	fmt.Fprintf(os.Stderr, "Usage:\n  terraform-provider-chatwoot [-debug]    serve the Terraform provider (run by terraform)\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  terraform-provider-chatwoot %-10s   %s\n", n, commands[n].summary)
	}
}
