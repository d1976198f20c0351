terraform {
  required_providers {
    chatwoot = {
      source = "chatwoot-tf/chatwoot"
    }
  }
}

# The token is best left to the CHATWOOT_API_ACCESS_TOKEN environment
# variable; it must belong to an administrator of the account.
provider "chatwoot" {
  base_url   = "https://chatwoot.example.com" # or CHATWOOT_BASE_URL; default https://app.chatwoot.com
  account_id = 1                              # or CHATWOOT_ACCOUNT_ID

  # The delivery daemon's address as Chatwoot reaches it, for webhooks
  # with relay = true; or CHATWOOT_RELAY_URL.
  relay_url = "https://relay.example.com"

  # false keeps webhook secrets out of state and plan; read them with the
  # ephemeral chatwoot_webhook_secret where they are needed.
  store_secrets = true

  request_timeout = "30s"
  max_retries     = 4
}
