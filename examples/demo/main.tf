# The demo's infrastructure: what an infra repo would hold. `make demo`
# applies it against the mock API through a dev_overrides CLI config.
terraform {
  required_providers {
    chatwoot = {
      source = "chatwoot-tf/chatwoot"
    }
  }
}

# base_url and api_access_token come from CHATWOOT_BASE_URL and
# CHATWOOT_API_ACCESS_TOKEN.
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

variable "flaky_url" {
  description = "An endpoint that fails before it succeeds; null leaves it out."
  type        = string
  default     = null
}

resource "chatwoot_webhook" "messages" {
  name          = "Support bot"
  url           = var.receiver_url
  subscriptions = ["message_created"]
}

resource "chatwoot_webhook" "audit" {
  name          = "Conversation audit"
  url           = var.audit_url
  subscriptions = ["conversation_created", "conversation_status_changed"]
}

resource "chatwoot_webhook" "flaky" {
  count = var.flaky_url == null ? 0 : 1

  name          = "Flaky consumer"
  url           = var.flaky_url
  subscriptions = ["message_created"]
}

output "messages_webhook_id" {
  value = chatwoot_webhook.messages.webhook_id
}

output "audit_webhook_id" {
  value = chatwoot_webhook.audit.webhook_id
}

output "flaky_webhook_id" {
  value = one(chatwoot_webhook.flaky[*].webhook_id)
}
