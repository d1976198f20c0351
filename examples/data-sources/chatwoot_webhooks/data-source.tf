# Every webhook of the provider's account.
data "chatwoot_webhooks" "all" {}

# Only the webhooks of account 2 that receive new messages.
data "chatwoot_webhooks" "message_listeners" {
  account_id = 2
  event      = "message_created"
}

output "webhook_urls" {
  value = data.chatwoot_webhooks.all.webhooks[*].url
}
