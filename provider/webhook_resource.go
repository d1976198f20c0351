package provider

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

var (
	_ resource.Resource                = (*webhookResource)(nil)
	_ resource.ResourceWithConfigure   = (*webhookResource)(nil)
	_ resource.ResourceWithImportState = (*webhookResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*webhookResource)(nil)
	_ resource.ResourceWithIdentity    = (*webhookResource)(nil)
)

// webhookIdentity is the resource identity (Terraform 1.12+, OpenTofu
// 1.12+): what names a webhook for import blocks and tooling.
type webhookIdentity struct {
	AccountID types.Int64 `tfsdk:"account_id"`
	WebhookID types.Int64 `tfsdk:"webhook_id"`
}

func (r *webhookResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"account_id": identityschema.Int64Attribute{
				Description:       "Account that owns the webhook.",
				RequiredForImport: true,
			},
			"webhook_id": identityschema.Int64Attribute{
				Description:       "Chatwoot's numeric id of the webhook.",
				RequiredForImport: true,
			},
		},
	}
}

// setIdentity records the identity of the webhook m; identity is nil
// where the CLI has no resource identities (before Terraform 1.12).
func setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, m webhookResourceModel) diag.Diagnostics {
	if identity == nil {
		return nil
	}
	return identity.Set(ctx, webhookIdentity{AccountID: m.AccountID, WebhookID: m.WebhookID})
}

// NewWebhookResource is the chatwoot_webhook resource factory.
func NewWebhookResource() resource.Resource { return &webhookResource{} }

type webhookResource struct{ data *providerData }

type webhookResourceModel struct {
	ID            types.String `tfsdk:"id"`
	WebhookID     types.Int64  `tfsdk:"webhook_id"`
	AccountID     types.Int64  `tfsdk:"account_id"`
	URL           types.String `tfsdk:"url"`
	Name          types.String `tfsdk:"name"`
	Subscriptions types.Set    `tfsdk:"subscriptions"`
	InboxID       types.Int64  `tfsdk:"inbox_id"`
	Secret        types.String `tfsdk:"secret"`
	Relay         types.Bool   `tfsdk:"relay"`
	ChatwootURL   types.String `tfsdk:"chatwoot_url"`
}

func (m webhookResourceModel) equal(o webhookResourceModel) bool {
	return m.ID.Equal(o.ID) && m.WebhookID.Equal(o.WebhookID) && m.AccountID.Equal(o.AccountID) &&
		m.URL.Equal(o.URL) && m.Name.Equal(o.Name) && m.Subscriptions.Equal(o.Subscriptions) &&
		m.InboxID.Equal(o.InboxID) && m.Secret.Equal(o.Secret) && m.Relay.Equal(o.Relay) && m.ChatwootURL.Equal(o.ChatwootURL)
}

func (r *webhookResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_webhook"
}

func (r *webhookResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An account webhook: Chatwoot POSTs a signed JSON payload to `url` for every event in `subscriptions`. " +
			"Requires an administrator's access token. `url`, `name`, `subscriptions` and `inbox_id` change in place; changing `account_id` replaces the webhook.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<account_id>/<webhook_id>`, the form `terraform import` accepts.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"webhook_id": schema.Int64Attribute{
				MarkdownDescription: "Chatwoot's numeric id of the webhook.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"account_id": schema.Int64Attribute{
				MarkdownDescription: "Account that owns the webhook. Defaults to the provider's `account_id`; one of the two is required. Changing it replaces the webhook.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
				PlanModifiers: []planmodifier.Int64{
					// A computed account stays put; ModifyPlan compares it with
					// the provider's default.
					int64planmodifier.UseStateForUnknown(),
					int64planmodifier.RequiresReplace(),
				},
			},
			"url": schema.StringAttribute{
				MarkdownDescription: "Absolute `http` or `https` address the events are delivered to: by Chatwoot itself, or by the relay when `relay` is true. Unique per account: Chatwoot refuses a second webhook with the same url.",
				Required:            true,
				Validators:          []validator.String{webhookURLValidator{}},
			},
			"relay": schema.BoolAttribute{
				MarkdownDescription: "Deliver through the relay of the delivery daemon: Chatwoot delivers each event once to the relay (at `chatwoot_url`), which stores it and delivers it to `url` with retries, " +
					"under Chatwoot's own `X-Chatwoot-Delivery` id and signed with this webhook's `secret`, so the receiver sees what Chatwoot would have sent it. " +
					"Needs the provider's `relay_url`. Turning it on or off updates the webhook in place: same `webhook_id`, same `secret`. Defaults to `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"chatwoot_url": schema.StringAttribute{
				MarkdownDescription: "The url Chatwoot holds for the webhook: `url` itself, or with `relay` the relay address `<relay_url>/v1/accounts/<account_id>/relay?to=<url, percent-encoded>`.",
				Computed:            true,
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Label shown in Chatwoot's integrations page.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"subscriptions": schema.SetAttribute{
				MarkdownDescription: "Events delivered to the webhook, at least one of `" + strings.Join(chatwoot.AllowedEvents, "`, `") + "`. " +
					"Omitted, it is Chatwoot's default eight (`" + strings.Join(chatwoot.DefaultSubscriptions, "`, `") + "`), shown in the plan; " +
					"removing the attribute sets the webhook back to them.",
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				Default:     setdefault.StaticValue(defaultSubscriptions()),
				Validators:  []validator.Set{subscriptionsValidator{}},
			},
			"inbox_id": schema.Int64Attribute{
				MarkdownDescription: "Inbox the webhook is attached to. Note that upstream Chatwoot stores and shows it " +
					"but does **not** filter deliveries by it: the webhook still receives the events of every inbox of the account.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"secret": schema.StringAttribute{
				MarkdownDescription: "Signing secret Chatwoot generated for the webhook. Deliveries carry " +
					"`X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, \"<X-Chatwoot-Timestamp>.<body>\")>`. " +
					"It never changes on update and cannot be rotated except by replacing the webhook. " +
					"Null with the provider's `store_secrets = false`: read it with the ephemeral resource `chatwoot_webhook_secret` instead.",
				Computed:      true,
				Sensitive:     true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *webhookResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan resolves an omitted account_id to the provider's, so that a
// missing account fails at plan time and a changed provider default
// replaces the webhook, then plans chatwoot_url so that the reviewer sees
// what Chatwoot will hold.
func (r *webhookResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return // destroying, or the provider is not configured yet
	}
	// One decode of the plan and a set only of what changes: this runs for
	// every webhook of every plan, and each attribute access costs the
	// framework a trace log line.
	var plan webhookResourceModel
	resp.Diagnostics.Append(resp.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.planAccount(ctx, req, resp, &plan)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.AccountID.IsNull() && !plan.AccountID.IsUnknown() {
		if msg := r.data.adminProblem(plan.AccountID.ValueInt64()); msg != "" {
			resp.Diagnostics.AddAttributeError(path.Root("account_id"), fmt.Sprintf("Token cannot manage webhooks of account %d", plan.AccountID.ValueInt64()), msg)
			return
		}
	}
	r.planChatwootURL(ctx, resp, plan)
	r.planSecret(ctx, req, resp, plan)
}

// planSecret keeps the plan's secret in step with store_secrets: null when
// secrets stay out of state, and known after apply when they come back in.
func (r *webhookResource) planSecret(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan webhookResourceModel) {
	switch {
	case !r.data.storeSecrets && !plan.Secret.IsNull():
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("secret"), types.StringNull())...)
	case r.data.storeSecrets && plan.Secret.IsNull() && !req.State.Raw.IsNull():
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("secret"), types.StringUnknown())...)
	}
}

// planChatwootURL computes chatwoot_url from url, relay, account_id and
// the provider's relay_url; unknown while any of them is.
func (r *webhookResource) planChatwootURL(ctx context.Context, resp *resource.ModifyPlanResponse, plan webhookResourceModel) {
	if plan.URL.IsUnknown() || plan.Relay.IsUnknown() || plan.AccountID.IsUnknown() || plan.AccountID.IsNull() {
		return
	}
	if u, ok := r.data.chatwootURL(plan, &resp.Diagnostics); ok && (plan.ChatwootURL.IsUnknown() || plan.ChatwootURL.ValueString() != u) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("chatwoot_url"), u)...)
	}
}

// chatwootURL is the url Chatwoot is to hold for a planned webhook whose
// url, relay and account_id are known.
func (pd *providerData) chatwootURL(m webhookResourceModel, diags *diag.Diagnostics) (string, bool) {
	if !m.Relay.ValueBool() {
		return m.URL.ValueString(), true
	}
	if pd.relayURL == "" {
		diags.AddAttributeError(path.Root("relay"), "Relay without relay_url",
			"relay = true registers the webhook in Chatwoot at the relay's address, but the provider has no relay_url. "+
				"Set relay_url in the provider block (or the "+EnvRelayURL+" environment variable) to the relay's base address as Chatwoot reaches it, "+
				"like https://relay.example.com, or remove relay = true.")
		return "", false
	}
	return chatwoot.RelayAddress{Base: pd.relayURL, AccountID: m.AccountID.ValueInt64(), Destination: m.URL.ValueString()}.String(), true
}

// planAccount resolves an omitted account_id in plan (and resp.Plan).
func (r *webhookResource) planAccount(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan *webhookResourceModel) {
	var configured types.Int64
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("account_id"), &configured)...)
	if resp.Diagnostics.HasError() || !configured.IsNull() {
		return
	}
	var prior types.Int64
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("account_id"), &prior)...)
	}
	switch {
	case r.data.accountID != 0:
		if plan.AccountID.IsUnknown() || plan.AccountID.ValueInt64() != r.data.accountID {
			plan.AccountID = types.Int64Value(r.data.accountID)
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("account_id"), r.data.accountID)...)
		}
		if !prior.IsNull() && prior.ValueInt64() != r.data.accountID {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("account_id"))
		}
	case prior.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("account_id"), "Missing Chatwoot account",
			"Set account_id on this resource or in the provider block (or the "+EnvAccountID+" environment variable).")
	}
	// An existing webhook whose provider lost its default keeps its account.
}

func (r *webhookResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan webhookResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.configured(&resp.Diagnostics) {
		return
	}
	accountID := r.data.resolveAccount(plan.AccountID, path.Root("account_id"), &resp.Diagnostics)
	plan.AccountID = types.Int64Value(accountID)
	in := r.webhookInput(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	hook, err := r.data.client.CreateWebhook(ctx, accountID, in)
	r.data.webhooks.Invalidate(accountID)
	if chatwoot.WriteMayHaveLanded(err) {
		hook, err = r.adoptLost(ctx, accountID, in.URL, err, &resp.Diagnostics)
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Could not create the Chatwoot webhook %s in account %d", chatwoot.RedactURL(in.URL), accountID), err.Error())
		return
	}
	tflog.Debug(ctx, "created Chatwoot webhook", map[string]any{"account_id": accountID, "webhook_id": hook.ID})
	if msg := droppedInbox(in, hook, accountID); msg != "" {
		// Chatwoot kept the webhook without the inbox: take it back, so
		// that nothing is left half made and unknown to Terraform.
		delErr := r.data.client.DeleteWebhook(ctx, accountID, hook.ID)
		r.data.webhooks.Invalidate(accountID)
		if delErr != nil {
			resp.Diagnostics.AddError("Chatwoot dropped inbox_id", fmt.Sprintf("%s Deleting the webhook it created without the inbox (id %d) failed too: %v; delete it in Chatwoot.", msg, hook.ID, delErr))
			return
		}
		resp.Diagnostics.AddAttributeError(path.Root("inbox_id"), "Chatwoot dropped inbox_id", msg+" The webhook it created without the inbox was deleted again; nothing was created.")
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, r.data, accountID, hook)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, plan)...)
}

// droppedInbox says, when Chatwoot answered without the inbox the webhook
// was given, that the account has no such inbox; "" otherwise.
func droppedInbox(in chatwoot.WebhookInput, hook chatwoot.Webhook, accountID int64) string {
	if in.InboxID == nil || hook.InboxID() == *in.InboxID {
		return ""
	}
	return fmt.Sprintf("Account %d has no inbox %d: Chatwoot accepts an unknown inbox_id and stores the webhook without an inbox. "+
		"Set inbox_id to an inbox of the account (Settings → Inboxes: the number in the inbox's address), or remove it.", accountID, *in.InboxID)
}

// adoptLost looks, after a create whose answer was lost, for the webhook
// it may have created, by its url (unique per account): found, it is
// recorded rather than left unknown to Terraform, where the next apply
// would fail on "Url has already been taken". The look-up outlives a
// cancelled apply (Ctrl-C), for a few seconds.
func (r *webhookResource) adoptLost(ctx context.Context, accountID int64, url string, createErr error, diags *diag.Diagnostics) (chatwoot.Webhook, error) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	hook, found, err := r.data.webhooks.FindFunc(lctx, accountID, func(h chatwoot.Webhook) bool { return h.URL == url })
	switch {
	case err != nil:
		return chatwoot.Webhook{}, fmt.Errorf("%w; looking for the webhook it may have created failed too (%v): "+
			"if a webhook with this url exists in Chatwoot, import it (terraform import ... %d/<webhook_id>)", createErr, err, accountID)
	case !found:
		return chatwoot.Webhook{}, createErr
	}
	tflog.Warn(ctx, "create's answer lost; adopted the webhook found by its url", map[string]any{"account_id": accountID, "webhook_id": hook.ID})
	diags.AddWarning("Chatwoot's answer to the create was lost",
		fmt.Sprintf("Creating the webhook failed without a usable answer (%v), but Chatwoot had created it: webhook %d of account %d was found by its url and recorded in the state, so nothing is left unknown to Terraform.",
			createErr, hook.ID, accountID))
	return hook, nil
}

func (r *webhookResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state webhookResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.configured(&resp.Diagnostics) {
		return
	}
	accountID, webhookID := state.AccountID.ValueInt64(), state.WebhookID.ValueInt64()

	hook, ok, err := r.data.webhooks.Find(ctx, accountID, webhookID)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Could not read the webhooks of Chatwoot account %d", accountID), err.Error())
		return
	}
	if !ok {
		resp.Diagnostics.AddWarning("Chatwoot webhook no longer exists",
			fmt.Sprintf("Webhook %d is not among the webhooks of account %d; it was probably deleted outside Terraform. "+
				"It is removed from the state and the next plan creates it again.", webhookID, accountID))
		// The framework wants an identity after every Read, a removed resource's too.
		resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, state)...)
		resp.State.RemoveResource(ctx)
		return
	}
	prior := state
	resp.Diagnostics.Append(state.fill(ctx, r.data, accountID, hook)...)
	// resp.State starts as the prior state: unchanged, a refresh writes
	// nothing (a Set converts the whole model, for every webhook).
	if !state.equal(prior) {
		resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	}
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, state)...)
}

func (r *webhookResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state webhookResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.configured(&resp.Diagnostics) {
		return
	}
	// A changed account replaces the webhook, so state's is the one it lives in.
	accountID, webhookID := state.AccountID.ValueInt64(), state.WebhookID.ValueInt64()
	plan.AccountID = types.Int64Value(accountID)
	in := r.webhookInput(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	hook, err := r.data.client.UpdateWebhook(ctx, accountID, webhookID, in)
	r.data.webhooks.Invalidate(accountID)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Could not update Chatwoot webhook %d in account %d", webhookID, accountID), err.Error())
		return
	}
	if msg := droppedInbox(in, hook, accountID); msg != "" {
		// The state says what Chatwoot now holds; the next plan shows the
		// inbox_id still to set.
		resp.Diagnostics.AddAttributeError(path.Root("inbox_id"), "Chatwoot dropped inbox_id", msg)
	}
	resp.Diagnostics.Append(plan.fill(ctx, r.data, accountID, hook)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	// OpenTofu refuses an update without it ("Missing Resource Identity After Update").
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, plan)...)
}

func (r *webhookResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state webhookResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.configured(&resp.Diagnostics) {
		return
	}
	accountID, webhookID := state.AccountID.ValueInt64(), state.WebhookID.ValueInt64()

	err := r.data.client.DeleteWebhook(ctx, accountID, webhookID)
	r.data.webhooks.Invalidate(accountID)
	if err != nil && !chatwoot.IsNotFound(err) { // already gone is what we wanted
		resp.Diagnostics.AddError(fmt.Sprintf("Could not delete Chatwoot webhook %d in account %d", webhookID, accountID), err.Error())
	}
}

// importIDFormat is shown whenever an import id cannot be parsed.
const importIDFormat = "<account_id>/<webhook_id> (for example 1/42), or <webhook_id> alone when the provider sets account_id"

func (r *webhookResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if req.ID == "" && req.Identity != nil {
		// import { identity = { account_id = 1, webhook_id = 7 } }
		var id webhookIdentity
		resp.Diagnostics.Append(req.Identity.Get(ctx, &id)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if id.AccountID.ValueInt64() < 1 || id.WebhookID.ValueInt64() < 1 {
			resp.Diagnostics.AddError("Invalid chatwoot_webhook import identity",
				fmt.Sprintf("account_id (%s) and webhook_id (%s) must be positive numbers, like identity = { account_id = 1, webhook_id = 42 }.", id.AccountID, id.WebhookID))
			return
		}
		accountID, webhookID := id.AccountID.ValueInt64(), id.WebhookID.ValueInt64()
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), webhookStateID(accountID, webhookID))...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("account_id"), accountID)...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("webhook_id"), webhookID)...)
		return
	}
	accountID, webhookID, err := parseImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid chatwoot_webhook import ID",
			fmt.Sprintf("%s. Expected %s.", err, importIDFormat))
		return
	}
	if accountID == 0 {
		if r.data == nil || r.data.accountID == 0 {
			resp.Diagnostics.AddError("Invalid chatwoot_webhook import ID",
				fmt.Sprintf("Import ID %q names no account and the provider has no account_id. Expected %s.", req.ID, importIDFormat))
			return
		}
		accountID = r.data.accountID
	}
	// Read fills in the rest from the account's webhook list.
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), webhookStateID(accountID, webhookID))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("account_id"), accountID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("webhook_id"), webhookID)...)
	if resp.Identity != nil {
		resp.Diagnostics.Append(resp.Identity.Set(ctx, webhookIdentity{AccountID: types.Int64Value(accountID), WebhookID: types.Int64Value(webhookID)})...)
	}
}

// parseImportID reads "<account_id>/<webhook_id>" or "<webhook_id>";
// accountID is 0 in the second form.
func parseImportID(id string) (accountID, webhookID int64, err error) {
	parts := strings.Split(strings.TrimSpace(id), "/")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("import ID %q has %d parts", id, len(parts))
	}
	nums := make([]int64, len(parts))
	for i, p := range parts {
		n, convErr := strconv.ParseInt(p, 10, 64)
		if convErr != nil || n < 1 {
			return 0, 0, fmt.Errorf("import ID %q: %q is not a positive number", id, p)
		}
		nums[i] = n
	}
	if len(nums) == 1 {
		return 0, nums[0], nil
	}
	return nums[0], nums[1], nil
}

func webhookStateID(accountID, webhookID int64) string {
	return strconv.FormatInt(accountID, 10) + "/" + strconv.FormatInt(webhookID, 10)
}

func (r *webhookResource) configured(diags *diag.Diagnostics) bool {
	if r.data == nil {
		diags.AddError("Chatwoot provider not configured",
			"The chatwoot provider was not configured before use. This is a bug in the provider or in Terraform; please report it.")
		return false
	}
	return true
}

// webhookInput is the create/update body for a planned webhook: the url
// Chatwoot holds is chatwoot_url. Unknown subscriptions (omitted on
// create) are left out so Chatwoot picks its defaults; on update an
// omitted set keeps what the webhook has.
func (r *webhookResource) webhookInput(ctx context.Context, m webhookResourceModel, diags *diag.Diagnostics) chatwoot.WebhookInput {
	in := chatwoot.WebhookInput{URL: m.ChatwootURL.ValueString()}
	if m.ChatwootURL.IsUnknown() || m.ChatwootURL.IsNull() { // url was unknown at plan time
		in.URL, _ = r.data.chatwootURL(m, diags)
	}
	if !m.Name.IsNull() && !m.Name.IsUnknown() {
		name := m.Name.ValueString()
		in.Name = &name
	}
	if !m.InboxID.IsNull() && !m.InboxID.IsUnknown() {
		inbox := m.InboxID.ValueInt64()
		in.InboxID = &inbox
	}
	if !m.Subscriptions.IsNull() && !m.Subscriptions.IsUnknown() {
		diags.Append(m.Subscriptions.ElementsAs(ctx, &in.Subscriptions, false)...)
		// Chatwoot keeps them in the order sent; a stable order keeps
		// requests and logs reproducible.
		slices.Sort(in.Subscriptions)
	}
	return in
}

// fill copies what Chatwoot answered into the model.
func (m *webhookResourceModel) fill(ctx context.Context, pd *providerData, accountID int64, hook chatwoot.Webhook) diag.Diagnostics {
	m.ID = types.StringValue(webhookStateID(accountID, hook.ID))
	m.WebhookID = types.Int64Value(hook.ID)
	m.AccountID = types.Int64Value(accountID)
	dest, relayed := destination(accountID, hook.URL)
	m.URL, m.Relay, m.ChatwootURL = types.StringValue(dest), types.BoolValue(relayed), types.StringValue(hook.URL)
	m.Name = optionalString(hook.Name)
	m.InboxID = optionalInt64(hook.InboxID())
	m.Secret = pd.secretValue(hook.Secret)
	var diags diag.Diagnostics
	m.Subscriptions, diags = subscriptionSet(ctx, hook.Subscriptions)
	return diags
}

// destination decodes the url Chatwoot holds: a relay address of the
// webhook's own account (whatever relay base it names) is its destination,
// relayed; any other url is delivered to directly.
func destination(accountID int64, chatwootURL string) (url string, relayed bool) {
	if a, ok := chatwoot.ParseRelayAddress(chatwootURL); ok && a.AccountID == accountID {
		return a.Destination, true
	}
	return chatwootURL, false
}

// defaultSubscriptions is Chatwoot's default eight as a set value.
func defaultSubscriptions() types.Set {
	v, _ := subscriptionSet(context.Background(), chatwoot.DefaultSubscriptions)
	return v
}

// subscriptionSet turns Chatwoot's list into a set; upstream keeps
// duplicates as sent, which a set cannot hold.
func subscriptionSet(ctx context.Context, subs []string) (types.Set, diag.Diagnostics) {
	unique := slices.Clone(subs)
	slices.Sort(unique)
	unique = slices.Compact(unique)
	if unique == nil {
		unique = []string{}
	}
	return types.SetValueFrom(ctx, types.StringType, unique)
}

// optionalString maps Chatwoot's null-or-empty to null.
func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// optionalInt64 maps Chatwoot's absent id (0) to null.
func optionalInt64(n int64) types.Int64 {
	if n == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(n)
}
