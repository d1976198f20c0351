# Deliver new and updated messages to a service of yours.
resource "chatwoot_webhook" "messages" {
  url           = "https://hooks.example.com/chatwoot/messages"
  name          = "Message relay"
  subscriptions = ["message_created", "message_updated"]
}

# Without subscriptions Chatwoot picks its default eight events.
resource "chatwoot_webhook" "crm" {
  account_id = 2 # another account than the provider's default
  url        = "https://crm.example.com/chatwoot"
}

# The receiver verifies deliveries with the generated secret.
output "messages_webhook_secret" {
  value     = chatwoot_webhook.messages.secret
  sensitive = true
}
