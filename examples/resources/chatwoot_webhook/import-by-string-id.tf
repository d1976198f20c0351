import {
  to = chatwoot_webhook.messages
  id = "1/42" # <account_id>/<webhook_id>
}
