# Look a webhook up by its url (unique per account)...
data "chatwoot_webhook" "crm" {
  url = "https://crm.example.com/chatwoot"
}

# ...or by its id.
data "chatwoot_webhook" "by_id" {
  webhook_id = 42
}

output "crm_subscriptions" {
  value = data.chatwoot_webhook.crm.subscriptions
}
