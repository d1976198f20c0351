package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

var (
	_ datasource.DataSource              = (*webhooksDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*webhooksDataSource)(nil)
)

// NewWebhooksDataSource is the chatwoot_webhooks data source factory.
func NewWebhooksDataSource() datasource.DataSource { return &webhooksDataSource{} }

type webhooksDataSource struct{ data *providerData }

type webhooksDataSourceModel struct {
	AccountID types.Int64  `tfsdk:"account_id"`
	Event     types.String `tfsdk:"event"`
	Webhooks  types.List   `tfsdk:"webhooks"`
}

// webhookItemModel is one element of chatwoot_webhooks.webhooks.
type webhookItemModel struct {
	ID            types.String `tfsdk:"id"`
	WebhookID     types.Int64  `tfsdk:"webhook_id"`
	URL           types.String `tfsdk:"url"`
	Name          types.String `tfsdk:"name"`
	Subscriptions types.Set    `tfsdk:"subscriptions"`
	InboxID       types.Int64  `tfsdk:"inbox_id"`
	Secret        types.String `tfsdk:"secret"`
	Relay         types.Bool   `tfsdk:"relay"`
	ChatwootURL   types.String `tfsdk:"chatwoot_url"`
}

var webhookItemType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"id":            types.StringType,
	"webhook_id":    types.Int64Type,
	"url":           types.StringType,
	"name":          types.StringType,
	"subscriptions": types.SetType{ElemType: types.StringType},
	"inbox_id":      types.Int64Type,
	"secret":        types.StringType,
	"relay":         types.BoolType,
	"chatwoot_url":  types.StringType,
}}

func (d *webhooksDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_webhooks"
}

func (d *webhooksDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Every webhook of a Chatwoot account, optionally only those subscribed to one event. Requires an administrator's access token.",
		Attributes: map[string]schema.Attribute{
			"account_id": schema.Int64Attribute{
				MarkdownDescription: "Account to list. Defaults to the provider's `account_id`; one of the two is required.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"event": schema.StringAttribute{
				MarkdownDescription: "Only list webhooks subscribed to this event, one of `" + strings.Join(chatwoot.AllowedEvents, "`, `") + "`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(chatwoot.AllowedEvents...)},
			},
			"webhooks": schema.ListNestedAttribute{
				MarkdownDescription: "The webhooks, in ascending `webhook_id` order.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":         schema.StringAttribute{MarkdownDescription: "`<account_id>/<webhook_id>`, as in the `chatwoot_webhook` resource.", Computed: true},
					"webhook_id": schema.Int64Attribute{MarkdownDescription: "Chatwoot's numeric id of the webhook.", Computed: true},
					"url":        schema.StringAttribute{MarkdownDescription: "Destination of the webhook: where Chatwoot delivers, or for a relayed webhook where the relay delivers.", Computed: true},
					"relay":      schema.BoolAttribute{MarkdownDescription: "Whether the webhook goes through the relay (its `chatwoot_url` is a relay address).", Computed: true},
					"chatwoot_url": schema.StringAttribute{
						MarkdownDescription: "The url Chatwoot holds: `url` itself, or the relay address of a relayed webhook.",
						Computed:            true,
					},
					"name": schema.StringAttribute{MarkdownDescription: "Label of the webhook; null when it has none.", Computed: true},
					"subscriptions": schema.SetAttribute{
						MarkdownDescription: "Events delivered to the webhook.",
						ElementType:         types.StringType,
						Computed:            true,
					},
					"inbox_id": schema.Int64Attribute{MarkdownDescription: "Inbox the webhook is attached to (upstream does not filter deliveries by it); null when none.", Computed: true},
					"secret":   schema.StringAttribute{MarkdownDescription: "Signing secret of the webhook.", Computed: true, Sensitive: true},
				}},
			},
		},
	}
}

func (d *webhooksDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *webhooksDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg webhooksDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || !dataSourceConfigured(d.data, &resp.Diagnostics) {
		return
	}
	accountID := d.data.resolveAccount(cfg.AccountID, path.Root("account_id"), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	hooks, err := d.data.webhooks.List(ctx, accountID)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Could not list the webhooks of Chatwoot account %d", accountID), err.Error())
		return
	}
	hooks = slices.Clone(hooks)
	slices.SortFunc(hooks, func(a, b chatwoot.Webhook) int { return int(a.ID - b.ID) })

	items := make([]webhookItemModel, 0, len(hooks))
	for _, h := range hooks {
		if !cfg.Event.IsNull() && !h.Subscribed(cfg.Event.ValueString()) {
			continue
		}
		item, diags := webhookItem(ctx, d.data, accountID, h)
		resp.Diagnostics.Append(diags...)
		items = append(items, item)
	}
	list, diags := types.ListValueFrom(ctx, webhookItemType, items)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg.AccountID = types.Int64Value(accountID)
	cfg.Webhooks = list
	resp.Diagnostics.Append(resp.State.Set(ctx, cfg)...)
}

func webhookItem(ctx context.Context, pd *providerData, accountID int64, h chatwoot.Webhook) (webhookItemModel, diag.Diagnostics) {
	subs, diags := subscriptionSet(ctx, h.Subscriptions)
	dest, relayed := destination(accountID, h.URL)
	return webhookItemModel{
		ID:            types.StringValue(webhookStateID(accountID, h.ID)),
		WebhookID:     types.Int64Value(h.ID),
		URL:           types.StringValue(dest),
		Relay:         types.BoolValue(relayed),
		ChatwootURL:   types.StringValue(h.URL),
		Name:          optionalString(h.Name),
		Subscriptions: subs,
		InboxID:       optionalInt64(h.InboxID()),
		Secret:        pd.secretValue(h.Secret),
	}, diags
}

func dataSourceConfigured(pd *providerData, diags *diag.Diagnostics) bool {
	if pd == nil {
		diags.AddError("Chatwoot provider not configured",
			"The chatwoot provider was not configured before use. This is a bug in the provider or in Terraform; please report it.")
		return false
	}
	return true
}
