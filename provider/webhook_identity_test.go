package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// identityCLIs are the CLIs with resource identities: Terraform 1.12+ and
// OpenTofu 1.12+ (which report their own version numbers).
var identityCLIs = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)}

func expectIdentity(accountID int64, webhookID knownvalue.Check) statecheck.StateCheck {
	return statecheck.ExpectIdentity(webhookAddr, map[string]knownvalue.Check{
		"account_id": knownvalue.Int64Exact(accountID),
		"webhook_id": webhookID,
	})
}

// TestAccWebhookIdentity_lifecycle: the identity (account_id, webhook_id)
// is in state after create, and is kept through an update and a refresh
// (OpenTofu refused updates without it: "Missing Resource Identity After
// Update"), with the value the webhook has in state.
func TestAccWebhookIdentity_lifecycle(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	hook := func(name string) string {
		return adminConfig(url) + webhookConfig(fmt.Sprintf(`
  url  = "https://hooks.example.com/identity"
  name = %q`, name))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		TerraformVersionChecks:   identityCLIs,
		Steps: []resource.TestStep{
			{
				Config:            hook("first"),
				ConfigStateChecks: []statecheck.StateCheck{expectIdentity(1, knownvalue.NotNull()), identityMatchesState()},
			},
			{
				Config: hook("second"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{expectIdentity(1, knownvalue.NotNull()), identityMatchesState()},
			},
			{
				// A run with nothing to change refreshes (Read) and keeps it too.
				Config:            hook("second"),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{expectIdentity(1, knownvalue.NotNull()), identityMatchesState()},
			},
		},
	})
}

// identityMatchesState checks that the identity's webhook_id is the
// resource's.
func identityMatchesState() statecheck.StateCheck {
	return statecheck.ExpectIdentityValueMatchesState(webhookAddr, tfjsonpath.New("webhook_id"))
}

// TestAccWebhookIdentity_importRoundTrip: the identity in state imports
// the same webhook back through an import block, with the same identity.
func TestAccWebhookIdentity_importRoundTrip(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	config := adminConfig(url) + webhookConfig(`url = "https://hooks.example.com/round-trip"`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		TerraformVersionChecks:   identityCLIs,
		Steps: []resource.TestStep{
			{Config: config},
			{
				Config:          config,
				ResourceName:    webhookAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
		},
	})
}

// TestAccWebhookIdentity_import: `import { identity = { account_id, webhook_id } }`
// adopts a webhook made outside Terraform, as an import by id does.
func TestAccWebhookIdentity_import(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	made, err := mockClient(t, url).CreateWebhook(context.Background(), 2, chatwoot.WebhookInput{
		URL: "https://hooks.example.com/by-identity", Subscriptions: []string{"message_created"},
	})
	if err != nil {
		t.Fatal(err)
	}
	config := adminConfig(url) + fmt.Sprintf(`
import {
  to       = chatwoot_webhook.test
  identity = { account_id = 2, webhook_id = %d }
}
`, made.ID) + webhookConfig(`
  account_id    = 2
  url           = "https://hooks.example.com/by-identity"
  subscriptions = ["message_created"]`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		TerraformVersionChecks:   identityCLIs,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionNoop),
					plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("webhook_id"), knownvalue.Int64Exact(made.ID)),
					plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("secret"), knownvalue.StringExact(made.Secret)),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{expectIdentity(2, knownvalue.Int64Exact(made.ID))},
		}},
	})
}
