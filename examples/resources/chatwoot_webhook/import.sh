# A webhook is imported by "<account_id>/<webhook_id>"; the webhook id is the
# number Chatwoot shows in Settings → Integrations → Webhooks (or the `id` in
# GET /api/v1/accounts/<account_id>/webhooks).
terraform import chatwoot_webhook.messages 1/42

# With account_id set on the provider, the webhook id alone is enough.
terraform import chatwoot_webhook.messages 42
