package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

const webhookAddr = "chatwoot_webhook.test"

// webhookConfig is one chatwoot_webhook; body holds its arguments.
func webhookConfig(body string) string {
	return "\nresource \"chatwoot_webhook\" \"test\" {\n" + body + "\n}\n"
}

// knownStrings is a set check of exactly these strings.
func knownStrings(values ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, len(values))
	for i, v := range values {
		checks[i] = knownvalue.StringExact(v)
	}
	return knownvalue.SetExact(checks)
}

func expect(addr, attr string, check knownvalue.Check) statecheck.StateCheck {
	return statecheck.ExpectKnownValue(addr, tfjsonpath.New(attr), check)
}

// webhookIDs reads account and webhook id of a resource from the state.
func webhookIDs(s *terraform.State, addr string) (accountID, webhookID int64, err error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return 0, 0, fmt.Errorf("%s not in state", addr)
	}
	accountID, _ = strconv.ParseInt(rs.Primary.Attributes["account_id"], 10, 64)
	webhookID, err = strconv.ParseInt(rs.Primary.Attributes["webhook_id"], 10, 64)
	return accountID, webhookID, err
}

// remoteWebhook finds a webhook in the mock, out of band.
func remoteWebhook(t *testing.T, url string, accountID, webhookID int64) (chatwoot.Webhook, bool) {
	t.Helper()
	hooks, err := mockClient(t, url).ListWebhooks(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hooks {
		if h.ID == webhookID {
			return h, true
		}
	}
	return chatwoot.Webhook{}, false
}

// checkDestroyed verifies no webhook is left in the mock's accounts.
func checkDestroyed(t *testing.T, url string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, account := range []int64{1, 2} {
			hooks, err := mockClient(t, url).ListWebhooks(context.Background(), account)
			if err != nil {
				return err
			}
			if len(hooks) != 0 {
				return fmt.Errorf("account %d still has %d webhooks after destroy", account, len(hooks))
			}
		}
		return nil
	}
}

func TestAccWebhook_basic(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	config := adminConfig(url) + webhookConfig(`
  url           = "https://hooks.example.com/basic"
  name          = "basic"
  subscriptions = ["message_created", "conversation_created"]`)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		CheckDestroy:             checkDestroyed(t, url),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					expect(webhookAddr, "id", knownvalue.StringRegexp(regexp.MustCompile(`^1/\d+$`))),
					expect(webhookAddr, "webhook_id", knownvalue.NotNull()),
					expect(webhookAddr, "account_id", knownvalue.Int64Exact(1)),
					expect(webhookAddr, "url", knownvalue.StringExact("https://hooks.example.com/basic")),
					expect(webhookAddr, "name", knownvalue.StringExact("basic")),
					expect(webhookAddr, "subscriptions", knownStrings("conversation_created", "message_created")),
					expect(webhookAddr, "inbox_id", knownvalue.Null()),
					expect(webhookAddr, "secret", knownvalue.StringRegexp(regexp.MustCompile(`^\S{8,}$`))),
				},
				Check: func(s *terraform.State) error {
					accountID, webhookID, err := webhookIDs(s, webhookAddr)
					if err != nil {
						return err
					}
					hook, ok := remoteWebhook(t, url, accountID, webhookID)
					if !ok {
						return fmt.Errorf("webhook %d/%d not in Chatwoot", accountID, webhookID)
					}
					if hook.URL != "https://hooks.example.com/basic" || hook.Name != "basic" || len(hook.Subscriptions) != 2 {
						return fmt.Errorf("Chatwoot has %+v", hook)
					}
					if got := s.RootModule().Resources[webhookAddr].Primary.Attributes["secret"]; got != hook.Secret {
						return fmt.Errorf("state secret differs from Chatwoot's")
					}
					return nil
				},
			},
			{
				ResourceName:      webhookAddr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// The bare <webhook_id> form, with the provider's account_id.
				ResourceName:      webhookAddr,
				ImportState:       true,
				ImportStateVerify: true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					_, webhookID, err := webhookIDs(s, webhookAddr)
					return strconv.FormatInt(webhookID, 10), err
				},
			},
		},
	})
}

func TestAccWebhook_importBlock(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	config := adminConfig(url) + webhookConfig(`
  url  = "https://hooks.example.com/import-block"
  name = "import block"`)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		Steps: []resource.TestStep{
			{Config: config},
			{
				// Terraform plans the import block as a no-op import.
				Config:          config,
				ResourceName:    webhookAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("subscriptions"), knownStrings(chatwoot.DefaultSubscriptions...)),
					plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("name"), knownvalue.StringExact("import block")),
				}},
			},
		},
	})
}

// TestAccWebhook_importExisting adopts a webhook created outside Terraform
// with an import block in the configuration, then manages it.
func TestAccWebhook_importExisting(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	name := "made in the UI"
	hook, err := mockClient(t, url).CreateWebhook(context.Background(), 2, chatwoot.WebhookInput{
		URL: "https://hooks.example.com/existing", Name: &name, Subscriptions: []string{"message_created"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		Steps: []resource.TestStep{{
			Config: adminConfig(url) + fmt.Sprintf(`
import {
  to = chatwoot_webhook.test
  id = "2/%d"
}
`, hook.ID) + webhookConfig(`
  account_id    = 2
  url           = "https://hooks.example.com/existing"
  name          = "managed now"
  subscriptions = ["message_created"]`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				expect(webhookAddr, "id", knownvalue.StringExact(fmt.Sprintf("2/%d", hook.ID))),
				expect(webhookAddr, "name", knownvalue.StringExact("managed now")),
				expect(webhookAddr, "secret", knownvalue.StringExact(hook.Secret)),
			},
		}},
	})
}

func TestAccWebhook_importMalformedID(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	body := `
  account_id = 1
  url        = "https://hooks.example.com/malformed"`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{Config: adminConfig(url) + webhookConfig(body)},
			{
				ResourceName:  webhookAddr,
				ImportState:   true,
				ImportStateId: "acme/hooks",
				ExpectError:   flexRe(`Invalid chatwoot_webhook import ID.*"acme" is not a positive number.*Expected <account_id>/<webhook_id>`),
			},
			{
				ResourceName:  webhookAddr,
				ImportState:   true,
				ImportStateId: "1/2/3",
				ExpectError:   flexRe(`has 3 parts.*Expected <account_id>/<webhook_id>`),
			},
			{
				// A bare id needs the provider's account_id.
				Config:       providerConfig(url, mockapi.AdminToken, 0) + webhookConfig(body),
				ResourceName: webhookAddr,
				ImportState:  true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					_, webhookID, err := webhookIDs(s, webhookAddr)
					return strconv.FormatInt(webhookID, 10), err
				},
				ExpectError: flexRe(`names no account and the provider has no account_id`),
			},
			{
				ResourceName:  webhookAddr,
				ImportState:   true,
				ImportStateId: "1/999999",
				ExpectError:   flexRe(`Cannot import non-existent remote object`),
			},
		},
	})
}

func TestAccWebhook_defaultSubscriptions(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{
				Config: adminConfig(url) + webhookConfig(`url = "https://hooks.example.com/defaults"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					// The reviewer sees which events the webhook gets.
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("subscriptions"), knownStrings(chatwoot.DefaultSubscriptions...))},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					expect(webhookAddr, "subscriptions", knownStrings(chatwoot.DefaultSubscriptions...)),
					expect(webhookAddr, "name", knownvalue.Null()),
				},
			},
			{
				// Another change leaves the omitted subscriptions alone.
				Config: adminConfig(url) + webhookConfig(`
  url  = "https://hooks.example.com/defaults"
  name = "renamed"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("subscriptions"), knownStrings(chatwoot.DefaultSubscriptions...)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					expect(webhookAddr, "subscriptions", knownStrings(chatwoot.DefaultSubscriptions...)),
				},
			},
			{
				Config: adminConfig(url) + webhookConfig(`
  url           = "https://hooks.example.com/defaults"
  name          = "renamed"
  subscriptions = ["message_created"]`),
				Check: func(s *terraform.State) error {
					if got := s.RootModule().Resources[webhookAddr].Primary.Attributes["subscriptions.#"]; got != "1" {
						return fmt.Errorf("%s subscriptions", got)
					}
					return nil
				},
			},
			{
				// Deleting the subscriptions line means Chatwoot's default again.
				Config: adminConfig(url) + webhookConfig(`
  url  = "https://hooks.example.com/defaults"
  name = "renamed"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(webhookAddr, tfjsonpath.New("subscriptions"), knownStrings(chatwoot.DefaultSubscriptions...)),
				}},
				Check: func(s *terraform.State) error {
					accountID, webhookID, err := webhookIDs(s, webhookAddr)
					if err != nil {
						return err
					}
					if hook, _ := remoteWebhook(t, url, accountID, webhookID); len(hook.Subscriptions) != len(chatwoot.DefaultSubscriptions) {
						return fmt.Errorf("Chatwoot has %v", hook.Subscriptions)
					}
					return nil
				},
			},
		},
	})
}

func TestAccWebhook_subscriptionsOrderNoDiff(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{
				Config: adminConfig(url) + webhookConfig(`
  url           = "https://hooks.example.com/order"
  subscriptions = ["message_created", "conversation_typing_on", "contact_created"]`),
			},
			{
				Config: adminConfig(url) + webhookConfig(`
  url           = "https://hooks.example.com/order"
  subscriptions = ["contact_created", "message_created", "conversation_typing_on"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

func TestAccWebhook_updateInPlace(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	sameID := statecheck.CompareValue(compare.ValuesSame())
	sameSecret := statecheck.CompareValue(compare.ValuesSame())

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{
				Config: adminConfig(url) + webhookConfig(`
  url           = "https://hooks.example.com/v1"
  name          = "v1"
  subscriptions = ["message_created"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(webhookAddr, tfjsonpath.New("id")),
					sameSecret.AddStateValue(webhookAddr, tfjsonpath.New("secret")),
				},
			},
			{
				Config: adminConfig(url) + webhookConfig(`
  url           = "https://hooks.example.com/v2"
  name          = "v2"
  subscriptions = ["message_created", "message_updated", "inbox_created"]
  inbox_id      = 1`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(webhookAddr, tfjsonpath.New("id")),
					sameSecret.AddStateValue(webhookAddr, tfjsonpath.New("secret")),
					expect(webhookAddr, "url", knownvalue.StringExact("https://hooks.example.com/v2")),
					expect(webhookAddr, "name", knownvalue.StringExact("v2")),
					expect(webhookAddr, "subscriptions", knownStrings("inbox_created", "message_created", "message_updated")),
					expect(webhookAddr, "inbox_id", knownvalue.Int64Exact(1)),
				},
			},
			{
				// Removing name and inbox_id clears them in Chatwoot.
				Config: adminConfig(url) + webhookConfig(`
  url           = "https://hooks.example.com/v2"
  subscriptions = ["message_created"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(webhookAddr, tfjsonpath.New("id")),
					sameSecret.AddStateValue(webhookAddr, tfjsonpath.New("secret")),
					expect(webhookAddr, "name", knownvalue.Null()),
					expect(webhookAddr, "inbox_id", knownvalue.Null()),
					expect(webhookAddr, "subscriptions", knownStrings("message_created")),
				},
				Check: func(s *terraform.State) error {
					accountID, webhookID, err := webhookIDs(s, webhookAddr)
					if err != nil {
						return err
					}
					hook, _ := remoteWebhook(t, url, accountID, webhookID)
					if hook.Name != "" || hook.Inbox != nil {
						return fmt.Errorf("Chatwoot still has name %q inbox %+v", hook.Name, hook.Inbox)
					}
					return nil
				},
			},
		},
	})
}

func TestAccWebhook_accountChangeReplaces(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	otherID := statecheck.CompareValue(compare.ValuesDiffer())
	body := `
  url = "https://hooks.example.com/moving"`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		CheckDestroy:             checkDestroyed(t, url),
		Steps: []resource.TestStep{
			{
				Config:            adminConfig(url) + webhookConfig(body),
				ConfigStateChecks: []statecheck.StateCheck{otherID.AddStateValue(webhookAddr, tfjsonpath.New("id"))},
			},
			{
				Config: adminConfig(url) + webhookConfig(body+"\n  account_id = 2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					otherID.AddStateValue(webhookAddr, tfjsonpath.New("id")),
					expect(webhookAddr, "account_id", knownvalue.Int64Exact(2)),
				},
			},
			{
				// Omitted again, account_id follows the provider's default.
				Config: adminConfig(url) + webhookConfig(body),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					otherID.AddStateValue(webhookAddr, tfjsonpath.New("id")),
					expect(webhookAddr, "account_id", knownvalue.Int64Exact(1)),
				},
			},
			{
				// Setting it explicitly to the same account changes nothing.
				Config:           adminConfig(url) + webhookConfig(body+"\n  account_id = 1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

func TestAccWebhook_deletedOutOfBand(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	config := adminConfig(url) + webhookConfig(`url = "https://hooks.example.com/disappears"`)
	var accountID, webhookID int64
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) (err error) {
					accountID, webhookID, err = webhookIDs(s, webhookAddr)
					return err
				},
			},
			{
				PreConfig: func() {
					if err := mockClient(t, url).DeleteWebhook(context.Background(), accountID, webhookID); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionCreate),
				}},
				Check: func(s *terraform.State) error {
					_, newID, err := webhookIDs(s, webhookAddr)
					if err != nil {
						return err
					}
					if newID == webhookID {
						return fmt.Errorf("webhook id %d was not renewed", newID)
					}
					if _, ok := remoteWebhook(t, url, accountID, newID); !ok {
						return fmt.Errorf("recreated webhook %d not in Chatwoot", newID)
					}
					return nil
				},
			},
		},
	})
}

func TestAccWebhook_editedOutOfBand(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	config := adminConfig(url) + webhookConfig(`
  url           = "https://hooks.example.com/edited"
  name          = "terraform"
  subscriptions = ["message_created"]`)
	sameID := statecheck.CompareValue(compare.ValuesSame())
	var accountID, webhookID int64
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{
				Config:            config,
				ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue(webhookAddr, tfjsonpath.New("id"))},
				Check: func(s *terraform.State) (err error) {
					accountID, webhookID, err = webhookIDs(s, webhookAddr)
					return err
				},
			},
			{
				PreConfig: func() {
					name := "edited in the UI"
					_, err := mockClient(t, url).UpdateWebhook(context.Background(), accountID, webhookID, chatwoot.WebhookInput{
						URL: "https://hooks.example.com/edited-elsewhere", Name: &name, Subscriptions: []string{"contact_created", "message_created"},
					})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue(webhookAddr, tfjsonpath.New("id"))},
				Check: func(*terraform.State) error {
					hook, _ := remoteWebhook(t, url, accountID, webhookID)
					if hook.URL != "https://hooks.example.com/edited" || hook.Name != "terraform" || !slices.Equal(hook.Subscriptions, []string{"message_created"}) {
						return fmt.Errorf("Chatwoot was not put back: %+v", hook)
					}
					return nil
				},
			},
		},
	})
}

// planOnlyError plans config and expects an error matching re.
func planOnlyError(t *testing.T, config string, re string) {
	t.Helper()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:      config,
			PlanOnly:    true,
			ExpectError: flexRe(re),
		}},
	})
}

// A dead address: validation must fail before any request is made.
const unreachableProvider = `
provider "chatwoot" {
  base_url         = "http://127.0.0.1:9"
  api_access_token = "x"
  account_id       = 1
}
`

func TestAccWebhook_invalidURL(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"hooks.example.com/chatwoot", "ftp://hooks.example.com/x", "https://"} {
		planOnlyError(t, unreachableProvider+webhookConfig(fmt.Sprintf("url = %q", bad)),
			`Invalid webhook URL.*`+regexp.QuoteMeta(strconv.Quote(bad))+`.*not an absolute`)
	}
}

func TestAccWebhook_invalidEvent(t *testing.T) {
	t.Parallel()
	planOnlyError(t, unreachableProvider+webhookConfig(`
  url           = "https://hooks.example.com/x"
  subscriptions = ["message_created", "message_deleted"]`),
		`Unknown webhook event.*"message_deleted" is not an event Chatwoot delivers to webhooks. Use one of conversation_status_changed`)
}

func TestAccWebhook_emptySubscriptions(t *testing.T) {
	t.Parallel()
	planOnlyError(t, unreachableProvider+webhookConfig(`
  url           = "https://hooks.example.com/x"
  subscriptions = []`),
		`No subscriptions.*Name at least one of.*or remove the attribute for Chatwoot's default eight`)
}

func TestAccWebhook_emptyName(t *testing.T) {
	t.Parallel()
	planOnlyError(t, unreachableProvider+webhookConfig(`
  url  = "https://hooks.example.com/x"
  name = ""`),
		`name.*length must be at least 1`)
}

func TestAccWebhook_missingAccountID(t *testing.T) {
	clearProviderEnv(t)
	_, url := newMock(t)
	planOnlyError(t, providerConfig(url, mockapi.AdminToken, 0)+webhookConfigMinimal,
		`Missing Chatwoot account.*account_id.*CHATWOOT_ACCOUNT_ID`)
}

func TestAccWebhook_duplicateURL(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	if _, err := mockClient(t, url).CreateWebhook(context.Background(), 1, chatwoot.WebhookInput{URL: "https://hooks.example.com/taken"}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:      adminConfig(url) + webhookConfig(`url = "https://hooks.example.com/taken"`),
			ExpectError: flexRe(`Could not create the Chatwoot webhook.*Url has already been taken.*terraform import chatwoot_webhook`),
		}},
	})
}

// TestAccWebhook_sameURLOtherAccount: url is unique per account only.
func TestAccWebhook_sameURLOtherAccount(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: adminConfig(url) + `
resource "chatwoot_webhook" "acme" {
  url = "https://hooks.example.com/shared"
}
resource "chatwoot_webhook" "globex" {
  account_id = 2
  url        = "https://hooks.example.com/shared"
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				expect("chatwoot_webhook.acme", "account_id", knownvalue.Int64Exact(1)),
				expect("chatwoot_webhook.globex", "account_id", knownvalue.Int64Exact(2)),
			},
		}},
	})
}

func TestAccWebhook_agentToken(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:      providerConfig(url, mockapi.AgentToken, 1) + webhookConfigMinimal,
			PlanOnly:    true, // refused at plan, before review, not at apply
			ExpectError: flexRe(`Token cannot manage webhooks of account 1.*is an agent of account 1, not an administrator`),
		}},
	})
}

func TestAccWebhook_unknownAccount(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:      providerConfig(url, mockapi.AdminToken, 77) + webhookConfigMinimal,
			PlanOnly:    true,
			ExpectError: flexRe(`Token cannot manage webhooks of account 77.*not a member of account 77`),
		}},
	})
}

func TestAccWebhook_retries429(t *testing.T) {
	t.Parallel()
	// The mock behind a wrapper that notes when each create arrives, to
	// measure the wait Retry-After asked for.
	srv := mockapi.New(mockapi.Options{})
	var mu sync.Mutex
	var creates []time.Time
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			mu.Lock()
			creates = append(creates, time.Now())
			mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); _ = srv.Close() })

	srv.InjectFault(mockapi.Fault{Method: "POST", PathPrefix: "/api/v1/accounts/1/webhooks", Count: 2, Status: 429, RetryAfter: 1})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:            adminConfig(ts.URL) + webhookConfigMinimal,
			ConfigStateChecks: []statecheck.StateCheck{expect(webhookAddr, "webhook_id", knownvalue.NotNull())},
			Check: func(*terraform.State) error {
				return expectStatuses(srv, "POST", "/api/v1/accounts/1/webhooks", 429, 429, 200)
			},
		}},
	})
	mu.Lock()
	defer mu.Unlock()
	if len(creates) != 3 {
		t.Fatalf("%d creates, want 3", len(creates))
	}
	// Without Retry-After the test provider's backoff is 10ms-2s with
	// jitter; Retry-After: 1 makes each wait at least a second.
	for i := 1; i < len(creates); i++ {
		if gap := creates[i].Sub(creates[i-1]); gap < 950*time.Millisecond {
			t.Errorf("retry %d came %s after a 429 with Retry-After: 1", i, gap)
		}
	}
}

func TestAccWebhook_retries5xx(t *testing.T) {
	t.Parallel()
	srv, url := newMock(t)
	// The create and, after it, the refresh's list each fail twice first.
	srv.InjectFault(mockapi.Fault{Method: "POST", PathPrefix: "/api/v1/accounts/1/webhooks", Count: 2, Status: 500})
	srv.InjectFault(mockapi.Fault{Method: "GET", PathPrefix: "/api/v1/accounts/1/webhooks", Count: 2, Status: 503})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:            adminConfig(url) + webhookConfigMinimal,
			ConfigStateChecks: []statecheck.StateCheck{expect(webhookAddr, "webhook_id", knownvalue.NotNull())},
			Check: func(*terraform.State) error {
				return expectStatuses(srv, "POST", "/api/v1/accounts/1/webhooks", 500, 500, 200)
			},
		}},
	})
	// The first list is the refresh after the apply, which runs after Check.
	if err := expectStatuses(srv, "GET", "/api/v1/accounts/1/webhooks", 503, 503, 200); err != nil {
		t.Error(err)
	}
}

func TestAccWebhook_retriesExhausted(t *testing.T) {
	t.Parallel()
	srv, url := newMock(t)
	srv.InjectFault(mockapi.Fault{Method: "POST", PathPrefix: "/api/v1/accounts/1/webhooks", Count: 100, Status: 502})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:      adminConfig(url) + webhookConfigMinimal,
			ExpectError: flexRe(`answered 502.*after 4 attempts.*max_retries`),
		}},
	})
}

func TestAccWebhook_timeout(t *testing.T) {
	t.Parallel()
	srv, url := newMock(t)
	srv.InjectFault(mockapi.Fault{Method: "POST", PathPrefix: "/api/v1/accounts/1/webhooks", Count: 100, Delay: mockapi.Duration(2 * time.Second)})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "chatwoot" {
  base_url         = %q
  api_access_token = %q
  account_id       = 1
  request_timeout  = "200ms"
  max_retries      = 0
}
`, url, mockapi.AdminToken) + webhookConfigMinimal,
			ExpectError: flexRe(`timed out after 200ms.*raise request_timeout`),
		}},
	})
}

// expectStatuses checks the statuses the mock answered to method path, in order.
func expectStatuses(srv *mockapi.Server, method, path string, want ...int) error {
	var got []int
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == path {
			got = append(got, r.Status)
		}
	}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		return fmt.Errorf("%s %s answered %v, want %v first", method, path, got, want)
	}
	return nil
}

// TestAccWebhook_refreshCost300 measures what a refresh of 300 webhooks
// costs: the shared list cache should make it one list request.
func TestAccWebhook_refreshCost300(t *testing.T) {
	t.Parallel()
	srv, url := newMock(t)
	const n = 300
	config := adminConfig(url) + fmt.Sprintf(`
resource "chatwoot_webhook" "many" {
  count = %d
  url   = "https://hooks.example.com/many/${count.index}"
}
`, n)
	listPath := "/api/v1/accounts/1/webhooks"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  resource.TestCheckResourceAttr("chatwoot_webhook.many.299", "account_id", "1"),
			},
			{
				// A plan-only step runs one refreshing plan (and one with
				// -refresh=false, which reads nothing).
				PreConfig: srv.ResetRequests,
				Config:    config,
				PlanOnly:  true,
				PostApplyFunc: func() {
					lists := countRequests(srv, "GET", listPath)
					profiles := countRequests(srv, "GET", "/api/v1/profile") // one per configured provider: the plan-time token check
					total := len(srv.Requests())
					t.Logf("refreshing %d webhooks made %d list request(s) and %d profile request(s), %d requests in all", n, lists, profiles, total)
					if lists < 1 || lists > 2 {
						t.Errorf("refreshing %d webhooks made %d list requests, want 1 (at most 2)", n, lists)
					}
					if profiles < 1 || profiles > 2 || total != lists+profiles {
						t.Errorf("a refresh made %d profile requests and %d others: %v", profiles, total-lists-profiles, srv.Requests())
					}
				},
			},
		},
	})
}

func TestParseImportID(t *testing.T) {
	for _, tc := range []struct {
		in               string
		account, webhook int64
		err              string
	}{
		{in: "1/42", account: 1, webhook: 42},
		{in: "42", webhook: 42},
		{in: " 7/8 ", account: 7, webhook: 8},
		{in: "", err: `"" is not a positive number`},
		{in: "1/", err: `"" is not a positive number`},
		{in: "/1", err: `"" is not a positive number`},
		{in: "0/1", err: `"0" is not a positive number`},
		{in: "1/-2", err: `"-2" is not a positive number`},
		{in: "a/b", err: `"a" is not a positive number`},
		{in: "1/2/3", err: "has 3 parts"},
	} {
		account, webhook, err := parseImportID(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseImportID(%q) error = %v, want one containing %s", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || account != tc.account || webhook != tc.webhook):
			t.Errorf("parseImportID(%q) = %d, %d, %v; want %d, %d", tc.in, account, webhook, err, tc.account, tc.webhook)
		}
	}
}

// losingTransport lets requests reach the server but loses the answers of
// the first `lose` webhook creates: a timeout or reset after Chatwoot has
// committed.
type losingTransport struct {
	mu     sync.Mutex
	lose   int
	status int // 0: no answer at all (a reset); else this answer instead
}

func (l *losingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/webhooks") || l.lose == 0 {
		return resp, err
	}
	l.lose--
	resp.Body.Close()
	if l.status == 0 {
		return nil, errors.New("read: connection reset by peer")
	}
	return &http.Response{StatusCode: l.status, Status: http.StatusText(l.status), Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// TestAccWebhook_lostCreateAnswerLeavesNoOrphan: Chatwoot created the
// webhook but its answer was lost; the provider finds it by its url and
// records it — never a second one, never one unknown to Terraform — and
// the next plan is empty.
func TestAccWebhook_lostCreateAnswerLeavesNoOrphan(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxRetries int
		status     int
	}{
		{"reset, no retry", 0, 0},
		{"reset, then the retry meets the created webhook", 3, 0},
		{"502 after the commit", 0, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, url := newMock(t)
			config := strings.Replace(adminConfig(url), "max_retries      = 3", fmt.Sprintf("max_retries      = %d", tc.maxRetries), 1) +
				webhookConfig(`url = "https://hooks.example.com/lost-answer"`)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProvidersWith(&losingTransport{lose: 1, status: tc.status}),
				Steps: []resource.TestStep{{
					Config: config,
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					},
					Check: func(s *terraform.State) error {
						hooks, err := mockClient(t, url).ListWebhooks(context.Background(), 1)
						if err != nil {
							return err
						}
						_, webhookID, err := webhookIDs(s, webhookAddr)
						if err != nil {
							return err
						}
						if len(hooks) != 1 || hooks[0].ID != webhookID {
							return fmt.Errorf("Chatwoot has %d webhooks, state has webhook %d; want the one created, recorded", len(hooks), webhookID)
						}
						return nil
					},
				}},
			})
		})
	}
}

// TestAccWebhook_unknownInbox: Chatwoot accepts an unknown inbox_id and
// drops it; the apply fails naming the inbox, leaves nothing behind, and a
// fixed configuration applies cleanly (no taint, no replacement loop).
func TestAccWebhook_unknownInbox(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	hook := func(inbox string) string {
		return adminConfig(url) + webhookConfig(`
  url      = "https://hooks.example.com/inbox"
  inbox_id = `+inbox)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		CheckDestroy:             checkDestroyed(t, url),
		Steps: []resource.TestStep{
			{
				Config:      hook("999"),
				ExpectError: flexRe(`Chatwoot dropped inbox_id.*Account 1 has no inbox 999.*was deleted again; nothing was created`),
			},
			{
				PreConfig: func() {
					if hooks, _ := mockClient(t, url).ListWebhooks(context.Background(), 1); len(hooks) != 0 {
						t.Fatalf("the failed create left %d webhooks in Chatwoot", len(hooks))
					}
				},
				Config: hook("1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config:      hook("999"),
				ExpectError: flexRe(`Chatwoot dropped inbox_id.*Account 1 has no inbox 999`),
			},
			{
				Config:           hook("1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(webhookAddr, plancheck.ResourceActionUpdate)}},
				Check:            resource.TestCheckResourceAttr(webhookAddr, "inbox_id", "1"),
			},
		},
	})
}
