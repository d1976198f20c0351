package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
)

const threeWebhooks = `
resource "chatwoot_webhook" "a" {
  url           = "https://hooks.example.com/a"
  name          = "a"
  subscriptions = ["message_created"]
}
resource "chatwoot_webhook" "b" {
  url           = "https://hooks.example.com/b"
  subscriptions = ["contact_created", "message_created"]
  inbox_id      = 1
  depends_on    = [chatwoot_webhook.a] # created in order: ids ascend a, b, c
}
resource "chatwoot_webhook" "c" {
  url           = "https://hooks.example.com/c"
  subscriptions = ["conversation_typing_on"]
  depends_on    = [chatwoot_webhook.b]
}
resource "chatwoot_webhook" "other_account" {
  account_id = 2
  url        = "https://hooks.example.com/a"
}
`

func TestAccWebhooksDataSource(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	all, messages := "data.chatwoot_webhooks.all", "data.chatwoot_webhooks.messages"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: adminConfig(url) + threeWebhooks + `
data "chatwoot_webhooks" "all" {
  depends_on = [chatwoot_webhook.a, chatwoot_webhook.b, chatwoot_webhook.c, chatwoot_webhook.other_account]
}
data "chatwoot_webhooks" "messages" {
  event      = "message_created"
  depends_on = [chatwoot_webhook.a, chatwoot_webhook.b, chatwoot_webhook.c, chatwoot_webhook.other_account]
}
data "chatwoot_webhooks" "globex" {
  account_id = 2
  depends_on = [chatwoot_webhook.other_account]
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(all, tfjsonpath.New("account_id"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue(all, tfjsonpath.New("webhooks"), knownvalue.ListSizeExact(3)),
				statecheck.ExpectKnownValue(all, tfjsonpath.New("webhooks").AtSliceIndex(0), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"url":           knownvalue.StringExact("https://hooks.example.com/a"),
					"name":          knownvalue.StringExact("a"),
					"subscriptions": knownStrings("message_created"),
					"inbox_id":      knownvalue.Null(),
				})),
				statecheck.ExpectKnownValue(all, tfjsonpath.New("webhooks").AtSliceIndex(1), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"url":      knownvalue.StringExact("https://hooks.example.com/b"),
					"name":     knownvalue.Null(),
					"inbox_id": knownvalue.Int64Exact(1),
				})),
				statecheck.CompareValuePairs(all, tfjsonpath.New("webhooks").AtSliceIndex(2).AtMapKey("id"),
					"chatwoot_webhook.c", tfjsonpath.New("id"), compare.ValuesSame()),
				statecheck.CompareValuePairs(all, tfjsonpath.New("webhooks").AtSliceIndex(2).AtMapKey("secret"),
					"chatwoot_webhook.c", tfjsonpath.New("secret"), compare.ValuesSame()),
				statecheck.ExpectKnownValue(messages, tfjsonpath.New("webhooks"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"url": knownvalue.StringExact("https://hooks.example.com/a")}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"url": knownvalue.StringExact("https://hooks.example.com/b")}),
				})),
				statecheck.ExpectKnownValue("data.chatwoot_webhooks.globex", tfjsonpath.New("webhooks"), knownvalue.ListSizeExact(1)),
			},
		}},
	})
}

func TestAccWebhooksDataSource_empty(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: adminConfig(url) + `data "chatwoot_webhooks" "none" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.chatwoot_webhooks.none", tfjsonpath.New("webhooks"), knownvalue.ListSizeExact(0)),
			},
		}},
	})
}

func TestAccWebhooksDataSource_invalidEvent(t *testing.T) {
	t.Parallel()
	planOnlyError(t, unreachableProvider+`data "chatwoot_webhooks" "x" { event = "message_deleted" }`,
		`event.*must be one of.*"message_deleted"`)
}

func TestAccWebhooksDataSource_agentToken(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:      providerConfig(url, mockapi.AgentToken, 1) + `data "chatwoot_webhooks" "x" {}`,
			ExpectError: flexRe(`Token cannot manage webhooks of account 1.*not an administrator`),
		}},
	})
}
