package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccWebhookDataSource(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	byID, byURL := "data.chatwoot_webhook.by_id", "data.chatwoot_webhook.by_url"
	same := func(ds, attr string) statecheck.StateCheck {
		return statecheck.CompareValuePairs(ds, tfjsonpath.New(attr), "chatwoot_webhook.b", tfjsonpath.New(attr), compare.ValuesSame())
	}
	var checks []statecheck.StateCheck
	for _, ds := range []string{byID, byURL} {
		for _, attr := range []string{"id", "account_id", "webhook_id", "url", "name", "subscriptions", "inbox_id", "secret"} {
			checks = append(checks, same(ds, attr))
		}
	}
	checks = append(checks,
		statecheck.ExpectKnownValue(byURL, tfjsonpath.New("inbox_id"), knownvalue.Int64Exact(1)),
		statecheck.ExpectKnownValue("data.chatwoot_webhook.globex", tfjsonpath.New("account_id"), knownvalue.Int64Exact(2)),
	)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: adminConfig(url) + threeWebhooks + `
data "chatwoot_webhook" "by_id" {
  webhook_id = chatwoot_webhook.b.webhook_id
}
data "chatwoot_webhook" "by_url" {
  url        = "https://hooks.example.com/b"
  depends_on = [chatwoot_webhook.b]
}
data "chatwoot_webhook" "globex" {
  account_id = 2
  url        = chatwoot_webhook.other_account.url
}
`,
			ConfigStateChecks: checks,
		}},
	})
}

func TestAccWebhookDataSource_notFound(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:      adminConfig(url) + `data "chatwoot_webhook" "x" { url = "https://hooks.example.com/nowhere" }`,
			ExpectError: flexRe(`Chatwoot webhook not found.*Account 1 has no webhook with destination url "https://hooks.example.com/nowhere"`),
		}},
	})
}

func TestAccWebhookDataSource_exactlyOneOf(t *testing.T) {
	t.Parallel()
	planOnlyError(t, unreachableProvider+`data "chatwoot_webhook" "x" {}`,
		`Missing Attribute Configuration.*Exactly one of these attributes must be configured: \[webhook_id,url,chatwoot_url\]`)
	planOnlyError(t, unreachableProvider+`
data "chatwoot_webhook" "x" {
  webhook_id = 1
  url        = "https://hooks.example.com/a"
}`,
		`Invalid Attribute Combination.*webhook_id.*url`)
}
