package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ ephemeral.EphemeralResource              = (*webhookSecretEphemeralResource)(nil)
	_ ephemeral.EphemeralResourceWithConfigure = (*webhookSecretEphemeralResource)(nil)
)

// NewWebhookSecretEphemeralResource is the chatwoot_webhook_secret factory.
func NewWebhookSecretEphemeralResource() ephemeral.EphemeralResource {
	return &webhookSecretEphemeralResource{}
}

type webhookSecretEphemeralResource struct{ data *providerData }

type webhookSecretModel struct {
	AccountID types.Int64  `tfsdk:"account_id"`
	WebhookID types.Int64  `tfsdk:"webhook_id"`
	Secret    types.String `tfsdk:"secret"`
}

func (e *webhookSecretEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_webhook_secret"
}

func (e *webhookSecretEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The signing secret of a webhook, read at plan and apply time and never written to state or plan: " +
			"feed it to write-only arguments of other providers (a secrets manager's `secret_string_wo`). " +
			"With the provider's `store_secrets = false` it is the only way to get a secret into Terraform. Requires Terraform 1.10+ or OpenTofu 1.11+.",
		Attributes: map[string]schema.Attribute{
			"account_id": schema.Int64Attribute{
				MarkdownDescription: "Account of the webhook. Defaults to the provider's `account_id`; one of the two is required.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"webhook_id": schema.Int64Attribute{
				MarkdownDescription: "Chatwoot's numeric id of the webhook, such as `chatwoot_webhook.x.webhook_id`.",
				Required:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"secret": schema.StringAttribute{
				MarkdownDescription: "The webhook's signing secret.",
				Computed:            true,
				Sensitive:           true,
			},
		},
	}
}

func (e *webhookSecretEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	e.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (e *webhookSecretEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var cfg webhookSecretModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || !dataSourceConfigured(e.data, &resp.Diagnostics) {
		return
	}
	accountID := e.data.resolveAccount(cfg.AccountID, path.Root("account_id"), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	hook, found, err := e.data.webhooks.Find(ctx, accountID, cfg.WebhookID.ValueInt64())
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Could not list the webhooks of Chatwoot account %d", accountID), err.Error())
		return
	}
	if !found {
		resp.Diagnostics.AddAttributeError(path.Root("webhook_id"), "Chatwoot webhook not found",
			fmt.Sprintf("Account %d has no webhook %d. Check webhook_id, account_id and the provider's base_url.", accountID, cfg.WebhookID.ValueInt64()))
		return
	}
	cfg.AccountID = types.Int64Value(accountID)
	cfg.Secret = types.StringValue(hook.Secret)
	resp.Diagnostics.Append(resp.Result.Set(ctx, cfg)...)
}
