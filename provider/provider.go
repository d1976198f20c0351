// Package provider is the chatwoot Terraform provider: it maps the
// chatwoot_webhook resource and the webhook data sources onto Chatwoot's
// account API through the shared internal/chatwoot client.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/version"
)

// Environment variables read when the matching attribute is not set.
const (
	EnvBaseURL        = "CHATWOOT_BASE_URL"
	EnvAPIAccessToken = "CHATWOOT_API_ACCESS_TOKEN"
	EnvAccountID      = "CHATWOOT_ACCOUNT_ID"
	EnvRelayURL       = chatwoot.EnvRelayURL
)

// Defaults of the optional provider arguments.
const (
	defaultRequestTimeout = 30 * time.Second
	defaultMaxRetries     = 4
)

var (
	_ provider.Provider                       = (*chatwootProvider)(nil)
	_ provider.ProviderWithEphemeralResources = (*chatwootProvider)(nil)
)

// chatwootProvider is one provider instance; terraform starts one per
// process, and Configure builds the client and webhook cache it hands to
// resources and data sources.
type chatwootProvider struct {
	version string

	// Backoff bounds for retries; zero keeps the client's defaults. Only
	// tests shorten them, which is why they are not schema attributes.
	retryWaitMin, retryWaitMax time.Duration
	// transport replaces the HTTP transport (tests that lose answers).
	transport http.RoundTripper
}

// New returns the provider factory that main serves.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &chatwootProvider{version: version} }
}

// providerModel is the provider block.
type providerModel struct {
	BaseURL        types.String `tfsdk:"base_url"`
	APIAccessToken types.String `tfsdk:"api_access_token"`
	AccountID      types.Int64  `tfsdk:"account_id"`
	RequestTimeout types.String `tfsdk:"request_timeout"`
	MaxRetries     types.Int64  `tfsdk:"max_retries"`
	RelayURL       types.String `tfsdk:"relay_url"`
	StoreSecrets   types.Bool   `tfsdk:"store_secrets"`
}

// providerData is what resources and data sources receive from Configure.
type providerData struct {
	client   *chatwoot.Client
	webhooks *webhookCache
	// accountID is the provider's default account, 0 when none is set.
	accountID int64
	// relayURL is the relay's base address as Chatwoot reaches it; "" when none.
	relayURL string
	// roles are the token's roles by account, from GET /api/v1/profile.
	roles map[int64]string
	// user names the token's user in errors (never the token).
	user string
	// storeSecrets is false when webhook secrets stay out of state and plan.
	storeSecrets bool
}

func (p *chatwootProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "chatwoot"
	resp.Version = p.version
}

func (p *chatwootProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages [Chatwoot](https://www.chatwoot.com) account webhooks through Chatwoot's account API. " +
			"The access token must belong to an **administrator** of the accounts it manages: Chatwoot lets only administrators list, create, update or delete webhooks.",
		Attributes: map[string]schema.Attribute{
			"base_url": schema.StringAttribute{
				MarkdownDescription: "Address of the Chatwoot installation, an absolute `http`/`https` URL without query or fragment. " +
					"Defaults to the `" + EnvBaseURL + "` environment variable, then to `" + chatwoot.DefaultBaseURL + "` (Chatwoot Cloud).",
				Optional:   true,
				Validators: []validator.String{baseURLValidator{}},
			},
			"api_access_token": schema.StringAttribute{
				MarkdownDescription: "Access token of an account administrator (Chatwoot → Profile settings → Access Token), sent as the `api_access_token` header. " +
					"Defaults to the `" + EnvAPIAccessToken + "` environment variable; one of the two is required. It never appears in logs.",
				Optional:  true,
				Sensitive: true,
			},
			"account_id": schema.Int64Attribute{
				MarkdownDescription: "Default account for resources and data sources that do not set their own `account_id`. " +
					"Defaults to the `" + EnvAccountID + "` environment variable.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"request_timeout": schema.StringAttribute{
				MarkdownDescription: "Time limit of one HTTP attempt, as a Go duration such as `30s` or `1m`. Defaults to `" + defaultRequestTimeout.String() + "`.",
				Optional:            true,
				Validators:          []validator.String{durationValidator{}},
			},
			"relay_url": schema.StringAttribute{
				MarkdownDescription: "Base address of the delivery daemon's relay **as Chatwoot reaches it**, such as `https://relay.example.com`. " +
					"A `chatwoot_webhook` with `relay = true` is registered in Chatwoot at `<relay_url>/v1/accounts/<account_id>/relay?to=<url>`: " +
					"Chatwoot delivers to the relay, which verifies Chatwoot's signature, stores the event and delivers it to `url` with retries, under Chatwoot's own delivery id and signature. " +
					"Defaults to the `" + EnvRelayURL + "` environment variable. Changing it updates every relayed webhook in place.",
				Optional:   true,
				Validators: []validator.String{relayURLValidator{}},
			},
			"store_secrets": schema.BoolAttribute{
				MarkdownDescription: "Whether `chatwoot_webhook` and the data sources keep each webhook's signing `secret` in the state. " +
					"Defaults to `true`. With `false` the `secret` attribute stays null in state and plan, and the ephemeral resource " +
					"`chatwoot_webhook_secret` reads it at plan and apply time without persisting it, for write-only arguments of other providers " +
					"(a secrets manager's `secret_string_wo`).",
				Optional: true,
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many times a request is retried after a `429` or `5xx` answer or a connection error, "+
					"with exponential backoff and jitter that honours `Retry-After`. `0` disables retries. Defaults to `%d`.", defaultMaxRetries),
				Optional:   true,
				Validators: []validator.Int64{int64validator.Between(0, 20)},
			},
		},
	}
}

func (p *chatwootProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	unknown := map[string]bool{
		"base_url":         cfg.BaseURL.IsUnknown(),
		"api_access_token": cfg.APIAccessToken.IsUnknown(),
		"account_id":       cfg.AccountID.IsUnknown(),
		"request_timeout":  cfg.RequestTimeout.IsUnknown(),
		"max_retries":      cfg.MaxRetries.IsUnknown(),
		"relay_url":        cfg.RelayURL.IsUnknown(),
		"store_secrets":    cfg.StoreSecrets.IsUnknown(),
	}
	for name, isUnknown := range unknown {
		if !isUnknown {
			continue
		}
		// Terraform versions that support deferred actions plan the rest
		// first and come back once the value is known.
		if req.ClientCapabilities.DeferralAllowed {
			resp.Deferred = &provider.Deferred{Reason: provider.DeferredReasonProviderConfigUnknown}
			return
		}
		resp.Diagnostics.AddAttributeError(path.Root(name), "Unknown Chatwoot provider "+name,
			fmt.Sprintf("The provider cannot build its Chatwoot client because %s is unknown until apply. "+
				"Set it to a value known at plan time (a literal, a variable or an environment variable), "+
				"or apply the resources it depends on first with -target.", name))
	}
	if resp.Diagnostics.HasError() {
		return
	}

	baseURL := stringOrEnv(cfg.BaseURL, EnvBaseURL, chatwoot.DefaultBaseURL)
	if u, dropped, err := chatwoot.NormalizeBaseURL(baseURL); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("base_url"), "Invalid Chatwoot base URL",
			fmt.Sprintf("base_url (or %s) must be the absolute http(s) address of a Chatwoot installation, like https://app.chatwoot.com: %s", EnvBaseURL, err))
	} else if dropped != "" {
		resp.Diagnostics.AddAttributeWarning(path.Root("base_url"), "Path dropped from base_url",
			fmt.Sprintf("base_url ends in %s, a path of Chatwoot's own routes (copied from the browser or the API docs?); "+
				"the provider uses %s. Set base_url to that to silence this warning.", dropped, u))
	}

	token := stringOrEnv(cfg.APIAccessToken, EnvAPIAccessToken, "")
	if strings.TrimSpace(token) == "" {
		resp.Diagnostics.AddAttributeError(path.Root("api_access_token"), "Missing Chatwoot API access token",
			fmt.Sprintf("Set api_access_token in the provider block or the %s environment variable to the access token of an account administrator "+
				"(Chatwoot → Profile settings → Access Token).", EnvAPIAccessToken))
	}

	var accountID int64
	switch {
	case !cfg.AccountID.IsNull():
		accountID = cfg.AccountID.ValueInt64()
	case os.Getenv(EnvAccountID) != "":
		raw := os.Getenv(EnvAccountID)
		id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || id < 1 {
			resp.Diagnostics.AddAttributeError(path.Root("account_id"), "Invalid "+EnvAccountID,
				fmt.Sprintf("The %s environment variable is %q; it must be a positive account number such as 1 "+
					"(the number after /app/accounts/ in Chatwoot's address bar). Fix or unset it, or set account_id in the provider block.", EnvAccountID, raw))
		}
		accountID = id
	}

	relayURL := stringOrEnv(cfg.RelayURL, EnvRelayURL, "")
	if relayURL != "" {
		base, err := chatwoot.ParseRelayBase(relayURL)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("relay_url"), "Invalid relay URL",
				fmt.Sprintf("relay_url (or %s) must be the relay's base address as Chatwoot reaches it, like https://relay.example.com: %s", EnvRelayURL, err))
		}
		relayURL = base
	}

	timeout := defaultRequestTimeout
	if !cfg.RequestTimeout.IsNull() {
		// The validator has already refused bad durations.
		timeout, _ = time.ParseDuration(cfg.RequestTimeout.ValueString())
	}
	maxRetries := int64(defaultMaxRetries)
	if !cfg.MaxRetries.IsNull() {
		maxRetries = cfg.MaxRetries.ValueInt64()
	}
	if resp.Diagnostics.HasError() {
		return
	}

	client, err := chatwoot.NewClient(chatwoot.Options{
		BaseURL:      baseURL,
		Token:        token,
		Timeout:      timeout,
		MaxRetries:   int(maxRetries),
		RetryWaitMin: p.retryWaitMin,
		RetryWaitMax: p.retryWaitMax,
		Transport:    p.transport,
		UserAgent:    version.UserAgent() + " terraform/" + req.TerraformVersion,
		Logger:       tflogLogger{token: token},
	})
	if err != nil {
		resp.Diagnostics.AddError("Cannot configure the Chatwoot client", err.Error())
		return
	}
	tflog.Debug(ctx, "configured the Chatwoot client", map[string]any{
		"base_url": client.BaseURL(), "account_id": accountID, "request_timeout": timeout.String(), "max_retries": maxRetries,
	})

	// One request checks, at plan time, what would otherwise fail only at
	// apply, after review: the address, the token, and its role.
	profile, err := client.Profile(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot use the Chatwoot API at "+client.BaseURL(), profileAdvice(err, client.BaseURL()))
		return
	}
	data := &providerData{client: client, webhooks: newWebhookCache(client), accountID: accountID, relayURL: relayURL,
		roles: map[int64]string{}, user: profile.Email, storeSecrets: cfg.StoreSecrets.IsNull() || cfg.StoreSecrets.ValueBool()}
	for _, a := range profile.Accounts {
		data.roles[a.ID] = a.Role
	}
	if accountID != 0 {
		if msg := data.adminProblem(accountID); msg != "" {
			resp.Diagnostics.AddAttributeError(path.Root("account_id"), "Token cannot manage webhooks of account "+strconv.FormatInt(accountID, 10), msg)
			return
		}
	}
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
}

func (p *chatwootProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewWebhookResource}
}

func (p *chatwootProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewWebhooksDataSource, NewWebhookDataSource}
}

func (p *chatwootProvider) EphemeralResources(context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{NewWebhookSecretEphemeralResource}
}

// secretValue is what a webhook's secret is in state: the secret, or null
// with store_secrets = false.
func (pd *providerData) secretValue(secret string) types.String {
	if !pd.storeSecrets {
		return types.StringNull()
	}
	return types.StringValue(secret)
}

// profileAdvice says what a failed GET /api/v1/profile means for the user.
func profileAdvice(err error, baseURL string) string {
	var apiErr *chatwoot.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized:
		return fmt.Sprintf("Chatwoot at %s refused the API access token (%q): it is unknown there, or revoked. "+
			"Set api_access_token (or %s) to the access token of an account administrator of this installation (Profile settings → Access Token).",
			baseURL, apiErr.Body.Text(), EnvAPIAccessToken)
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound:
		return fmt.Sprintf("%s answered 404 to GET /api/v1/profile: it does not look like a Chatwoot installation. Check base_url (or %s).", baseURL, EnvBaseURL)
	case errors.As(err, &apiErr):
		return fmt.Sprintf("GET /api/v1/profile answered %d: %v. Check base_url (or %s), and that Chatwoot is up.", apiErr.StatusCode, err, EnvBaseURL)
	}
	return fmt.Sprintf("Nothing usable answered at %s: %v. Check base_url (or %s) and the network; the plan stops here rather than failing at apply.", baseURL, err, EnvBaseURL)
}

// adminProblem says why the token cannot manage account's webhooks, or "".
func (pd *providerData) adminProblem(account int64) string {
	switch role, member := pd.roles[account]; {
	case !member:
		return fmt.Sprintf("The token's user (%s) is not a member of account %d; only its administrators may manage its webhooks. "+
			"Check account_id, or use a token of an administrator of account %d.", pd.user, account, account)
	case role != chatwoot.RoleAdministrator:
		return fmt.Sprintf("The token's user (%s) is an %s of account %d, not an administrator: Chatwoot lets only administrators list, create, update or delete webhooks. "+
			"Use an administrator's access token.", pd.user, role, account)
	}
	return ""
}

// stringOrEnv returns the configured value, else the environment
// variable, else def.
func stringOrEnv(v types.String, env, def string) string {
	if !v.IsNull() {
		return v.ValueString()
	}
	if e := os.Getenv(env); e != "" {
		return e
	}
	return def
}

// providerDataFrom unpacks what Configure produced; nil (without an error)
// when the provider is not configured yet, as during validation.
func providerDataFrom(data any, diags interface{ AddError(string, string) }) *providerData {
	if data == nil {
		return nil
	}
	pd, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the chatwoot provider; please report it.", data))
		return nil
	}
	return pd
}

// resolveAccount picks the resource's own account_id, else the provider's.
// It returns 0 after adding an error when neither is set.
func (pd *providerData) resolveAccount(v types.Int64, attr path.Path, diags interface {
	AddAttributeError(path.Path, string, string)
}) int64 {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueInt64()
	}
	if pd != nil && pd.accountID != 0 {
		return pd.accountID
	}
	diags.AddAttributeError(attr, "Missing Chatwoot account",
		"No account_id: set account_id here or in the provider block (or the "+EnvAccountID+" environment variable).")
	return 0
}
