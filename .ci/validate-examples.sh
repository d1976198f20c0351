#!/usr/bin/env bash
# terraform validate on every example directory, against this build through
# dev_overrides (examples without required_providers resolve to
# hashicorp/chatwoot, so that address is overridden too).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/env.sh
ensure_terraform
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bin/terraform-provider-chatwoot" .
cat >"$tmp/dev.tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "chatwoot-tf/chatwoot" = "$tmp/bin"
    "hashicorp/chatwoot"   = "$tmp/bin"
  }
  direct {}
}
TFRC
export TF_CLI_CONFIG_FILE="$tmp/dev.tfrc"
status=0
for dir in $(find examples -name '*.tf' -exec dirname {} \; | sort -u); do
	mkdir -p "$tmp/w/$dir"
	cp "$dir"/*.tf "$tmp/w/$dir/"
	if out=$("$TF_ACC_TERRAFORM_PATH" -chdir="$tmp/w/$dir" validate -no-color 2>&1); then
		echo "ok      $dir"
	else
		echo "INVALID $dir"
		echo "$out" | sed -n '/Error:/,$p' | sed 's/^/        /'
		status=1
	fi
done
exit $status
