package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
)

const (
	relayA   = "https://relay-a.example.com"
	relayB   = "https://relay-b.example.com/edge"
	relayDst = "https://bot.example.com/chatwoot?token=abc"
)

// relayConfig is adminConfig with relay_url.
func relayConfig(baseURL, relayURL string) string {
	return fmt.Sprintf(`
provider "chatwoot" {
  base_url         = %q
  api_access_token = %q
  account_id       = 1
  relay_url        = %q
  request_timeout  = "5s"
  max_retries      = 3
}
`, baseURL, mockapi.AdminToken, relayURL)
}

func relayAddr(base string, account int64, dest string) string {
	return chatwoot.RelayAddress{Base: base, AccountID: account, Destination: dest}.String()
}

// chatwootHolds checks the url the mock holds for the resource's webhook.
func chatwootHolds(t *testing.T, url, want string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		accountID, webhookID, err := webhookIDs(s, webhookAddr)
		if err != nil {
			return err
		}
		hook, ok := remoteWebhook(t, url, accountID, webhookID)
		if !ok {
			return fmt.Errorf("webhook %d/%d not in Chatwoot", accountID, webhookID)
		}
		if hook.URL != want {
			return fmt.Errorf("Chatwoot holds %s, want %s", hook.URL, want)
		}
		return nil
	}
}

// TestAccWebhookRelay_lifecycle: relay on create, plan empty after apply,
// import decodes url and relay, relay off → on in place with the same
// webhook_id and secret, and a changed relay_url updates in place.
func TestAccWebhookRelay_lifecycle(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	hook := func(relay bool) string {
		return webhookConfig(fmt.Sprintf(`
  url           = %q
  relay         = %v
  subscriptions = ["message_created"]`, relayDst, relay))
	}
	sameID := statecheck.CompareValue(compare.ValuesSame())
	sameSecret := statecheck.CompareValue(compare.ValuesSame())
	keep := func(checks ...statecheck.StateCheck) []statecheck.StateCheck {
		return append(checks,
			sameID.AddStateValue(webhookAddr, tfjsonpath.New("webhook_id")),
			sameSecret.AddStateValue(webhookAddr, tfjsonpath.New("secret")))
	}
	inPlace := func(chatwootURL string) resource.ConfigPlanChecks {
		return resource.ConfigPlanChecks{
			PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate),
				plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("chatwoot_url"), knownvalue.StringExact(chatwootURL)),
				plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("url"), knownvalue.StringExact(relayDst)),
			},
			PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
		}
	}
	viaA, viaB := relayAddr(relayA, 1, relayDst), relayAddr(relayB, 1, relayDst)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		CheckDestroy:             checkDestroyed(t, url),
		Steps: []resource.TestStep{
			{
				Config: relayConfig(url, relayA) + hook(true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionCreate),
						// The reviewer sees what Chatwoot will hold.
						plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("chatwoot_url"), knownvalue.StringExact(viaA)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: keep(
					expect(webhookAddr, "url", knownvalue.StringExact(relayDst)),
					expect(webhookAddr, "relay", knownvalue.Bool(true)),
					expect(webhookAddr, "chatwoot_url", knownvalue.StringExact(viaA)),
				),
				Check: chatwootHolds(t, url, viaA),
			},
			{ResourceName: webhookAddr, ImportState: true, ImportStateVerify: true},
			{
				Config:            relayConfig(url, relayA) + hook(false),
				ConfigPlanChecks:  inPlace(relayDst),
				ConfigStateChecks: keep(expect(webhookAddr, "relay", knownvalue.Bool(false))),
				Check:             chatwootHolds(t, url, relayDst),
			},
			{ResourceName: webhookAddr, ImportState: true, ImportStateVerify: true},
			{
				Config:            relayConfig(url, relayA) + hook(true),
				ConfigPlanChecks:  inPlace(viaA),
				ConfigStateChecks: keep(expect(webhookAddr, "relay", knownvalue.Bool(true))),
				Check:             chatwootHolds(t, url, viaA),
			},
			{
				// Moving the relay: every relayed webhook follows, in place.
				Config:            relayConfig(url, relayB) + hook(true),
				ConfigPlanChecks:  inPlace(viaB),
				ConfigStateChecks: keep(expect(webhookAddr, "chatwoot_url", knownvalue.StringExact(viaB))),
				Check:             chatwootHolds(t, url, viaB),
			},
		},
	})
}

// relayedOutOfBand creates, in a fresh mock, a webhook made outside
// Terraform that goes through the relay at base to relayDst, and returns
// the mock, the webhook and a configuration managing it with relay_url relayA.
func relayedOutOfBand(t *testing.T, base string) (url string, hook chatwoot.Webhook, config string) {
	t.Helper()
	_, url = newMock(t)
	hook, err := mockClient(t, url).CreateWebhook(context.Background(), 1, chatwoot.WebhookInput{
		URL: relayAddr(base, 1, relayDst), Subscriptions: []string{"message_created"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return url, hook, relayConfig(url, relayA) + webhookConfig(fmt.Sprintf(`
  url           = %q
  relay         = true
  subscriptions = ["message_created"]`, relayDst))
}

// TestAccWebhookRelay_importBlock adopts a webhook that already goes
// through a relay: the import plan decodes it into url and relay = true.
func TestAccWebhookRelay_importBlock(t *testing.T) {
	t.Parallel()
	_, hook, config := relayedOutOfBand(t, relayA)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		Steps: []resource.TestStep{
			{
				Config:        config,
				ResourceName:  webhookAddr,
				ImportState:   true,
				ImportStateId: fmt.Sprintf("1/%d", hook.ID),
				// With an import block: a no-op import of the decoded webhook.
				ImportStateKind: resource.ImportBlockWithID,
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("url"), knownvalue.StringExact(relayDst)),
					plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("relay"), knownvalue.Bool(true)),
					plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("chatwoot_url"), knownvalue.StringExact(hook.URL)),
				}},
			},
		},
	})
}

// TestAccWebhookRelay_importCLI: terraform import of a relayed webhook
// whatever relay base it names decodes url and relay; the next plan moves
// it to the provider's relay_url in place.
func TestAccWebhookRelay_importCLI(t *testing.T) {
	t.Parallel()
	url, hook, config := relayedOutOfBand(t, "http://old-relay.internal:8787")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{
				Config:             config,
				ResourceName:       webhookAddr,
				ImportState:        true,
				ImportStateId:      fmt.Sprintf("1/%d", hook.ID),
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					a := states[0].Attributes
					if a["url"] != relayDst || a["relay"] != "true" || a["chatwoot_url"] != hook.URL {
						return fmt.Errorf("imported url=%s relay=%s chatwoot_url=%s", a["url"], a["relay"], a["chatwoot_url"])
					}
					return nil
				},
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate)}},
				Check:            chatwootHolds(t, url, relayAddr(relayA, 1, relayDst)),
			},
		},
	})
}

// TestAccWebhookRelay_destinationDrift: a relay address whose destination
// is not an http(s) url (edited outside Terraform) shows as a url change.
func TestAccWebhookRelay_destinationDrift(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	config := relayConfig(url, relayA) + webhookConfig(fmt.Sprintf(`
  url   = %q
  relay = true`, relayDst))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					hooks, err := mockClient(t, url).ListWebhooks(context.Background(), 1)
					if err != nil || len(hooks) != 1 {
						t.Fatalf("list: %v %v", hooks, err)
					}
					if _, err := mockClient(t, url).UpdateWebhook(context.Background(), 1, hooks[0].ID, chatwoot.WebhookInput{
						URL: relayAddr(relayA, 1, "not a url"), Subscriptions: hooks[0].Subscriptions,
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate),
				}},
				Check: chatwootHolds(t, url, relayAddr(relayA, 1, relayDst)),
			},
		},
	})
}

func TestAccWebhookRelay_withoutRelayURL(t *testing.T) {
	t.Setenv(EnvRelayURL, "") // not parallel: the environment is the process's
	_, url := newMock(t)
	planOnlyError(t, adminConfig(url)+webhookConfig(`
  url   = "https://hooks.example.com/a"
  relay = true`),
		`Relay without relay_url.*Set relay_url in the provider block \(or the CHATWOOT_RELAY_URL environment variable\)`)
	planOnlyError(t, unreachableProvider+webhookConfig(`url = "https://relay.example.com/v1/accounts/1/relay?to=https%3A%2F%2Fbot.example.com%2Fh"`),
		`Relay address as url.*Set url to that destination and relay = true`)
	planOnlyError(t, `
provider "chatwoot" {
  base_url         = "http://127.0.0.1:9"
  api_access_token = "x"
  relay_url        = "relay.example.com"
}
`+webhookConfig(`url = "https://hooks.example.com/a"`), `Invalid relay URL.*relay_url must be the relay's base address`)
}

// TestAccWebhookRelay_dataSources: both data sources decode relayed
// webhooks; chatwoot_webhook finds one by destination or by chatwoot_url.
func TestAccWebhookRelay_dataSources(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	via := relayAddr(relayA, 1, relayDst)
	const byURL, byChatwoot = "data.chatwoot_webhook.by_url", "data.chatwoot_webhook.by_chatwoot_url"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: relayConfig(url, relayA) + webhookConfig(fmt.Sprintf(`
  url   = %q
  relay = true`, relayDst)) + `
resource "chatwoot_webhook" "direct" {
  url        = "https://direct.example.com/h"
  depends_on = [chatwoot_webhook.test] # created second: listed second
}
data "chatwoot_webhook" "by_url" {
  url        = chatwoot_webhook.test.url
  depends_on = [chatwoot_webhook.test]
}
data "chatwoot_webhook" "by_chatwoot_url" {
  chatwoot_url = chatwoot_webhook.test.chatwoot_url
}
data "chatwoot_webhooks" "all" {
  depends_on = [chatwoot_webhook.test, chatwoot_webhook.direct]
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				expect(byURL, "relay", knownvalue.Bool(true)),
				expect(byURL, "chatwoot_url", knownvalue.StringExact(via)),
				expect(byChatwoot, "url", knownvalue.StringExact(relayDst)),
				expect(byChatwoot, "relay", knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("data.chatwoot_webhooks.all", tfjsonpath.New("webhooks"), knownvalue.ListPartial(map[int]knownvalue.Check{
					0: knownvalue.ObjectPartial(map[string]knownvalue.Check{"url": knownvalue.StringExact(relayDst), "relay": knownvalue.Bool(true), "chatwoot_url": knownvalue.StringExact(via)}),
					1: knownvalue.ObjectPartial(map[string]knownvalue.Check{"url": knownvalue.StringExact("https://direct.example.com/h"), "relay": knownvalue.Bool(false)}),
				})),
			},
		}},
	})
}
