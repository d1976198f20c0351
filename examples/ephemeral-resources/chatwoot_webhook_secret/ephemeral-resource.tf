# Keep webhook secrets out of the state (provider store_secrets = false) and
# hand them to a secrets manager through a write-only argument instead.
resource "chatwoot_webhook" "bot" {
  url           = "https://bot.example.com/chatwoot"
  subscriptions = ["message_created"]
}

ephemeral "chatwoot_webhook_secret" "bot" {
  webhook_id = chatwoot_webhook.bot.webhook_id
}

# For example, with the AWS provider:
#
# resource "aws_secretsmanager_secret_version" "bot" {
#   secret_id                = aws_secretsmanager_secret.bot.id
#   secret_string_wo         = ephemeral.chatwoot_webhook_secret.bot.secret
#   secret_string_wo_version = 1
# }
