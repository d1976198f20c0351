package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// webhookURLValidator refuses, at plan time, what Chatwoot's Webhook#url
// check would refuse at apply time.
type webhookURLValidator struct{}

var _ validator.String = webhookURLValidator{}

func (webhookURLValidator) Description(context.Context) string {
	return "value must be an absolute http or https URL with a host"
}

func (v webhookURLValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (webhookURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	v := req.ConfigValue.ValueString()
	if !chatwoot.ValidWebhookURL(v) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid webhook URL",
			fmt.Sprintf("%q is not an absolute http(s) URL; Chatwoot only delivers to addresses like https://hooks.example.com/chatwoot.", v))
		return
	}
	// Read decodes a relay address into its destination, which would
	// never match a relay address written here.
	if a, ok := chatwoot.ParseRelayAddress(v); ok {
		resp.Diagnostics.AddAttributeError(req.Path, "Relay address as url",
			fmt.Sprintf("url is the relay address of %q. Set url to that destination and relay = true (with the provider's relay_url %q): "+
				"the provider registers the relay address in Chatwoot itself.", a.Destination, a.Base))
	}
}

// baseURLValidator checks base_url the way the client will parse it.
type baseURLValidator struct{}

var _ validator.String = baseURLValidator{}

func (baseURLValidator) Description(context.Context) string {
	return "value must be an absolute http or https URL without query or fragment"
}

func (v baseURLValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (baseURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := chatwoot.ParseBaseURL(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Chatwoot base URL", err.Error())
	}
}

// durationValidator accepts positive Go durations such as "30s".
type durationValidator struct{}

var _ validator.String = durationValidator{}

func (durationValidator) Description(context.Context) string {
	return `value must be a positive duration such as "30s" or "1m"`
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%q is not a positive duration; use a number with a unit, such as \"30s\", \"90s\" or \"2m\".", req.ConfigValue.ValueString()))
	}
}

// relayURLValidator checks the provider's relay_url at validation time.
type relayURLValidator struct{}

func (relayURLValidator) Description(context.Context) string {
	return "must be an absolute http(s) base address without query, fragment or credentials"
}

func (v relayURLValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (relayURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := chatwoot.ParseRelayBase(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid relay URL",
			"relay_url must be the relay's base address as Chatwoot reaches it, like https://relay.example.com: "+err.Error())
	}
}

// subscriptionsValidator refuses an empty set and unknown events at plan
// time, saying what to write instead.
type subscriptionsValidator struct{}

func (subscriptionsValidator) Description(context.Context) string {
	return "at least one of Chatwoot's 12 webhook events"
}

func (v subscriptionsValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (subscriptionsValidator) ValidateSet(ctx context.Context, req validator.SetRequest, resp *validator.SetResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if len(req.ConfigValue.Elements()) == 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "No subscriptions",
			"subscriptions is empty, and Chatwoot refuses a webhook without events. Name at least one of "+strings.Join(chatwoot.AllowedEvents, ", ")+
				", or remove the attribute for Chatwoot's default eight ("+strings.Join(chatwoot.DefaultSubscriptions, ", ")+").")
		return
	}
	var events []types.String
	resp.Diagnostics.Append(req.ConfigValue.ElementsAs(ctx, &events, false)...)
	for _, e := range events {
		if e.IsUnknown() || e.IsNull() || chatwoot.IsAllowedEvent(e.ValueString()) {
			continue
		}
		resp.Diagnostics.AddAttributeError(req.Path, "Unknown webhook event",
			fmt.Sprintf("%q is not an event Chatwoot delivers to webhooks. Use one of %s.", e.ValueString(), strings.Join(chatwoot.AllowedEvents, ", ")))
	}
}
