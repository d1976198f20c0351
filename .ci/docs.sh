#!/usr/bin/env bash
# Regenerates docs/ with tfplugindocs. tfplugindocs drives terraform to read
# the provider schema; with only OpenTofu, the schema is exported by tofu and
# handed over as a file (see .ci/env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/env.sh
ensure_terraform
if [ "$(basename "$TF_ACC_TERRAFORM_PATH")" != tofu ]; then
	exec go tool tfplugindocs generate --provider-name chatwoot
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plugin="$tmp/plugins/registry.opentofu.org/chatwoot-tf/chatwoot/0.0.1/$(go env GOOS)_$(go env GOARCH)"
mkdir -p "$plugin" "$tmp/cfg"
go build -o "$plugin/terraform-provider-chatwoot_v0.0.1" .
printf 'terraform {\n  required_providers {\n    chatwoot = { source = "chatwoot-tf/chatwoot", version = "0.0.1" }\n  }\n}\n' >"$tmp/cfg/main.tf"
"$TF_ACC_TERRAFORM_PATH" -chdir="$tmp/cfg" init -input=false -plugin-dir="$tmp/plugins" >/dev/null
"$TF_ACC_TERRAFORM_PATH" -chdir="$tmp/cfg" providers schema -json |
	sed 's#registry.opentofu.org/chatwoot-tf/chatwoot#registry.terraform.io/hashicorp/chatwoot#' >"$tmp/schema.json" # the key tfplugindocs looks up
go tool tfplugindocs generate --provider-name chatwoot --providers-schema "$tmp/schema.json"
