# Deliver new and updated messages to a service of yours, through the
# delivery daemon's relay (the provider's relay_url): Chatwoot delivers
# once to the relay, which retries until the service answers 2xx.
resource "chatwoot_webhook" "messages" {
  url           = "https://hooks.example.com/chatwoot/messages"
  name          = "Support bot"
  relay         = true
  subscriptions = ["message_created", "message_updated"]
}

# Without subscriptions Chatwoot picks its default eight events. Without
# relay, Chatwoot delivers to the url itself, once, never retried.
resource "chatwoot_webhook" "crm" {
  account_id = 2 # another account than the provider's default
  url        = "https://crm.example.com/chatwoot"
}

# The receiver verifies deliveries with the generated secret.
output "messages_webhook_secret" {
  value     = chatwoot_webhook.messages.secret
  sensitive = true
}
