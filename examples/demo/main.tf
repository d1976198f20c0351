# The demo's infrastructure: what an infra repo would hold. `make demo`
# applies it against the mock API through a dev_overrides CLI config.
terraform {
  required_providers {
    chatwoot = {
      source = "chatwoot-tf/chatwoot"
    }
  }
}

# base_url, api_access_token and relay_url come from CHATWOOT_BASE_URL,
# CHATWOOT_API_ACCESS_TOKEN and CHATWOOT_RELAY_URL (the delivery daemon's
# address as Chatwoot reaches it).
provider "chatwoot" {
  account_id = 1
}

variable "receiver_url" {
  description = "Where message_created events go."
  type        = string
}

variable "audit_url" {
  description = "An endpoint that only wants conversation events."
  type        = string
}

variable "flaky_direct_url" {
  description = "A receiver that fails its first two attempts, Chatwoot delivering to it directly; null leaves it out."
  type        = string
  default     = null
}

variable "flaky_relayed_url" {
  description = "A receiver that fails its first two attempts, behind the relay; null leaves it out."
  type        = string
  default     = null
}

resource "chatwoot_webhook" "messages" {
  name          = "Support bot"
  url           = var.receiver_url
  relay         = true
  subscriptions = ["message_created"]
}

resource "chatwoot_webhook" "audit" {
  name          = "Conversation audit"
  url           = var.audit_url
  relay         = true
  subscriptions = ["conversation_created", "conversation_status_changed"]
}

# Chatwoot delivers once, with no retry: a failed attempt loses the event.
resource "chatwoot_webhook" "flaky_direct" {
  count = var.flaky_direct_url == null ? 0 : 1

  name          = "Flaky consumer, direct"
  url           = var.flaky_direct_url
  subscriptions = ["message_created"]
}

# Through the relay: Chatwoot delivers to the daemon, which retries.
resource "chatwoot_webhook" "flaky_relayed" {
  count = var.flaky_relayed_url == null ? 0 : 1

  name          = "Flaky consumer, relayed"
  url           = var.flaky_relayed_url
  relay         = true
  subscriptions = ["message_created"]
}

output "messages_webhook_id" {
  value = chatwoot_webhook.messages.webhook_id
}

output "audit_webhook_id" {
  value = chatwoot_webhook.audit.webhook_id
}

output "flaky_direct_webhook_id" {
  value = one(chatwoot_webhook.flaky_direct[*].webhook_id)
}

output "flaky_relayed_webhook_id" {
  value = one(chatwoot_webhook.flaky_relayed[*].webhook_id)
}
