package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
)

// secretShape is what a generated webhook secret looks like.
var secretShape = regexp.MustCompile(`^\S{8,}$`)

// withEcho adds terraform-plugin-testing's echo provider, which copies its
// configuration (an ephemeral value) into a resource's state for checks.
func withEcho() map[string]func() (tfprotov6.ProviderServer, error) {
	p := testAccProviders()
	p["echo"] = echoprovider.NewProviderServer()
	return p
}

// storeSecretsConfig is adminConfig with store_secrets set.
func storeSecretsConfig(baseURL string, store bool) string {
	return strings.Replace(adminConfig(baseURL), "  max_retries      = 3", fmt.Sprintf("  max_retries      = 3\n  store_secrets    = %v", store), 1)
}

// noSecretInState fails when any attribute of any resource in the state
// holds a webhook secret the mock knows.
func noSecretInState(t *testing.T, url string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, account := range []int64{1, 2} {
			hooks, err := mockClient(t, url).ListWebhooks(t.Context(), account)
			if err != nil {
				return err
			}
			for _, h := range hooks {
				for addr, rs := range s.RootModule().Resources {
					for k, v := range rs.Primary.Attributes {
						if strings.Contains(v, h.Secret) {
							return fmt.Errorf("the secret of webhook %d is in the state, at %s.%s", h.ID, addr, k)
						}
					}
				}
			}
		}
		return nil
	}
}

// TestAccWebhook_storeSecretsFalse: with store_secrets = false the secret
// is null in plan and state (and nowhere else in the state), for the
// resource and the data sources; turning it back on reads it back.
func TestAccWebhook_storeSecretsFalse(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	body := webhookConfig(`url = "https://hooks.example.com/no-secret"`) + `
data "chatwoot_webhook" "one" { webhook_id = chatwoot_webhook.test.webhook_id }
data "chatwoot_webhooks" "all" { depends_on = [chatwoot_webhook.test] }
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{
				Config: storeSecretsConfig(url, false) + body,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("secret"), knownvalue.Null())},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					expect(webhookAddr, "secret", knownvalue.Null()),
					expect("data.chatwoot_webhook.one", "secret", knownvalue.Null()),
				},
				Check: noSecretInState(t, url),
			},
			{
				// The refresh reads it back: no change to make.
				Config: storeSecretsConfig(url, true) + body,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{expect(webhookAddr, "secret", knownvalue.NotNull())},
			},
			{
				Config:           storeSecretsConfig(url, false) + body,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            noSecretInState(t, url),
			},
		},
	})
}

// TestAccWebhookSecret_ephemeral: chatwoot_webhook_secret gives the
// webhook's secret to another provider's configuration, checked through
// the echo provider, without it ever being in chatwoot's state.
func TestAccWebhookSecret_ephemeral(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	hook := webhookConfig(`url = "https://hooks.example.com/ephemeral"`)
	secret := `
ephemeral "chatwoot_webhook_secret" "s" {
  webhook_id = chatwoot_webhook.test.webhook_id
}
provider "echo" {
  data = ephemeral.chatwoot_webhook_secret.s.secret
}
resource "echo" "secret" {}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: withEcho(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		Steps: []resource.TestStep{
			{Config: adminConfig(url) + hook},
			{
				// With secrets in state, the ephemeral value is the same secret.
				Config: adminConfig(url) + hook + secret,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs("echo.secret", tfjsonpath.New("data"), webhookAddr, tfjsonpath.New("secret"), compare.ValuesSame()),
				},
			},
			{
				// Without them, the ephemeral resource is the way in.
				Config: storeSecretsConfig(url, false) + hook + secret,
				ConfigStateChecks: []statecheck.StateCheck{
					expect(webhookAddr, "secret", knownvalue.Null()),
					expect("echo.secret", "data", knownvalue.StringRegexp(secretShape)),
				},
			},
		},
	})
}

func TestAccWebhookSecret_notFound(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: withEcho(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		Steps: []resource.TestStep{{
			Config: providerConfig(url, mockapi.AdminToken, 1) + `
ephemeral "chatwoot_webhook_secret" "s" { webhook_id = 4242 }
provider "echo" { data = ephemeral.chatwoot_webhook_secret.s.secret }
resource "echo" "secret" {}
`,
			ExpectError: flexRe(`Chatwoot webhook not found.*Account 1 has no webhook 4242`),
		}},
	})
}
