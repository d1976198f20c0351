package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

var (
	_ datasource.DataSource                     = (*webhookDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*webhookDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*webhookDataSource)(nil)
)

// NewWebhookDataSource is the chatwoot_webhook data source factory.
func NewWebhookDataSource() datasource.DataSource { return &webhookDataSource{} }

type webhookDataSource struct{ data *providerData }

type webhookDataSourceModel struct {
	ID            types.String `tfsdk:"id"`
	AccountID     types.Int64  `tfsdk:"account_id"`
	WebhookID     types.Int64  `tfsdk:"webhook_id"`
	URL           types.String `tfsdk:"url"`
	Name          types.String `tfsdk:"name"`
	Subscriptions types.Set    `tfsdk:"subscriptions"`
	InboxID       types.Int64  `tfsdk:"inbox_id"`
	Secret        types.String `tfsdk:"secret"`
	Relay         types.Bool   `tfsdk:"relay"`
	ChatwootURL   types.String `tfsdk:"chatwoot_url"`
}

func (d *webhookDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_webhook"
}

func (d *webhookDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One webhook of a Chatwoot account, found by `webhook_id`, by `url` (its destination) or by `chatwoot_url` (the url Chatwoot holds): exactly one of the three. Requires an administrator's access token.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<account_id>/<webhook_id>`, as in the `chatwoot_webhook` resource.",
				Computed:            true,
			},
			"account_id": schema.Int64Attribute{
				MarkdownDescription: "Account of the webhook. Defaults to the provider's `account_id`; one of the two is required.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"webhook_id": schema.Int64Attribute{
				MarkdownDescription: "Chatwoot's numeric id of the webhook to find. Exactly one of `webhook_id`, `url` and `chatwoot_url` must be set.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"url": schema.StringAttribute{
				MarkdownDescription: "Destination of the webhook to find: the address events are delivered to, by Chatwoot or, for a relayed webhook, by the relay. " +
					"Exactly one of `webhook_id`, `url` and `chatwoot_url` must be set.",
				Optional: true,
				Computed: true,
			},
			"chatwoot_url": schema.StringAttribute{
				MarkdownDescription: "The url Chatwoot holds for the webhook to find (unique per account): `url` itself, or the relay address of a relayed webhook. " +
					"Exactly one of `webhook_id`, `url` and `chatwoot_url` must be set.",
				Optional: true,
				Computed: true,
			},
			"relay": schema.BoolAttribute{MarkdownDescription: "Whether the webhook goes through the relay (its `chatwoot_url` is a relay address).", Computed: true},
			"name":  schema.StringAttribute{MarkdownDescription: "Label of the webhook; null when it has none.", Computed: true},
			"subscriptions": schema.SetAttribute{
				MarkdownDescription: "Events delivered to the webhook.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"inbox_id": schema.Int64Attribute{MarkdownDescription: "Inbox the webhook is attached to (upstream does not filter deliveries by it); null when none.", Computed: true},
			"secret":   schema.StringAttribute{MarkdownDescription: "Signing secret of the webhook.", Computed: true, Sensitive: true},
		},
	}
}

func (d *webhookDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("webhook_id"), path.MatchRoot("url"), path.MatchRoot("chatwoot_url")),
	}
}

func (d *webhookDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *webhookDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg webhookDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || !dataSourceConfigured(d.data, &resp.Diagnostics) {
		return
	}
	accountID := d.data.resolveAccount(cfg.AccountID, path.Root("account_id"), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	var (
		hook   chatwoot.Webhook
		found  bool
		err    error
		wanted string
	)
	switch {
	case !cfg.WebhookID.IsNull():
		wanted = fmt.Sprintf("id %d", cfg.WebhookID.ValueInt64())
		hook, found, err = d.data.webhooks.Find(ctx, accountID, cfg.WebhookID.ValueInt64())
	case !cfg.URL.IsNull():
		wanted = fmt.Sprintf("destination url %q", cfg.URL.ValueString())
		hook, found, err = d.data.webhooks.FindFunc(ctx, accountID, func(h chatwoot.Webhook) bool {
			dest, _ := destination(accountID, h.URL)
			return dest == cfg.URL.ValueString()
		})
	default:
		wanted = fmt.Sprintf("chatwoot_url %q", cfg.ChatwootURL.ValueString())
		hook, found, err = d.data.webhooks.FindFunc(ctx, accountID, func(h chatwoot.Webhook) bool { return h.URL == cfg.ChatwootURL.ValueString() })
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Could not list the webhooks of Chatwoot account %d", accountID), err.Error())
		return
	}
	if !found {
		resp.Diagnostics.AddError("Chatwoot webhook not found",
			fmt.Sprintf("Account %d has no webhook with %s. Check the value, the account_id and the provider's base_url.", accountID, wanted))
		return
	}

	item, diags := webhookItem(ctx, d.data, accountID, hook)
	resp.Diagnostics.Append(diags...)
	state := webhookDataSourceModel{
		ID:            item.ID,
		AccountID:     types.Int64Value(accountID),
		WebhookID:     item.WebhookID,
		URL:           item.URL,
		Name:          item.Name,
		Subscriptions: item.Subscriptions,
		InboxID:       item.InboxID,
		Secret:        item.Secret,
		Relay:         item.Relay,
		ChatwootURL:   item.ChatwootURL,
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}
